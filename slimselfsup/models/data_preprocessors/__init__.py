"""Data preprocessors: batched decoding and view augmentation on the device."""
from .batch_augment import ViewAugment, sample_crop_boxes
from .from_pipeline import views_from_pipeline
from .gpu_multiview import GPUMultiViewDataPreprocessor, concat_views

__all__ = ['ViewAugment', 'sample_crop_boxes', 'GPUMultiViewDataPreprocessor',
           'concat_views', 'views_from_pipeline']
