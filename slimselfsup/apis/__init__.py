from .config import check_top_level_keys, load_config

__all__ = ['check_top_level_keys', 'load_config']
