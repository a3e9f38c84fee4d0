"""Data transforms registered in slimselfsup's ``TRANSFORMS``."""
from .color_jitter import ColorJitter, adjust_hue
from .image_bytes import DecodeImage, PackImageBytes
from .loading import LoadImageFromFile

__all__ = ['ColorJitter', 'adjust_hue', 'DecodeImage', 'LoadImageFromFile',
           'PackImageBytes']
