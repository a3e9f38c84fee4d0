from . import checkpoint_loader  # noqa: F401  (registers mmengine's local loader)
from .lr_scaling import lr_scale_factor
from .selfsup_runner import SelfSupRunner

__all__ = ['SelfSupRunner', 'lr_scale_factor']
