"""State-dict helpers shared by the checkpoint converters and the frozen teacher:
find the tensors in a checkpoint, select or rename keys by prefix, and check a key set
against what a model expects, with errors that name the keys."""
from collections import OrderedDict
from typing import Dict, Iterable, Optional, Tuple

import torch

StateDict = Dict[str, torch.Tensor]


class ConversionError(ValueError):
    """The checkpoint is not in the layout the converter expects."""


def unwrap_state_dict(checkpoint: dict,
                      keys: Iterable[str] = ('state_dict', 'model', 'module')) -> StateDict:
    """The tensor dict inside a checkpoint: the first of ``keys`` present, else the
    checkpoint itself when all its values are tensors.

    Raises:
        ConversionError: No state dict could be found (the top-level keys are named).
    """
    for key in keys:
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            return checkpoint[key]
    if isinstance(checkpoint, dict) and checkpoint and all(
            isinstance(v, torch.Tensor) for v in checkpoint.values()):
        return checkpoint
    top = list(checkpoint)[:10] if isinstance(checkpoint, dict) else type(checkpoint)
    raise ConversionError(f'no state dict found in the checkpoint (looked for '
                          f'{list(keys)}); its top-level keys are {top}')


def strip_prefix(state_dict: StateDict, prefix: str,
                 required: bool = True, drop_others: bool = False) -> StateDict:
    """Remove ``prefix`` from the keys that have it.

    Args:
        state_dict (dict): Tensors by name.
        prefix (str): E.g. ``'module.'`` or ``'backbone.'``.
        required (bool): Raise if no key has the prefix. Defaults to True.
        drop_others (bool): Drop keys without the prefix instead of keeping them.
            Defaults to False.
    """
    out: Dict[str, torch.Tensor] = OrderedDict()
    hit = False
    for key, value in state_dict.items():
        if key.startswith(prefix):
            out[key[len(prefix):]] = value
            hit = True
        elif not drop_others:
            out[key] = value
    if required and not hit:
        raise ConversionError(f'no key starts with {prefix!r}; first keys: '
                              f'{list(state_dict)[:5]}')
    return out


def keep_prefixes(state_dict: StateDict, prefixes: Tuple[str, ...],
                  strip: str = '') -> StateDict:
    """The keys that start with one of ``prefixes``, with ``strip`` removed from
    their start; the state dict unchanged when no key has one of them (strict
    loading then names its keys as unexpected).

    Args:
        state_dict (dict): Tensors by name, e.g. a whole training checkpoint.
        prefixes (tuple[str]): E.g. ``('backbone.', 'neck.')``.
        strip (str): A common start of ``prefixes`` to remove. Defaults to ''.
    """
    if not any(k.startswith(prefixes) for k in state_dict):
        return state_dict
    return OrderedDict((k[len(strip):], v) for k, v in state_dict.items()
                       if k.startswith(prefixes))


def add_prefix(state_dict: StateDict, prefix: str) -> StateDict:
    """The same tensors with ``prefix`` in front of every key."""
    return OrderedDict((prefix + k, v) for k, v in state_dict.items())


def check_keys(state_dict: StateDict, expected: Iterable[str],
               what: Optional[str] = None) -> None:
    """Raise :class:`ConversionError` naming missing and unexpected keys."""
    have, want = set(state_dict), set(expected)
    missing, unexpected = sorted(want - have), sorted(have - want)
    if missing or unexpected:
        raise ConversionError(
            f'{what or "checkpoint"} does not match: missing keys {missing[:10]}'
            f'{" ..." if len(missing) > 10 else ""} ({len(missing)}), unexpected keys '
            f'{unexpected[:10]}{" ..." if len(unexpected) > 10 else ""} '
            f'({len(unexpected)})')
