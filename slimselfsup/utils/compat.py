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
* ``mmcv-lite`` (the default install) has no compiled ops. mmcv then warns at
  every import of ``mmcv.cnn`` that ``MultiScaleDeformableAttention`` is missing, an
  op nothing here uses; we silence exactly that warning. Where the ops or mmdet are
  really needed (a Mask R-CNN), the import error names the fix instead of a bare
  ``No module named 'mmcv._ext'``.
* mmengine resolves ``_base_ = 'pkg::path'`` only for the OpenMMLab packages it
  lists. We resolve ``slimselfsup::`` to our own configs (installed or checkout),
  so other projects can inherit them as they inherit ``mmpretrain::``.
"""
import importlib.abc
import importlib.machinery
import importlib.metadata
import sys
import warnings

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


#: What to run when mmcv's compiled ops or mmdet are missing.
DET_INSTALL = 'bash tools/install.sh --det'


def hide_lite_ops_warning() -> None:
    """Silence mmcv-lite's ``MultiScaleDeformableAttention`` import warning."""
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``',
        category=UserWarning)


#: The import errors of a lite install, with the fix.
MISSING_OPS = ("mmcv's compiled ops are not installed (this is the lite install, mmcv-lite, "
               'enough for pretraining and evaluation); detection models such as Mask R-CNN '
               f'need them: run `{DET_INSTALL}`')
MISSING_MMDET = f'mmdet is not installed (the lite install has no detection); run `{DET_INSTALL}`'


class _MissingDetectionLoader(importlib.abc.Loader):
    """Fails the import of a module that is not installed with a message that
    names the install command."""

    def __init__(self, message: str) -> None:
        self.message = message

    def create_module(self, spec):
        raise ModuleNotFoundError(self.message, name=spec.name)

    def exec_module(self, module) -> None:  # never reached: create_module raises
        raise ModuleNotFoundError(self.message, name=module.__name__)


class MissingDetectionFinder(importlib.abc.MetaPathFinder):
    """Last entry of ``sys.meta_path``: consulted only when no other finder has
    ``mmdet`` (not installed), so it never shadows an installed module; the import
    then fails with the fix in its message. Its spec has no origin, so mmengine's
    ``is_installed('mmdet')`` still answers False.

    It does not answer for ``mmcv._ext``: mmengine asks ``pkgutil.find_loader('mmcv._ext')``
    whether mmcv's ops exist (``mmcv_full_available``, used by every Runner through
    ``revert_sync_batchnorm``), and a spec there made a lite install look full.
    """

    MESSAGES = {'mmdet': MISSING_MMDET}

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.MESSAGES:
            return None
        return importlib.machinery.ModuleSpec(
            fullname, _MissingDetectionLoader(self.MESSAGES[fullname]))


def explain_missing_detection() -> None:
    """Append :class:`MissingDetectionFinder` to ``sys.meta_path`` (once), and make
    mmcv's loader of its compiled ops (``mmcv.utils.ext_loader.load_ext``, which every
    ``mmcv.ops`` module calls) name the fix when they are missing."""
    if not any(isinstance(f, MissingDetectionFinder) for f in sys.meta_path):
        sys.meta_path.append(MissingDetectionFinder())
    from mmcv.utils import ext_loader
    original = ext_loader.load_ext
    if getattr(original, 'slimselfsup', False):
        return

    def load_ext(name, funcs):
        try:
            return original(name, funcs)
        except ModuleNotFoundError as err:
            if err.name != f'mmcv.{name}':
                raise
            raise ModuleNotFoundError(MISSING_OPS, name=err.name) from None

    load_ext.slimselfsup = True
    ext_loader.load_ext = load_ext


def resolve_slimselfsup_configs() -> None:
    """Make mmengine's ``Config`` resolve ``_base_ = 'slimselfsup::REL'`` to
    ``configs/REL`` of this package; other ``pkg::`` paths are mmengine's.

    The base is read like a local one (no scope returned): mmengine would otherwise add
    ``_scope_`` to every typed dict of it, and its Runner passes that key on to the
    ``collate_fn`` function (``default_collate() got an unexpected keyword argument
    '_scope_'``). Types resolve in the config's ``default_scope``, which our configs
    set to ``slimselfsup``.
    """
    from mmengine.config import Config

    from .resources import config_path
    original = Config.__dict__['_get_cfg_path'].__func__
    if getattr(original, 'slimselfsup', False):
        return

    def _get_cfg_path(cfg_path: str, filename: str):
        scope, sep, name = cfg_path.partition('::')
        if sep and scope == 'slimselfsup':
            return config_path(name), None
        return original(cfg_path, filename)

    _get_cfg_path.slimselfsup = True
    Config._get_cfg_path = staticmethod(_get_cfg_path)


def apply_compat_patches() -> None:
    """Apply every shim once. Called by ``import slimselfsup``."""
    global _APPLIED
    if _APPLIED:
        return
    hide_lite_ops_warning()
    explain_missing_detection()
    resolve_slimselfsup_configs()
    guard_mmpretrain_multimodal()
    patch_numpy_in1d()
    allow_mmengine_checkpoints()
    _APPLIED = True
