"""A small image data set held whole as one uint8 tensor on the training device."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.registry import FUNCTIONS
from mmpretrain.structures import DataSample
from torch.utils.data import Dataset

from slimselfsup.registry import DATASETS
from .decoding import decode_images
from .transforms.loading import unreadable_image_message

#: Format tag of the packs written by tools/dataset_converters/pack_cifar_for_gpu.py.
PACK_FORMAT = 'slimselfsup-jpeg-pack-v1'


@FUNCTIONS.register_module(force=True)
def pre_batched_collate(batch: dict) -> dict:
    """Collate function for data sets whose ``__getitems__`` returns a whole batch."""
    if not isinstance(batch, dict):
        raise TypeError('pre_batched_collate expects the batch dict of a data set '
                        f'with __getitems__ (e.g. CIFARTensorDataset), got '
                        f'{type(batch).__name__}; use default_collate otherwise.')
    return batch


def _load_pack(path: str, split: str):
    """Encoded images (list of 1-D uint8 tensors), labels and classes of a pack."""
    with np.load(path, allow_pickle=False) as pack:
        if str(pack.get('format', '')) != PACK_FORMAT:
            raise ValueError(f'{path!r} is not a {PACK_FORMAT} file; make one with '
                             'tools/dataset_converters/pack_cifar_for_gpu.py.')
        if f'{split}_offsets' not in pack:
            raise KeyError(f'{path!r} has no split {split!r}; it holds '
                           f"{[k[:-8] for k in pack.files if k.endswith('_offsets')]}")
        data = torch.from_numpy(pack[f'{split}_bytes'])
        offsets = pack[f'{split}_offsets'].tolist()
        labels = pack[f'{split}_labels'].astype(np.int64)
        classes = tuple(str(c) for c in pack['classes'])
    encoded = [data[offsets[i]:offsets[i + 1]] for i in range(len(labels))]
    return encoded, labels, classes


def _load_folder(path: str):
    """Encoded images, labels and classes of ``<path>/<class>/<image>``."""
    classes = tuple(sorted(d for d in os.listdir(path)
                           if osp.isdir(osp.join(path, d))))
    encoded, labels, names = [], [], []
    for label, cls in enumerate(classes):
        for name in sorted(os.listdir(osp.join(path, cls))):
            with open(osp.join(path, cls, name), 'rb') as f:
                data = f.read()
            if not data:  # torch.frombuffer would fail without naming the file
                raise ValueError('CIFARTensorDataset: ' + unreadable_image_message(
                    osp.join(path, cls, name)))
            encoded.append(torch.frombuffer(bytearray(data), dtype=torch.uint8))
            labels.append(label)
            names.append(osp.join(path, cls, name))
    return encoded, np.asarray(labels, np.int64), classes, names


@DATASETS.register_module()
class CIFARTensorDataset(Dataset):
    """CIFAR-sized images decoded once and kept as one uint8 tensor on a device.

    For small data sets the fastest loader is none: all images live in GPU memory
    (CIFAR-10 train: 50,000 x 3 x 32 x 32 uint8 = 147 MiB), a batch is one
    indexing operation, and ``GPUMultiViewDataPreprocessor`` makes the views on
    the GPU. The mmengine Runner still drives it: ``DefaultSampler`` gives the
    indices, the DataLoader (``num_workers=0``, ``collate_fn=dict(type=
    'pre_batched_collate')``) calls :meth:`__getitems__` once per batch, which
    returns ``{'inputs': (B, 3, H, W) uint8 on the device, 'data_samples': [...]}``.

    Sources: a pack from ``tools/dataset_converters/pack_cifar_for_gpu.py`` (one
    ``.npz`` of JPEG bytes, small enough to carry) or a class-folder split
    ``<data_root>/<split>/<class>/<image>``. Images are decoded with
    torchvision (batched on the GPU when ``device`` is CUDA) and stored in
    ``color_order`` (BGR by default, like ``LoadImageFromFile`` and
    ``CIFARBatches``, so ``to_rgb=True`` preprocessors fit both).

    Args:
        data_root (str): A ``.npz`` pack, or the folder holding the split folders.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        device (str, optional): Where the images live; default CUDA when
            available, else CPU.
        color_order (str): ``'bgr'`` or ``'rgb'``. Defaults to ``'bgr'``.
        indices (int | Sequence[int], optional): Keep the first ``indices``
            samples, or these ones. Defaults to None (all).
        pipeline (list, optional): Must be empty: augmentation happens in the
            data preprocessor. Defaults to None.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 device: Optional[str] = None,
                 color_order: str = 'bgr',
                 indices: Optional[Sequence[int]] = None,
                 pipeline: Optional[list] = None,
                 **kwargs) -> None:
        if pipeline:
            raise ValueError('CIFARTensorDataset has no per-sample pipeline; set '
                             'pipeline=[] and augment in the data preprocessor '
                             '(GPUMultiViewDataPreprocessor).')
        if color_order not in ('bgr', 'rgb'):
            raise ValueError(f"color_order must be 'bgr' or 'rgb', got "
                             f'{color_order!r}.')
        self.device = torch.device(device or ('cuda' if torch.cuda.is_available()
                                              else 'cpu'))
        if data_root.endswith('.npz'):
            if not osp.isfile(data_root):
                raise FileNotFoundError(
                    f'CIFARTensorDataset: pack {data_root!r} does not exist; make '
                    'it with `python tools/dataset_converters/'
                    f'pack_cifar_for_gpu.py SRC {data_root}`.')
            encoded, labels, classes = _load_pack(data_root, split)
            names = None
        else:
            folder = osp.join(data_root, split)
            if not osp.isdir(folder):
                raise FileNotFoundError(
                    f'CIFARTensorDataset: {folder!r} does not exist; expected a '
                    '.npz pack or <data_root>/<split>/<class>/<image>.')
            encoded, labels, classes, names = _load_folder(folder)
        if indices is not None:
            keep = (list(range(indices)) if isinstance(indices, int) else
                    list(indices))
            encoded, labels = [encoded[i] for i in keep], labels[keep]
            names = names and [names[i] for i in keep]
        images = torch.stack(decode_images(encoded, self.device, names))  # RGB
        self.images = images.flip(1).contiguous() if color_order == 'bgr' else images
        self.labels = torch.from_numpy(labels)
        self.metainfo: Dict = dict(classes=classes)
        # Made once: per-batch DataSample construction would cost more than the
        # augmentation of a CIFAR batch.
        self.samples: List[DataSample] = [
            DataSample().set_gt_label(int(y)) for y in labels.tolist()
        ]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, idx: int) -> dict:
        """One sample, ``inputs`` a (3, H, W) uint8 tensor (for default_collate)."""
        return dict(inputs=self.images[idx], data_samples=self.samples[idx])

    def __getitems__(self, indices: Sequence[int]) -> dict:
        """A whole batch with one gather on the device."""
        index = torch.as_tensor(indices, dtype=torch.long).to(self.device,
                                                              non_blocking=True)
        return dict(inputs=self.images.index_select(0, index),
                    data_samples=[self.samples[i] for i in indices])

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_samples={len(self)}, images='
                f'{tuple(self.images.shape)} on {self.device})')
