"""SwAV checkpoints (ResNet-50 and the wide w2/w4/w5) -> a SEED teacher."""
from collections import OrderedDict

from .moco import take_prefix, to_teacher_layout
from .registry import StateDict, register_converter, unwrap_state_dict

#: SwAV projection head ``Linear -> BN1d -> ReLU -> Linear`` as NonLinearNeck.
SWAV_HEAD = {'projection_head.0.': 'neck.fc0.', 'projection_head.1.': 'neck.bn0.',
             'projection_head.3.': 'neck.fc1.'}


def swav_trunk_and_head(state_dict: StateDict, source: str) -> StateDict:
    """Drop the prototypes and rename; the trunk is torchvision's up to a width
    multiplier on every stage (``ResNet(stem_channels=base_channels=64*w)``)."""
    kept = OrderedDict((k, v) for k, v in state_dict.items()
                       if not k.startswith('prototypes'))
    return to_teacher_layout(kept, SWAV_HEAD, source)


@register_converter(
    'swav-teacher',
    'SwAV ResNet-50/w2/w4/w5 checkpoint (top-level module.*) -> SEED teacher '
    '(ResNet with stem/base channels 64*w + NonLinearNeck); prototypes dropped')
def convert_swav(checkpoint: dict) -> StateDict:
    """SwAV's released files are a bare state dict with ``module.`` keys."""
    source = 'SwAV checkpoint'
    state_dict = take_prefix(unwrap_state_dict(checkpoint, keys=('state_dict', )),
                             ('module.', ''), source)
    return swav_trunk_and_head(state_dict, source)
