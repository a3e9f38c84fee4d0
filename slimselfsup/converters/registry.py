"""The table of checkpoint converters; the state-dict helpers they share live in
:mod:`slimselfsup.utils.state_dict` (the models use them too, without the converters)."""
from collections import OrderedDict
from typing import Callable, Dict

from slimselfsup.utils.state_dict import (ConversionError, StateDict, add_prefix,  # noqa: F401
                                          check_keys, keep_prefixes, strip_prefix,
                                          unwrap_state_dict)

#: name -> (function, one-line help). Filled by :func:`register_converter`.
CONVERTERS: Dict[str, tuple] = OrderedDict()


def register_converter(name: str, help: str) -> Callable:
    """Register ``fn(checkpoint: dict, **options) -> state_dict`` under ``name``.

    Args:
        name (str): Sub-command name of ``tools/convert_ckpt.py``.
        help (str): One line shown by ``tools/convert_ckpt.py --help``.
    """

    def decorator(fn: Callable) -> Callable:
        if name in CONVERTERS:
            raise KeyError(f'converter {name!r} is already registered')
        CONVERTERS[name] = (fn, help)
        return fn

    return decorator


def convert(name: str, checkpoint: dict, **options) -> StateDict:
    """Run the converter ``name`` on a loaded checkpoint.

    Raises:
        KeyError: ``name`` is not a registered converter (the message lists them).
    """
    if name not in CONVERTERS:
        raise KeyError(f'unknown converter {name!r}; available: {", ".join(CONVERTERS)}')
    return CONVERTERS[name][0](checkpoint, **options)
