"""Data preprocessor that decodes and augments the views of a batch on its device."""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmpretrain.models.utils.data_preprocessor import SelfSupDataPreprocessor
from torch import Tensor

from slimselfsup.datasets.decoding import decode_images
from slimselfsup.registry import MODELS
from .batch_augment import ViewAugment, image_sizes


def concat_views(views: Sequence[Tensor]) -> Tensor:
    """``torch.cat(views)``, without the copy when the views are consecutive slices
    of one batch (as :class:`GPUMultiViewDataPreprocessor` makes them)."""
    base = views[0]._base
    if base is not None and base.shape[0] == sum(len(v) for v in views) and all(
            v._base is base and v.shape[1:] == base.shape[1:]
            and v.stride() == base.stride() for v in views):
        offset = base.storage_offset()
        for v in views:
            if v.storage_offset() != offset:
                break
            offset += len(v) * base.stride(0)
        else:
            return base
    return torch.cat(list(views))


@MODELS.register_module()
class GPUMultiViewDataPreprocessor(SelfSupDataPreprocessor):
    """Makes the augmented views of a batch on the model's device.

    In training the data loader delivers raw images, one per sample, and this
    preprocessor draws every view from them with :class:`ViewAugment` (random
    resized crop, flip, colour jitter, grayscale, blur, solarize, each with the
    semantics of our CPU transforms), then normalises. Raw images are either

    * a uint8 batch ``(N, 3, H, W)`` (``PackInputs`` + ``default_collate``, or
      ``CIFARTensorDataset``), in the loader's channel order: with ``to_rgb=True``
      (BGR input, like ``LoadImageFromFile``) channels are flipped first;
    * a list of uint8 ``(3, H, W)`` images of any sizes (``pseudo_collate``);
    * a list of encoded images, 1-D uint8 tensors (``PackImageBytes`` +
      ``pseudo_collate``), decoded on the GPU when there is one; decoded images
      are RGB, ``to_rgb`` does not apply to them.

    Inputs that are already views (a list of 4-D batches, from a CPU
    ``MultiView`` pipeline) and evaluation batches (``training=False``, e.g. the
    kNN hook) are handled exactly like :class:`SelfSupDataPreprocessor`.

    Args:
        mean (Sequence[float]): RGB mean on the 0-255 scale.
        std (Sequence[float]): RGB std on the 0-255 scale.
        views (Sequence[dict]): One dict per view kind: ``num_views`` (default 1)
            plus the arguments of :class:`ViewAugment`. Views come out in order.
        to_rgb (bool): Raw uint8 batches are BGR; flip to RGB. Defaults to False.
        channels_last (bool): Return views in channels-last memory format.
            Defaults to False.
        non_blocking (bool): Copy to the device without blocking. Defaults to
            True.
    """

    def __init__(self,
                 mean: Sequence[float],
                 std: Sequence[float],
                 views: Sequence[dict],
                 to_rgb: bool = False,
                 channels_last: bool = False,
                 non_blocking: bool = True) -> None:
        super().__init__(mean=mean, std=std, to_rgb=to_rgb,
                         non_blocking=non_blocking)
        if not views:
            raise ValueError('views must list at least one view, e.g. '
                             "[dict(num_views=2, crop_size=224)].")
        self.to_rgb = to_rgb
        self.channels_last = channels_last
        self.view_augments: List[ViewAugment] = []
        for cfg in views:
            cfg = dict(cfg)
            num = cfg.pop('num_views', 1)
            try:
                augment = ViewAugment(**cfg)
            except TypeError as exc:
                raise TypeError(f'GPUMultiViewDataPreprocessor: bad view {cfg}: '
                                f'{exc}. Valid keys: num_views and those of '
                                'ViewAugment.') from exc
            self.view_augments += [augment] * num

    def _raw_images(self, inputs: Union[Tensor, List[Tensor]],
                    data_samples: Optional[list]) -> Union[Tensor, List[Tensor]]:
        """Raw inputs on the device, RGB; encoded ones decoded."""
        if isinstance(inputs, Tensor):
            images = inputs.to(self.device, non_blocking=self._non_blocking)
            return images.flip(1) if self.to_rgb else images
        if all(t.dim() == 1 for t in inputs):
            names = [s.metainfo.get('img_path') for s in data_samples] \
                if data_samples else None
            return decode_images(inputs, self.device, names)
        images = [t.to(self.device, non_blocking=self._non_blocking) for t in inputs]
        return [img.flip(0) for img in images] if self.to_rgb else images

    def forward(self, data: dict, training: bool = False) -> Dict:
        """Views (training, raw inputs) or the parent's preprocessing."""
        inputs = data['inputs']
        is_views = isinstance(inputs, (list, tuple)) and inputs and all(
            isinstance(t, Tensor) and t.dim() == 4 for t in inputs)
        raw = isinstance(inputs, Tensor) and inputs.dim() == 4 or (
            isinstance(inputs, (list, tuple)) and not is_views)
        if not training or not raw:
            return super().forward(data, training)
        data_samples = data.get('data_samples')
        images = self._raw_images(inputs, data_samples)
        heights, widths = image_sizes(images, self.device)
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        sizes = [a.crop_size for a in self.view_augments]
        n = len(heights)
        # views of one size are slices of one batch, so a model that runs them
        # together (SimCLR) takes the batch as it is instead of concatenating
        batch = torch.empty((n * len(sizes), 3, sizes[0], sizes[0]), device=self.device,
                            memory_format=fmt) if len(set(sizes)) == 1 else None
        views = []
        for i, augment in enumerate(self.view_augments):
            view = augment(images, heights, widths).mul_(255.).sub_(self.mean)
            out = batch[i * n:(i + 1) * n] if batch is not None else torch.empty_like(
                view, memory_format=fmt)
            views.append(torch.div(view, self.std, out=out))
        if data_samples is not None:
            data_samples = self.cast_data(data_samples)
        return {'inputs': views, 'data_samples': data_samples}
