from .nce_head import NCEHead

__all__ = ['NCEHead']
