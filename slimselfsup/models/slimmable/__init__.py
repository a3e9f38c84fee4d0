from .ops import (SlimmableConv2d, SlimmableLinear, SlimmableMixin, SwitchableBatchNorm1d,
                  SwitchableBatchNorm2d, set_width, slim_channels)

__all__ = [
    'SlimmableConv2d', 'SlimmableLinear', 'SlimmableMixin', 'SwitchableBatchNorm1d',
    'SwitchableBatchNorm2d', 'set_width', 'slim_channels'
]
