"""Weighted k-nearest-neighbour classification of frozen features.

This is the non-parametric monitor of Wu et al. 2018, "Unsupervised Feature Learning
via Non-Parametric Instance Discrimination", in the form DINO and MoCo use to track
self-supervised pretraining: every test feature votes with its ``k`` most
cosine-similar training features, each neighbour weighted by
``exp(similarity / temperature)``, and the class with the largest summed weight wins.
"""
import warnings
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from slimselfsup.utils.progress import track

#: Test rows per similarity matmul. ``chunk_size`` is rounded up to a multiple of it.
SIM_BLOCK_ROWS = 64


def _check_inputs(train_feats: Tensor, train_labels: Tensor, test_feats: Tensor,
                  num_classes: int, k: int, temperature: float,
                  chunk_size: int) -> None:
    if train_feats.dim() != 2 or test_feats.dim() != 2:
        raise ValueError('train_feats and test_feats must be 2-D (num_samples x dim), '
                         f'got shapes {tuple(train_feats.shape)} and '
                         f'{tuple(test_feats.shape)}')
    if train_feats.size(1) != test_feats.size(1):
        raise ValueError('train_feats and test_feats must have the same feature dim, '
                         f'got {train_feats.size(1)} and {test_feats.size(1)}')
    if train_feats.size(0) == 0:
        raise ValueError('the training feature bank is empty')
    if train_labels.dim() != 1 or train_labels.numel() != train_feats.size(0):
        raise ValueError('train_labels must be 1-D with one label per training '
                         f'feature ({train_feats.size(0)}), got shape '
                         f'{tuple(train_labels.shape)}')
    if train_labels.dtype.is_floating_point or train_labels.dtype == torch.bool:
        raise TypeError(f'train_labels must be integer, got {train_labels.dtype}')
    if num_classes < 1:
        raise ValueError(f'num_classes must be >= 1, got {num_classes}')
    if train_labels.min() < 0 or train_labels.max() >= num_classes:
        raise ValueError(f'train_labels must lie in [0, {num_classes}), got values in '
                         f'[{int(train_labels.min())}, {int(train_labels.max())}]')
    if k < 1:
        raise ValueError(f'k must be >= 1, got {k}')
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    if chunk_size < 1:
        raise ValueError(f'chunk_size must be >= 1, got {chunk_size}')


@torch.no_grad()
def knn_classify(train_feats: Tensor,
                 train_labels: Tensor,
                 test_feats: Tensor,
                 num_classes: int,
                 k: int = 200,
                 temperature: float = 0.07,
                 chunk_size: int = 512,
                 progress: Optional[str] = None) -> Tensor:
    """Score every test feature by a weighted vote of its k nearest training features.

    Features are L2-normalised, so similarity is cosine similarity. Each of the ``k``
    nearest neighbours adds ``exp(sim / temperature)`` to the score of its class
    (Wu et al. 2018; DINO's ``knn_classifier``). Test features are processed
    ``chunk_size`` rows at a time, so peak memory is ``O(chunk_size x num_train)``
    and never ``num_test x num_train``. Similarities are always computed in matmuls
    of :data:`SIM_BLOCK_ROWS` rows at fixed offsets, which makes the scores bitwise
    independent of ``chunk_size`` (BLAS results depend on the matrix shapes).

    Args:
        train_feats (Tensor): Feature bank, ``(num_train, dim)``.
        train_labels (Tensor): Integer labels of the bank, ``(num_train,)``.
        test_feats (Tensor): Features to classify, ``(num_test, dim)``.
        num_classes (int): Number of classes; labels must lie in
            ``[0, num_classes)``.
        k (int): Number of neighbours. When larger than the bank, it is clipped to
            ``num_train`` with a warning. Defaults to 200.
        temperature (float): Temperature ``T`` of the ``exp(sim / T)`` weights.
            Defaults to 0.07.
        chunk_size (int): Test features handled per step, rounded up to a multiple
            of :data:`SIM_BLOCK_ROWS` (64). Defaults to 512.
        progress (str, optional): Show progress over the chunks with this
            description (:func:`~slimselfsup.utils.progress.track`). Defaults to
            None (quiet).

    Returns:
        Tensor: Class scores ``(num_test, num_classes)`` in float32, on the device
        of ``train_feats``; ``scores.argmax(1)`` is the predicted label.
    """
    _check_inputs(train_feats, train_labels, test_feats, num_classes, k, temperature,
                  chunk_size)
    num_train = train_feats.size(0)
    if k > num_train:
        warnings.warn(f'kNN: k={k} is larger than the feature bank ({num_train}); '
                      f'using k={num_train}')
        k = num_train

    device = train_feats.device
    bank = F.normalize(train_feats.float(), dim=1)
    bank_t = bank.T
    bank_labels = train_labels.to(device=device, dtype=torch.long)
    num_test = test_feats.size(0)
    chunk_size = -(-chunk_size // SIM_BLOCK_ROWS) * SIM_BLOCK_ROWS
    scores = bank.new_zeros(num_test, num_classes)
    starts = range(0, num_test, chunk_size)
    for start in (starts if progress is None else track(starts, progress)):
        chunk = F.normalize(test_feats[start:start + chunk_size].to(device).float(),
                            dim=1)
        sim = bank.new_empty(chunk.size(0), num_train)
        # Fixed-size matmul blocks at fixed offsets: every row's similarities are
        # computed by the same BLAS call whatever chunk_size is, so the result is
        # bitwise independent of chunking.
        for row in range(0, chunk.size(0), SIM_BLOCK_ROWS):
            torch.mm(chunk[row:row + SIM_BLOCK_ROWS], bank_t,
                     out=sim[row:row + SIM_BLOCK_ROWS])
        top_sim, top_idx = sim.topk(k, dim=1)
        weights = (top_sim / temperature).exp()
        scores[start:start + chunk_size].scatter_add_(1, bank_labels[top_idx], weights)
    return scores


@torch.no_grad()
def knn_accuracy(train_feats: Tensor,
                 train_labels: Tensor,
                 test_feats: Tensor,
                 test_labels: Tensor,
                 num_classes: Optional[int] = None,
                 k: int = 200,
                 temperature: float = 0.07,
                 chunk_size: int = 512,
                 topk: Optional[Sequence[int]] = None,
                 progress: Optional[str] = None) -> Dict[str, float]:
    """Top-k accuracy (in percent) of the weighted kNN classifier of
    :func:`knn_classify`.

    Args:
        train_feats (Tensor): Feature bank, ``(num_train, dim)``.
        train_labels (Tensor): Integer labels of the bank, ``(num_train,)``.
        test_feats (Tensor): Features to classify, ``(num_test, dim)``.
        test_labels (Tensor): Their integer labels, ``(num_test,)``.
        num_classes (int, optional): Number of classes. Defaults to None, meaning
            one more than the largest label seen.
        k (int): Number of neighbours. Defaults to 200.
        temperature (float): Temperature of the ``exp(sim / T)`` weights.
            Defaults to 0.07.
        chunk_size (int): Test features handled per step. Defaults to 512.
        topk (Sequence[int], optional): Which top-k accuracies to report.
            Defaults to None, meaning ``(1, 5)``, or ``(1,)`` when there are fewer
            than 5 classes.
        progress (str, optional): See :func:`knn_classify`. Defaults to None.

    Returns:
        dict[str, float]: ``{'top1': ..., 'top5': ...}``, percentages in [0, 100].
    """
    if test_labels.dim() != 1 or test_labels.numel() != test_feats.size(0):
        raise ValueError('test_labels must be 1-D with one label per test feature '
                         f'({test_feats.size(0)}), got shape '
                         f'{tuple(test_labels.shape)}')
    if test_labels.numel() == 0:
        raise ValueError('there are no test features to evaluate')
    if train_labels.numel() == 0:
        raise ValueError('the training feature bank is empty')
    if num_classes is None:
        num_classes = max(int(train_labels.max()), int(test_labels.max())) + 1
    elif test_labels.min() < 0 or test_labels.max() >= num_classes:
        raise ValueError(f'test_labels must lie in [0, {num_classes}), got values in '
                         f'[{int(test_labels.min())}, {int(test_labels.max())}]')
    if topk is None:
        topk = (1, 5) if num_classes >= 5 else (1, )
    if max(topk) > num_classes:
        raise ValueError(f'top-{max(topk)} accuracy needs at least {max(topk)} '
                         f'classes, got num_classes={num_classes}')

    scores = knn_classify(train_feats, train_labels, test_feats, num_classes, k=k,
                          temperature=temperature, chunk_size=chunk_size,
                          progress=progress)
    ranked = scores.topk(max(topk), dim=1).indices
    hits = ranked == test_labels.to(ranked.device, torch.long).unsqueeze(1)
    return {
        f'top{n}': hits[:, :n].any(dim=1).sum().item() * 100.0 / len(test_labels)
        for n in topk
    }
