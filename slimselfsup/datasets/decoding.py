"""Batched decoding of encoded images (JPEG, PNG) to uint8 tensors on a device.

The data-layer counterpart of the ``DecodeImage`` transform for code that holds a
whole batch of encoded files: ``CIFARTensorDataset`` decodes its images once
into device memory, and ``GPUMultiViewDataPreprocessor`` decodes the encoded
batches of ``PackImageBytes`` on the GPU.
"""
from typing import List, Optional, Sequence

import torch
from torch import Tensor
from torchvision.io import ImageReadMode, decode_image, decode_jpeg


def decode_images(encoded: Sequence[Tensor], device: torch.device,
                  names: Optional[Sequence[str]] = None) -> List[Tensor]:
    """Decode encoded images (1-D uint8 tensors) to RGB uint8 (3, H, W) tensors.

    On CUDA the JPEGs of the batch are decoded together on the GPU
    (``torchvision.io.decode_jpeg(list, device='cuda')``); elsewhere, or for a
    batch that is not all JPEG, each image is decoded on the CPU and moved.

    Args:
        encoded (Sequence[Tensor]): Encoded files, 1-D uint8 (CPU) tensors.
        device (torch.device): Where the decoded images go.
        names (Sequence[str], optional): Names for error messages.

    Returns:
        list[Tensor]: Decoded images on ``device``.
    """
    if device.type == 'cuda':
        try:
            return list(decode_jpeg(list(encoded), mode=ImageReadMode.RGB,
                                    device=device))
        except RuntimeError:
            pass  # PNGs or a broken file: the per-image path names it
    images = []
    for i, data in enumerate(encoded):
        try:
            img = decode_image(data.cpu(), mode=ImageReadMode.RGB)
        except RuntimeError as exc:
            name = names[i] if names else f'#{i} of the batch'
            raise ValueError(f'image {name!r} could not be decoded: {exc}') from exc
        images.append(img.to(device, non_blocking=True))
    return images
