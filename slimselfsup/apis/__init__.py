from .cli import (add_runtime_args, add_train_args, apply_train_args, enable_tensorboard,
                  parse_runtime_args)
from .config import check_top_level_keys, load_config
from .model_zoo import get_model, list_models

__all__ = ['add_runtime_args', 'add_train_args', 'apply_train_args', 'enable_tensorboard',
           'parse_runtime_args', 'check_top_level_keys', 'load_config',
           'get_model', 'list_models']
