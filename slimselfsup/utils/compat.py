"""Fixes for the library versions this toolbox runs on, applied once at import.

Each shim is narrow, idempotent and documented with the failure it prevents:

* ``transformers >= 5``: mmpretrain 1.2.0's multimodal models subclass a
  ``PreTrainedModel`` that is ``None`` there, so ``import mmpretrain.models`` crashes.
  We switch mmpretrain's multimodal branch off before its models are imported; this
  toolbox uses none of them.
* ``numpy >= 2.4`` removed ``np.in1d`` (mmpretrain's retrieval metrics call it). We
  alias it to :func:`numpy.isin` on flattened input, which is what ``in1d`` returned.
* ``torch >= 2.6`` loads checkpoints with ``weights_only=True``; mmengine's own
  checkpoints hold a :class:`~mmengine.logging.HistoryBuffer` and numpy arrays in
  their ``message_hub`` and fail with ``Unsupported global``. Rather than turning the
  safety off, we allow-list exactly those classes with
  :func:`torch.serialization.add_safe_globals`.
"""
import importlib.metadata
import sys

import numpy as np
import torch

_APPLIED = False


def _transformers_major() -> int:
    try:
        return int(importlib.metadata.version('transformers').split('.')[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return 0


def guard_mmpretrain_multimodal() -> None:
    """Disable mmpretrain's multimodal models when transformers >= 5 is installed."""
    if _transformers_major() < 5:
        return
    if 'mmpretrain.models' in sys.modules:
        # Too late to guard; mmpretrain.models imported fine, so nothing to do.
        return
    from mmpretrain.utils import dependency
    dependency.WITH_MULTIMODAL = False


def patch_numpy_in1d() -> None:
    """Restore ``np.in1d`` on numpy >= 2.4 as a thin alias of ``np.isin``."""
    if hasattr(np, 'in1d'):
        return

    def in1d(ar1, ar2, assume_unique: bool = False, invert: bool = False):
        return np.isin(np.ravel(ar1), ar2, assume_unique=assume_unique,
                       invert=invert)

    np.in1d = in1d


def checkpoint_safe_globals() -> list:
    """Classes that mmengine checkpoints contain besides tensors."""
    from mmengine.logging.history_buffer import HistoryBuffer
    safe = [HistoryBuffer, np.ndarray, np.dtype]
    multiarray = getattr(np, '_core', None)
    multiarray = getattr(multiarray, 'multiarray', None) or np.core.multiarray
    safe += [multiarray._reconstruct, multiarray.scalar]
    # numpy >= 1.25 pickles dtypes as instances of per-type classes (np.dtypes.*).
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        safe += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]

    # HistoryBuffer.__getstate__ pickles its `statistics_methods`
    # ({'min': HistoryBuffer.min, ...}); pickle protocol 2 (torch.save's default)
    # writes such nested-qualname functions as `getattr(HistoryBuffer, 'min')`, so
    # every checkpoint with a message hub needs the global `builtins.getattr`. The
    # real getattr must never be allow-listed (it reaches any attribute, hence
    # arbitrary code), so that name is bound to a getattr limited to these methods.
    def history_buffer_getattr(obj, name):
        if obj is HistoryBuffer and name in ('min', 'max', 'mean', 'current'):
            return getattr(obj, name)
        import pickle
        raise pickle.UnpicklingError(
            f'weights_only checkpoint loading refuses getattr({obj!r}, {name!r}); '
            'only the statistics methods of HistoryBuffer are allowed')

    safe.append((history_buffer_getattr, 'builtins.getattr'))
    return safe


def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` read mmengine's training checkpoints."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(checkpoint_safe_globals())


def apply_compat_patches() -> None:
    """Apply every shim once. Called by ``import slimselfsup``."""
    global _APPLIED
    if _APPLIED:
        return
    guard_mmpretrain_multimodal()
    patch_numpy_in1d()
    allow_mmengine_checkpoints()
    _APPLIED = True
