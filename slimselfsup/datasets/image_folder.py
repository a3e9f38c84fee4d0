"""Class-folder image dataset that fails early with actionable messages."""
import os
from typing import List

from mmengine.fileio import LocalBackend, get_file_backend
from mmpretrain.datasets import CustomDataset

from slimselfsup.registry import DATASETS


@DATASETS.register_module()
class ImageFolder(CustomDataset):
    """mmpretrain's :class:`~mmpretrain.datasets.CustomDataset` with clear errors.

    Reads ``<data_root>/<data_prefix>/<class>/<image>`` (or an ``ann_file``) exactly
    like ``CustomDataset``; class indices follow the sorted folder names. It differs
    only in how bad input is reported:

    * a missing image folder raises :class:`FileNotFoundError` naming the resolved
      path, ``data_root`` and the working directory, and how to fix it
      (``CustomDataset`` lets a bare ``os.scandir`` error through);
    * a class folder without a single valid image raises :class:`ValueError`
      naming that folder (``CustomDataset`` only logs a warning and keeps a
      class that can never be sampled);
    * an image folder with no valid image at all raises :class:`ValueError`
      that explains the expected layout.

    Args:
        data_root (str): The root directory for ``data_prefix`` and ``ann_file``.
            Defaults to ''.
        data_prefix (str | dict): Image folder relative to ``data_root``. Defaults
            to ''.
        ann_file (str): Annotation file path; if given, folders are not scanned.
            Defaults to ''.
        with_label (bool): Whether sub-folders are classes. Defaults to True.
        **kwargs: Other arguments of :class:`~mmpretrain.datasets.CustomDataset`
            (``extensions``, ``metainfo``, ``pipeline``, ``lazy_init``, ...).
    """

    def _find_samples(self) -> List:
        """Scan the image folder, checking it exists and no class is empty."""
        prefix = self.img_prefix
        backend = get_file_backend(prefix, enable_singleton=True)
        if isinstance(backend, LocalBackend) and not os.path.isdir(prefix):
            raise FileNotFoundError(
                f'{type(self).__name__}: image folder {prefix!r} (data_root '
                f'{self.data_root!r} joined with data_prefix) does not exist; '
                f'relative paths resolve against the working directory '
                f'{os.getcwd()!r}. Expected the layout '
                '<data_root>/<data_prefix>/<class>/<image>. Put or symlink the '
                'data there (e.g. `ln -s /path/to/cifar10 data/cifar10`) or '
                'override the path, e.g. `--cfg-options '
                'train_dataloader.dataset.data_root=/path/to/data`.')
        try:
            samples = super()._find_samples()
        except RuntimeError as err:  # CustomDataset: "Found 0 files ..."
            layout = ('<class>/<image> sub-folders' if self.with_label else
                      'image files (any depth)')
            raise ValueError(
                f'{type(self).__name__}: no image with extension in '
                f'{sorted(self.extensions)} found in {prefix!r}; expected '
                f'{layout} there.') from err

        if self.with_label:
            found = {label for _, label in samples}
            empty = [
                os.path.join(prefix, name)
                for name, label in sorted(self.folder_to_idx.items())
                if label not in found
            ]
            if empty:
                raise ValueError(
                    f'{type(self).__name__}: class folder(s) {empty} hold no image '
                    f'with extension in {sorted(self.extensions)}. Every '
                    'sub-folder of the image folder is a class; add images to it '
                    'or remove it.')
        return samples
