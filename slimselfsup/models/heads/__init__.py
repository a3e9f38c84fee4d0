from .nce_head import NCEHead
from .seed_head import SEEDHead
from .switchable_linear_head import SwitchableLinearClsHead
from .tec_head import TECHead

__all__ = ['NCEHead', 'SwitchableLinearClsHead', 'TECHead', 'SEEDHead']
