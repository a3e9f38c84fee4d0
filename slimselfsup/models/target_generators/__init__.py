from .frozen_teacher import FrozenTeacher
from .tec_target import TECTargetGenerator

__all__ = ['FrozenTeacher', 'TECTargetGenerator']
