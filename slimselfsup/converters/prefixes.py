"""``strip-prefix``: a bare backbone state dict out of a training checkpoint."""
from typing import Optional, Sequence, Union

from .registry import (ConversionError, StateDict, register_converter, strip_prefix,
                       unwrap_state_dict)


def backbone_state(checkpoint: dict, prefix: str = 'backbone.') -> StateDict:
    """The backbone tensors of a checkpoint with their prefix removed.

    Accepts our training checkpoints (``state_dict`` with ``backbone.*`` keys),
    DDP-saved ones (``module.backbone.*``) and bare backbone state dicts.

    Args:
        checkpoint (dict): A loaded checkpoint.
        prefix (str): Key prefix of the backbone. Defaults to ``'backbone.'``.

    Raises:
        ConversionError: No key has ``prefix`` and the dict is no bare backbone.
    """
    state = unwrap_state_dict(checkpoint)
    if state and all(k.startswith('module.') for k in state):
        state = strip_prefix(state, 'module.')
    if any(k.startswith(prefix) for k in state):
        return strip_prefix(state, prefix, drop_others=True)
    if 'conv1.weight' in state or 'stem.0.conv.weight' in state:
        return dict(state)
    raise ConversionError(f'no backbone in the checkpoint: no key starts with '
                          f'{prefix!r} and it has no conv1.weight; first keys: '
                          f'{list(state)[:5]}')


@register_converter('strip-prefix', "drop 'module.'/'backbone.' key prefixes: a "
                    'bare backbone state dict (option prefix=a.,b. to choose)')
def convert_strip_prefix(checkpoint: dict,
                         prefix: Optional[Union[str, Sequence[str]]] = None,
                         keep_others: bool = False) -> StateDict:
    """Strip key prefixes, in order.

    Args:
        checkpoint (dict): A loaded checkpoint.
        prefix (str | Sequence[str], optional): Prefixes to strip in order, as a
            list or a comma-separated string. Defaults to None: ``'module.'`` when
            every key has it, then ``'backbone.'`` (dropping the other keys).
        keep_others (bool): Keep keys without the prefix (explicit prefixes
            only). Defaults to False.
    """
    state = unwrap_state_dict(checkpoint)
    if prefix is None:
        if state and all(k.startswith('module.') for k in state):
            state = strip_prefix(state, 'module.')
        if not any(k.startswith('backbone.') for k in state):
            raise ConversionError("no key starts with 'backbone.' (after removing "
                                  "'module.'); give the prefix, e.g. --option "
                                  f'prefix=encoder_q. ; first keys: {list(state)[:5]}')
        return strip_prefix(state, 'backbone.', drop_others=True)
    prefixes = [p for p in prefix.split(',') if p] if isinstance(prefix, str) \
        else list(prefix)
    for p in prefixes:
        state = strip_prefix(state, p, drop_others=not keep_others)
    return state
