"""CIFAR-10/100 from the python batch files, without download or md5 checks."""
import pickle
from typing import Any, Dict, List, Optional

import numpy as np
from mmengine.fileio import exists, get, isdir, join_path
from mmpretrain.datasets import BaseDataset
from mmpretrain.datasets.categories import CIFAR10_CATEGORIES, CIFAR100_CATEGORIES

from slimselfsup.registry import DATASETS

# File layout of the two official "python version" archives.
_LAYOUTS = {
    'cifar10':
    dict(
        folder='cifar-10-batches-py',
        train=[f'data_batch_{i}' for i in range(1, 6)],
        test=['test_batch'],
        meta='batches.meta',
        meta_key='label_names',
        label_key='labels',
        classes=CIFAR10_CATEGORIES),
    'cifar100':
    dict(
        folder='cifar-100-python',
        train=['train'],
        test=['test'],
        meta='meta',
        meta_key='fine_label_names',
        label_key='fine_labels',
        classes=CIFAR100_CATEGORIES),
}


def _str(value: Any) -> Any:
    """Decode bytes (keys and names of the python-2 pickles) to str."""
    return value.decode('latin1') if isinstance(value, bytes) else value


def _load_pickle(path: str) -> Dict[str, Any]:
    """Load one batch/meta pickle, with str keys whichever python wrote it."""
    # latin1 keeps the numpy payload of python-2 pickles intact.
    entry = pickle.loads(get(path), encoding='latin1')
    return {_str(k): v for k, v in entry.items()}


@DATASETS.register_module()
class CIFARBatches(BaseDataset):
    """CIFAR-10 or CIFAR-100 read from the official python batch files.

    Unlike mmpretrain's ``CIFAR10``/``CIFAR100`` this never downloads and does not
    check the official md5 sums, so re-packed or self-made batch files load too.
    Expected layout (``<root>`` is ``data_root`` joined with ``data_prefix``)::

        <root>/cifar-10-batches-py/         <root>/cifar-100-python/
            data_batch_1 ... data_batch_5       train
            test_batch                          test
            batches.meta (optional)             meta (optional)

    ``<root>`` may also be the batch folder itself. Each batch is a pickled dict
    with ``data``, a ``(N, 3072)`` uint8 array of row-major 32x32 R, G and B
    planes, and ``labels`` (CIFAR-100: ``fine_labels``); keys may be str or
    bytes. Class names come from ``metainfo``, else the meta file, else the
    standard names.

    Images are stored in ``img`` as ``(32, 32, 3)`` uint8 arrays, so the pipeline
    needs no ``LoadImageFromFile``. They are BGR by default, the order
    ``LoadImageFromFile`` gives, so pipelines and ``to_rgb=True`` preprocessors
    written for image files work unchanged (mmpretrain's ``CIFAR10`` gives RGB).

    Note:
        Batch files are pickles: only load files from a trusted source.

    Args:
        data_root (str): Root directory of the data set. Defaults to ''.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        variant (str): ``'cifar10'`` or ``'cifar100'`` (fine labels). Defaults to
            ``'cifar10'``.
        color_order (str): Channel order of ``img``, ``'bgr'`` or ``'rgb'``.
            Defaults to ``'bgr'``.
        data_prefix (str): Sub-folder of ``data_root`` holding the batch folder.
            Defaults to ''.
        metainfo (dict, optional): Meta information, e.g. ``classes``. Defaults
            to None.
        **kwargs: Other arguments of :class:`~mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``lazy_init``, ``indices``, ...).
    """

    METAINFO: dict = {}

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 variant: str = 'cifar10',
                 color_order: str = 'bgr',
                 data_prefix: str = '',
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in ('train', 'test'):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
        if variant not in _LAYOUTS:
            raise ValueError(
                f'variant must be one of {sorted(_LAYOUTS)}, got {variant!r}.')
        if color_order not in ('bgr', 'rgb'):
            raise ValueError(
                f"color_order must be 'bgr' or 'rgb', got {color_order!r}.")
        if not data_root and not data_prefix:
            raise ValueError('Set data_root to the folder holding the batch files.')
        self.split = split
        self.variant = variant
        self.color_order = color_order
        self.layout = _LAYOUTS[variant]
        super().__init__(
            ann_file='',
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=dict(root=data_prefix),
            **kwargs)

    def _batch_folder(self) -> str:
        """The folder holding the batch files, ``<root>/<folder>`` or ``<root>``."""
        root = self.data_prefix['root']
        folder = join_path(root, self.layout['folder'])
        if isdir(folder):
            return folder
        if exists(join_path(root, self.layout[self.split][0])):
            return root
        return folder

    def load_data_list(self) -> List[dict]:
        """Read the split's batch files into ``img``/``gt_label`` samples."""
        folder = self._batch_folder()
        data, labels = [], []
        for name in self.layout[self.split]:
            path = join_path(folder, name)
            if not exists(path):
                files = ', '.join(self.layout['train'] + self.layout['test'])
                raise FileNotFoundError(
                    f'{type(self).__name__}: {self.variant} batch file {path!r} is '
                    f'missing. Expected <data_root>/<data_prefix>/'
                    f"{self.layout['folder']}/ (or that folder itself as root) "
                    f'holding {files} and optionally {self.layout["meta"]}, i.e. '
                    f'the extracted official "python version" archive; this '
                    f'dataset never downloads.')
            entry = _load_pickle(path)
            data.append(np.asarray(entry['data'], dtype=np.uint8))
            labels.extend(int(x) for x in entry[self.layout['label_key']])

        imgs = np.concatenate(data).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        if self.color_order == 'bgr':
            imgs = imgs[..., ::-1]
        imgs = np.ascontiguousarray(imgs)
        if len(imgs) != len(labels):
            raise ValueError(f'{folder!r}: {len(imgs)} images but {len(labels)} '
                             'labels in the batch files.')
        self._set_classes(folder)
        return [dict(img=img, gt_label=label) for img, label in zip(imgs, labels)]

    def _set_classes(self, folder: str) -> None:
        """Fill ``metainfo['classes']`` unless the user set it."""
        if self._metainfo.get('classes') is not None:
            return
        path = join_path(folder, self.layout['meta'])
        if exists(path):
            names = _load_pickle(path)[self.layout['meta_key']]
            self._metainfo['classes'] = tuple(_str(n) for n in names)
        else:
            self._metainfo['classes'] = tuple(self.layout['classes'])

    def extra_repr(self) -> List[str]:
        """Extra lines for ``repr``."""
        return [
            f'Variant: \t{self.variant}', f'Split: \t{self.split}',
            f"Prefix of data: \t{self.data_prefix['root']}"
        ]
