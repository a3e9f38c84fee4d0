"""SimCLR checkpoints in the PyTorch layout SEED uses -> a SEED teacher."""
import re
from collections import OrderedDict

from .moco import to_teacher_layout
from .registry import StateDict, register_converter, unwrap_state_dict

#: SimCLR head ``Linear -> BN1d -> ReLU -> Linear`` as mmpretrain's NonLinearNeck.
SIMCLR_HEAD = {'fc.0.': 'neck.fc0.', 'fc.1.': 'neck.bn0.', 'fc.3.': 'neck.fc1.'}


@register_converter(
    'simclr-teacher',
    'SimCLR ResNet-50 (PyTorch port: checkpoint["model"], keys module.module.module.*, '
    'head fc.0/fc.1/fc.3) -> SEED teacher (ResNet + NonLinearNeck with biases)')
def convert_simclr(checkpoint: dict) -> StateDict:
    """Strip the wrapper prefixes (any number of ``module.``) and rename the head."""
    state_dict = unwrap_state_dict(checkpoint, keys=('model', 'state_dict'))
    state_dict = OrderedDict((re.sub(r'^(module\.)+', '', k), v)
                             for k, v in state_dict.items())
    return to_teacher_layout(state_dict, SIMCLR_HEAD, 'SimCLR checkpoint')
