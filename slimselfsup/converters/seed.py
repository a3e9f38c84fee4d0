"""SEED checkpoints and slimselfsup's own pretraining checkpoints -> a SEED teacher.

Official SEED checkpoints hold ``state_dict`` with ``module.student.*`` (a MoCo-style
network whose ``fc`` is the MLP head) and ``module.teacher.*`` (in the layout of the
teacher's method). slimselfsup checkpoints hold ``backbone.*`` and ``neck.*`` next to
training-only state (momentum encoder, queues, a SEED run's own teacher).
"""
from .moco import moco_head_map, take_prefix, to_teacher_layout
from .registry import (ConversionError, StateDict, keep_prefixes, register_converter,
                       unwrap_state_dict)
from .simclr import SIMCLR_HEAD
from .swav import swav_trunk_and_head

#: Prefixes that make up a slimselfsup teacher.
TEACHER_PREFIXES = ('backbone.', 'neck.')


@register_converter(
    'slimselfsup-teacher',
    'slimselfsup pretraining checkpoint (MoCo, SimCLR, SEED student, ...) -> SEED '
    'teacher: keeps backbone.* and neck.*, drops momentum encoder, queues, teacher')
def convert_own(checkpoint: dict) -> StateDict:
    state_dict = unwrap_state_dict(checkpoint, keys=('state_dict', ))
    out = keep_prefixes(state_dict, TEACHER_PREFIXES)
    if not any(k.startswith('backbone.') for k in out):
        raise ConversionError('slimselfsup checkpoint: missing keys backbone.* (this '
                              'is not a slimselfsup pretraining checkpoint); first keys: '
                              f'{list(state_dict)[:5]}')
    return out


@register_converter(
    'seed-student',
    'official SEED checkpoint, module.student.* (ResNet student with MLP fc) -> '
    'SEED teacher (ResNet + MoCoV2Neck), e.g. to distil further')
def convert_seed_student(checkpoint: dict) -> StateDict:
    source = 'SEED student'
    state_dict = take_prefix(unwrap_state_dict(checkpoint, keys=('state_dict', )),
                             ('module.student.', 'student.'), source)
    if 'conv1.weight' not in state_dict:
        raise ConversionError(f'{source}: missing keys [\'conv1.weight\']: only ResNet '
                              'students convert (EfficientNet/MobileNet students of the '
                              'reference use other implementations than timm)')
    return to_teacher_layout(state_dict, moco_head_map(state_dict, source), source)


@register_converter(
    'seed-teacher',
    'official SEED checkpoint, module.teacher.* (MoCo, SimCLR or SwAV teacher) -> '
    'SEED teacher in the layout of that method\'s converter')
def convert_seed_teacher(checkpoint: dict) -> StateDict:
    source = 'SEED teacher'
    state_dict = take_prefix(unwrap_state_dict(checkpoint, keys=('state_dict', )),
                             ('module.teacher.', 'teacher.'), source)
    if any(k.startswith('projection_head.') for k in state_dict):  # SwAV
        return swav_trunk_and_head(state_dict, source + ' (SwAV)')
    if any(k.startswith('module.') for k in state_dict):  # SimCLR wraps a .module
        state_dict = take_prefix(state_dict, ('module.', ), source)
        return to_teacher_layout(state_dict, SIMCLR_HEAD, source + ' (SimCLR)')
    return to_teacher_layout(state_dict, moco_head_map(state_dict, source),
                             source + ' (MoCo)')
