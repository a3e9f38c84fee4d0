from .compat import apply_compat_patches
from .progress import track
from .setup_env import register_all_modules

__all__ = ['apply_compat_patches', 'register_all_modules', 'track']
