from .nce_head import NCEHead
from .switchable_linear_head import SwitchableLinearClsHead

__all__ = ['NCEHead', 'SwitchableLinearClsHead']
