"""Extracting L2-normalised global features and labels from a dataloader."""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dataset import DefaultSampler
from mmengine.dist import all_gather, get_world_size
from mmengine.model import is_model_wrapper
from torch import Tensor
from torch.utils.data import DataLoader

from slimselfsup.utils.progress import track


def pool_features(feats: Union[Tensor, Sequence[Tensor]]) -> Tensor:
    """Turn a backbone/neck output into one global vector per sample.

    Args:
        feats (Tensor | Sequence[Tensor]): Output of ``model.extract_feat``. For a
            tuple or list (mmpretrain backbones and necks) the last element is used.
            A ``(B, C, H, W)`` map is global-average-pooled; a ``(B, C)`` tensor (a
            neck output or a ViT cls token) is taken as is.

    Returns:
        Tensor: ``(B, C)`` features.
    """
    if isinstance(feats, (tuple, list)):
        if len(feats) == 0:
            raise ValueError('extract_feat returned an empty sequence')
        feats = feats[-1]
    if not isinstance(feats, Tensor):
        raise TypeError(f'expected extract_feat to give Tensor(s), got {type(feats)}')
    if feats.dim() == 4:
        return feats.mean(dim=(2, 3))
    if feats.dim() == 2:
        return feats
    raise ValueError('expected features of shape (B, C, H, W) or (B, C), got '
                     f'{tuple(feats.shape)}; for a ViT backbone use '
                     "out_type='cls_token' or 'avg_featmap'")


def _gather_in_sampler_order(local: Tensor, dataset_len: int) -> Tensor:
    """Gather per-rank results of a DefaultSampler and undo its sharding.

    DefaultSampler gives rank ``r`` the indices ``r::world_size`` of its (padded)
    index list, so interleaving the ranks' rows restores that list; the sampler's
    padding duplicates are at its end and are cut off at ``dataset_len``.
    """
    counts = torch.cat(all_gather(torch.tensor([local.size(0)], device=local.device)))
    max_count = int(counts.max())
    padded = local.new_zeros((max_count, ) + tuple(local.shape[1:]))
    padded[:local.size(0)] = local
    stacked = torch.stack(all_gather(padded), dim=1)  # (max_count, world, ...)
    valid = torch.arange(max_count, device=counts.device)[:, None] < counts[None, :]
    ordered = stacked.flatten(0, 1)[valid.flatten().to(stacked.device)]
    return ordered[:dataset_len]


@torch.no_grad()
def extract_features(model: nn.Module, dataloader: DataLoader,
                     progress: Optional[str] = 'extracting features'
                     ) -> Tuple[Tensor, Tensor]:
    """Extract L2-normalised global features and labels of a whole dataset.

    Each batch goes through ``model.data_preprocessor(data, False)`` and
    ``model.extract_feat(inputs)`` (the mmpretrain ``BaseSelfSupervisor`` /
    ``ImageClassifier`` API), is pooled by :func:`pool_features` and L2-normalised.
    Labels come from ``data_samples[i].gt_label``. The model runs in eval mode and is
    put back in its previous mode afterwards.

    In distributed runs every rank extracts its DefaultSampler shard and all ranks
    receive the whole set, padding duplicates dropped, in the order the sampler
    enumerates the dataset (dataset order when ``shuffle=False``), exactly as a
    single process would.

    Args:
        model (nn.Module): The model, possibly wrapped (e.g. by DDP).
        dataloader (DataLoader): Loader of single-view samples with ``gt_label``.
        progress (str, optional): Show progress with this description on rank 0
            (:func:`~slimselfsup.utils.progress.track`); None for none. Defaults to
            ``'extracting features'``.

    Returns:
        tuple[Tensor, Tensor]: Features ``(N, C)`` (float32) and labels ``(N,)``
        (int64), on the model's device.
    """
    distributed = get_world_size() > 1
    if distributed:
        sampler = getattr(dataloader.batch_sampler, 'sampler', dataloader.sampler)
        if not isinstance(sampler, DefaultSampler):
            raise TypeError('distributed feature extraction needs a DefaultSampler, '
                            f'got {type(sampler).__name__}')
    if is_model_wrapper(model):
        model = model.module
    was_training = model.training
    model.eval()
    feats, labels = [], []
    try:
        batches = dataloader if progress is None else track(dataloader, progress)
        for data in batches:
            data = model.data_preprocessor(data, False)
            inputs, samples = data['inputs'], data.get('data_samples')
            if isinstance(inputs, (list, tuple)):  # multi-view pipeline: 1st view
                inputs = inputs[0]
            if not samples or 'gt_label' not in samples[0]:
                raise ValueError('kNN evaluation needs data_samples with gt_label; '
                                 'end the pipeline with PackInputs on a labelled '
                                 'dataset')
            batch_labels = torch.cat([s.gt_label.reshape(-1) for s in samples])
            if batch_labels.numel() != len(samples):
                raise ValueError('kNN evaluation needs exactly one gt_label per sample')
            batch_feats = pool_features(model.extract_feat(inputs))
            feats.append(F.normalize(batch_feats.float(), dim=1))
            labels.append(batch_labels.to(batch_feats.device, torch.long))
    finally:
        model.train(was_training)
    if not feats:
        raise ValueError('the dataloader yielded no batches')
    feats, labels = torch.cat(feats), torch.cat(labels)

    if distributed:
        dataset_len = len(dataloader.dataset)
        feats = _gather_in_sampler_order(feats, dataset_len)
        labels = _gather_in_sampler_order(labels, dataset_len)
    return feats, labels
