from .tec_target import TECTargetGenerator

__all__ = ['TECTargetGenerator']
