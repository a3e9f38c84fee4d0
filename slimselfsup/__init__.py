"""slimselfsup: self-supervised pretraining for small networks, small batches and
existing pretrained models, on mmengine and mmpretrain."""
from .utils.compat import apply_compat_patches

apply_compat_patches()

from .version import __version__  # noqa: E402

__all__ = ['__version__']
