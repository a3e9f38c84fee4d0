"""One-call weighted kNN evaluation of a model's frozen features."""
from typing import Optional

import torch.nn as nn
from torch import Tensor
from torch.utils.data import DataLoader

from .feature_extractor import extract_features
from .functional import knn_accuracy

KNN_HOOK_EXAMPLE = """custom_hooks = [
    dict(type='KNNHook',
         train_dataloader=knn_train_dataloader,  # labelled bank, test pipeline
         val_dataloader=knn_val_dataloader,      # labelled queries
         interval=10, k=200, temperature=0.07)
]"""


def find_knn_hook(cfg) -> dict:
    """The config's ``KNNHook`` entry of ``custom_hooks``, or a clear error."""
    for hook in cfg.get('custom_hooks') or []:
        hook_type = hook.get('type')
        name = hook_type if isinstance(hook_type, str) else getattr(
            hook_type, '__name__', '')
        if name.split('.')[-1] == 'KNNHook':
            return hook
    raise ValueError(
        f'{cfg.filename} has no KNNHook in custom_hooks, so there is no kNN data '
        f'to evaluate on. Add one, e.g.\n{KNN_HOOK_EXAMPLE}\n(see '
        'configs/_base_/datasets/cifar10_bs256_knn.py for the CIFAR-10 loaders).')


def _dataset_num_classes(dataloader: DataLoader) -> Optional[int]:
    metainfo = getattr(dataloader.dataset, 'metainfo', None) or {}
    classes = metainfo.get('classes')
    return len(classes) if classes else None


def knn_evaluate(model: nn.Module,
                 train_dataloader: DataLoader,
                 val_dataloader: DataLoader,
                 k: int = 200,
                 temperature: float = 0.07,
                 chunk_size: int = 512,
                 num_classes: Optional[int] = None) -> dict:
    """Weighted kNN accuracy (Wu et al. 2018, as monitored by DINO and MoCo).

    Extracts features of both loaders with :func:`extract_features` and classifies
    the validation features against the training bank with :func:`knn_accuracy`.

    Args:
        model (nn.Module): The model, possibly wrapped.
        train_dataloader (DataLoader): Loader of the feature bank.
        val_dataloader (DataLoader): Loader of the images to classify.
        k (int): Number of neighbours, clipped to the bank size. Defaults to 200.
        temperature (float): Temperature of the ``exp(sim / T)`` weights.
            Defaults to 0.07.
        chunk_size (int): Validation features handled per step. Defaults to 512.
        num_classes (int, optional): Number of classes. Defaults to None, meaning
            ``len(dataset.metainfo['classes'])`` of the training set when it has
            one, else one more than the largest label.

    Returns:
        dict: ``top1`` (and ``top5`` with >= 5 classes) in percent, plus ``k`` (as
        used), ``temperature``, ``num_train``, ``num_val`` and ``num_classes``.
    """
    train_feats, train_labels = extract_features(
        model, train_dataloader, f'kNN: features of the bank ({_size(train_dataloader)})')
    val_feats, val_labels = extract_features(
        model, val_dataloader, f'kNN: features of the queries ({_size(val_dataloader)})')
    if num_classes is None:
        num_classes = _dataset_num_classes(train_dataloader)
    return knn_result(train_feats, train_labels, val_feats, val_labels, k=k,
                      temperature=temperature, chunk_size=chunk_size,
                      num_classes=num_classes)


def knn_result(train_feats: Tensor, train_labels: Tensor, val_feats: Tensor,
               val_labels: Tensor, k: int = 200, temperature: float = 0.07,
               chunk_size: int = 512, num_classes: Optional[int] = None) -> dict:
    """The result dict of :func:`knn_evaluate` from features already extracted.

    Args:
        train_feats, train_labels, val_feats, val_labels (Tensor): Output of
            :func:`extract_features` for the bank and the queries.
        k, temperature, chunk_size: As in :func:`knn_evaluate`.
        num_classes (int, optional): Defaults to None, meaning one more than the
            largest label.

    Returns:
        dict: See :func:`knn_evaluate`.
    """
    if num_classes is None:
        num_classes = max(int(train_labels.max()), int(val_labels.max())) + 1
    result = knn_accuracy(train_feats, train_labels, val_feats, val_labels,
                          num_classes=num_classes, k=k, temperature=temperature,
                          chunk_size=chunk_size, progress='kNN: classifying')
    result.update(k=min(k, train_feats.size(0)), temperature=temperature,
                  num_train=train_feats.size(0), num_val=val_feats.size(0),
                  num_classes=num_classes)
    return result


def _size(dataloader: DataLoader) -> str:
    try:
        return f'{len(dataloader.dataset)} images'
    except TypeError:
        return 'unsized'


def format_knn_result(result: dict) -> str:
    """One readable line, e.g.
    ``kNN (k=200, T=0.07) top-1 62.35 top-5 95.01 on 1000 images``."""
    accs = ' '.join(f'top-{key[3:]} {value:.2f}' for key, value in result.items()
                    if key.startswith('top'))
    return (f"kNN (k={result['k']}, T={result['temperature']:g}) {accs} "
            f"on {result['num_val']} images")
