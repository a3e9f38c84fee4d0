"""Data preprocessors: batched decoding and view augmentation on the device."""
from .batch_augment import ViewAugment, sample_crop_boxes
from .gpu_multiview import GPUMultiViewDataPreprocessor, decode_images

__all__ = ['ViewAugment', 'sample_crop_boxes', 'GPUMultiViewDataPreprocessor',
           'decode_images']
