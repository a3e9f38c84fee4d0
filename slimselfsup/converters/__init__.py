"""Checkpoint converters between published layouts and slimselfsup's.

Each converter lives in its own module of this package and registers itself under
a name with :func:`register_converter`; ``tools/convert_ckpt.py NAME IN OUT`` runs
it. A converter takes the loaded checkpoint (whatever ``torch.load`` returned) and
returns the state dict to save, raising :class:`ConversionError` that names the
missing or unexpected keys when the input is not the layout it converts.
"""
# converter modules register on import: add one line per module here
# (e.g. ``from . import moco  # noqa: F401``)
from . import (detectron2, ibot, mae, moco, mocov3, prefixes, seed, simclr,  # noqa: F401,E402
               slimclr, swav, tec, timm_resnet, timm_vit, torchvision)
from .registry import (CONVERTERS, ConversionError, check_keys, convert, keep_prefixes,
                       register_converter, strip_prefix, unwrap_state_dict)

__all__ = ['CONVERTERS', 'ConversionError', 'check_keys', 'convert', 'keep_prefixes',
           'register_converter', 'strip_prefix', 'unwrap_state_dict']
