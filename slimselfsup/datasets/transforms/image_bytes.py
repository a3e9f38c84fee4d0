"""Transforms for data sets that hold encoded images (LMDB, MXRecordIO)."""
from typing import Dict

import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpretrain.structures import DataSample

from slimselfsup.registry import TRANSFORMS


@TRANSFORMS.register_module()
class DecodeImage(BaseTransform):
    """Decode ``img_bytes`` (JPEG, PNG, ...) into ``img``, like ``LoadImageFromFile``.

    Put it where ``LoadImageFromFile`` would go when the data set yields encoded
    bytes (``LMDBDataset``, ``MXRecordDataset``); the rest of a CPU pipeline stays
    the same.

    **Required Keys:** img_bytes (and img_path, used in error messages)

    **Added Keys:** img (BGR uint8, or ``color_type``), img_shape, ori_shape

    **Removed Keys:** img_bytes

    Args:
        color_type (str): ``'color'``, ``'grayscale'`` or ``'unchanged'``, as in
            :func:`mmcv.imfrombytes`. Defaults to ``'color'``.
        imdecode_backend (str): ``'cv2'``, ``'pillow'`` or ``'turbojpeg'``.
            Defaults to ``'cv2'``.
    """

    def __init__(self, color_type: str = 'color', imdecode_backend: str = 'cv2'
                 ) -> None:
        self.color_type = color_type
        self.imdecode_backend = imdecode_backend

    def transform(self, results: Dict) -> Dict:
        """Decode ``results['img_bytes']``; raise naming the record if it fails."""
        where = results.get('img_path', '<unknown key>')
        if 'img_bytes' not in results:
            raise KeyError(f'DecodeImage: sample {where!r} has no img_bytes; use it '
                           'with a data set of encoded images (LMDBDataset, '
                           'MXRecordDataset), else LoadImageFromFile.')
        try:
            img = mmcv.imfrombytes(results.pop('img_bytes'), flag=self.color_type,
                                   backend=self.imdecode_backend)
        except Exception as exc:  # decoders raise many types on bad data
            raise ValueError(f'DecodeImage: record {where!r} is not a decodable '
                             f'image ({type(exc).__name__}: {exc}).') from exc
        if img is None:
            raise ValueError(f'DecodeImage: record {where!r} is not a decodable '
                             'image (corrupt or truncated bytes).')
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(color_type={self.color_type!r}, '
                f'imdecode_backend={self.imdecode_backend!r})')


@TRANSFORMS.register_module()
class PackImageBytes(BaseTransform):
    """Pack encoded bytes as a 1-D uint8 tensor for decoding on the GPU.

    The batch (collated with ``pseudo_collate`` into a list of tensors) is decoded
    and augmented by ``GPUMultiViewDataPreprocessor``.

    **Required Keys:** img_bytes; optional gt_label, img_path

    **Added Keys:** inputs (``torch.uint8``, 1-D), data_samples (``DataSample``)
    """

    def transform(self, results: Dict) -> Dict:
        """Wrap the bytes without copying them twice."""
        if 'img_bytes' not in results:
            raise KeyError(f"PackImageBytes: sample {results.get('img_path')!r} has "
                           'no img_bytes; use it with LMDBDataset or '
                           'MXRecordDataset.')
        data = np.frombuffer(results['img_bytes'], dtype=np.uint8).copy()
        sample = DataSample()
        if 'gt_label' in results:
            sample.set_gt_label(results['gt_label'])
        sample.set_metainfo(dict(img_path=results.get('img_path')))
        return dict(inputs=torch.from_numpy(data), data_samples=sample)
