"""Config mistakes that mmengine reports late or without naming them.

Hook and optimizer arguments are checked when the runner builds them (a typo such
as ``default_hooks.checkpoint.max_keep_ckpt`` would otherwise fail at the first save
after an epoch of work, since mmengine's ``CheckpointHook`` takes any keyword; text
where a number belongs, ``lr=abc``, would fail inside torch with a comparison
error), and an ``init_cfg`` prefix that matches no key of its checkpoint is named
with the prefixes the file does have.
"""
from typing import Optional

import torch
from mmengine.registry import HOOKS, OPTIMIZERS, Registry
from torch import nn

from slimselfsup.apis.config import check_call_arguments


def resolve_type(registry: Registry, type_) -> Optional[type]:
    """The class a config's ``type`` names in the current scope, or None."""
    if isinstance(type_, type):
        return type_
    if not isinstance(type_, str):
        return None
    with registry.switch_scope_and_registry(None) as scoped:
        cls = scoped.get(type_)
    return cls if isinstance(cls, type) else None


def check_optimizer_config(optim_wrapper) -> None:
    """Check that the numeric arguments of ``optim_wrapper.optimizer`` are numbers.

    Raises:
        TypeError: Naming ``optim_wrapper.optimizer.<key>`` and the value.
    """
    optimizer = optim_wrapper.get('optimizer') if isinstance(optim_wrapper, dict) \
        else None
    if isinstance(optimizer, dict):
        cls = resolve_type(OPTIMIZERS, optimizer.get('type'))
        if cls is not None:
            check_call_arguments(cls, optimizer, 'optim_wrapper.optimizer', unknown=False)


def check_hook_configs(default_hooks, custom_hooks) -> None:
    """Check every hook config against its class's arguments.

    Raises:
        TypeError: Naming the hook's config key and the argument it does not take
            (with the closest one it does), or a number given as text.
    """
    entries = [(f'default_hooks.{name}', cfg) for name, cfg in (default_hooks or {}).items()]
    entries += [(f'custom_hooks.{i}', cfg) for i, cfg in enumerate(custom_hooks or [])]
    for where, cfg in entries:
        if isinstance(cfg, dict):
            cls = resolve_type(HOOKS, cfg.get('type'))
            if cls is not None:
                check_call_arguments(cls, cfg, where, ignore=('type', 'priority'))


def wrong_prefix_message(model: nn.Module, prefix: str) -> str:
    """What to tell a user whose ``init_cfg`` prefix matches no checkpoint key."""
    ckpt = next((cfg.get('checkpoint') for cfg in (
        getattr(m, 'init_cfg', None) for m in model.modules())
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'
        and cfg.get('prefix') == prefix), None)
    heads = []
    try:
        state = torch.load(ckpt, map_location='cpu', weights_only=True)
        state = state.get('state_dict', state)
        heads = sorted({'.'.join(k.split('.')[:2 if k.startswith('module.') else 1])
                        + '.' for k in state})
    except Exception:  # unreadable: the message still names file and prefix
        pass
    return (f"init_cfg=dict(type='Pretrained', prefix={prefix!r}) matches no key of "
            f'{ckpt}; its keys start with {heads[:8]}. Set `prefix` to the part '
            "holding the backbone (our pretraining checkpoints: 'backbone.'), or "
            'convert the file with tools/convert_ckpt.py (strip-prefix or a converter '
            'for its layout).')
