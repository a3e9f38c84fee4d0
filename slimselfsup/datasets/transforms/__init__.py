"""Data transforms registered in slimselfsup's ``TRANSFORMS``."""
from .color_jitter import ColorJitter, adjust_hue
from .image_bytes import DecodeImage, PackImageBytes

__all__ = ['ColorJitter', 'adjust_hue', 'DecodeImage', 'PackImageBytes']
