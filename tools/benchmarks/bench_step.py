"""Time the training step of slimselfsup models next to mmpretrain's equivalents.

What is timed is the *model step* only: ``model.loss(inputs, data_samples)`` (which
includes the momentum-encoder and queue updates of MoCo-style methods), the backward
pass and the optimizer step (``OptimWrapper.update_params``). The batch is synthetic,
already on the device and already in the form the data preprocessor produces
(normalised float tensors; a list of views for multi-view methods), so data loading,
augmentation and preprocessing are deliberately excluded.

Both models are built in the same process from their own configs (ours from a
slimselfsup config, the baseline from one of mmpretrain's packaged configs) with the
same batch size, image size, precision and optimizer settings.

Examples::

    # named pairings (see --help for the list)
    python tools/benchmarks/bench_step.py --preset mocov2_r50 --device cuda --bf16
    python tools/benchmarks/bench_step.py --preset tiny --device cpu --out tiny.json

    # any config against any mmpretrain config
    python tools/benchmarks/bench_step.py \\
        configs/mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py \\
        --mmpretrain-config \\
        mmpretrain::mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py \\
        --batch-size 256 --img-size 224
"""
from __future__ import annotations

import argparse
import copy
import datetime
import gc
import inspect
import json
import math
import os
import os.path as osp
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import (Any, Callable, ContextManager, Dict, List, Optional, Sequence,
                    Tuple, Union)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
from mmengine.config import Config, ConfigDict, DictAction  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from mmengine.model import revert_sync_batchnorm  # noqa: E402
from mmengine.optim import OptimWrapper, build_optim_wrapper  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from torch import nn  # noqa: E402

import slimselfsup  # noqa: E402,F401  (applies compatibility shims)
from slimselfsup.apis import load_config  # noqa: E402

MMPRETRAIN_PREFIX = 'mmpretrain::'
OURS = 'ours'
BASELINE = 'mmpretrain'
DEFAULT_ITERS = 50
DEFAULT_WARMUP = 10

Inputs = Union[torch.Tensor, List[torch.Tensor]]


# --------------------------------------------------------------------------- presets
def _resnet_cifar(depth: int = 18, width: int = 64, zero_init_residual: bool = True
                  ) -> dict:
    """Backbone override: mmpretrain's ``ResNet_CIFAR`` (3x3 stem, no max-pool)."""
    return dict(_delete_=True, type='ResNet_CIFAR', depth=depth, stem_channels=width,
                base_channels=width, norm_cfg=dict(type='BN'),
                zero_init_residual=zero_init_residual)


@dataclass(frozen=True)
class Case:
    """One benchmark: our config against mmpretrain's, at one batch and image size.

    Args:
        name (str): Short name shown in the table.
        ours_config (str, optional): slimselfsup config; None when we have no
            implementation yet (the row is reported as n/a).
        mmp_config (str, optional): mmpretrain config (``mmpretrain::`` prefix for
            the configs packaged with mmpretrain); None to skip the baseline.
        batch_size (int): Images per step (each with all its views).
        img_size (int): Side of the square synthetic images.
        ours_overrides (dict): ``merge_from_dict`` overrides for our config.
        mmp_overrides (dict): ``merge_from_dict`` overrides for mmpretrain's config.
        iters (int): Timed steps.
        warmup (int): Untimed steps before timing (compilation, cuDNN autotuning).
    """

    name: str
    ours_config: Optional[str]
    mmp_config: Optional[str]
    batch_size: int
    img_size: int
    ours_overrides: Dict[str, Any] = field(default_factory=dict)
    mmp_overrides: Dict[str, Any] = field(default_factory=dict)
    iters: int = DEFAULT_ITERS
    warmup: int = DEFAULT_WARMUP


@dataclass(frozen=True)
class Preset:
    """A named list of cases, so users need not know the config pairing."""

    description: str
    cases: Tuple[Case, ...]


_OURS_MOCOV2_R50 = 'configs/mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py'
_OURS_MOCOV2_CIFAR = 'configs/mocov2/mocov2_resnet18-cifar_1xb512-coslr-200e_cifar10.py'
_OURS_SIMCLR_CIFAR = 'configs/simclr/simclr_resnet18-cifar_1xb512-coslr-200e_cifar10.py'
_MMP_MOCOV2 = MMPRETRAIN_PREFIX + 'mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py'
_MMP_SIMCLR = MMPRETRAIN_PREFIX + 'simclr/simclr_resnet50_16xb256-coslr-200e_in1k.py'
_MMP_MAE_VITB = MMPRETRAIN_PREFIX + 'mae/mae_vit-base-p16_8xb512-amp-coslr-300e_in1k.py'
_OURS_TEC_VITB = 'configs/tec/tec-mae_vit-base-p16_8xb256-accum2-amp-coslr-300e_in1k.py'
# TEC's base model keeps random weights (no checkpoint) and one step per update
_TEC_BENCH = {'model.target_generator.checkpoint': None,
              'optim_wrapper.accumulative_counts': 1}
_TINY_WIDTH = 16  # ResNet-18 with 16-32-64-128 channels: a CPU-sized network
_TINY_NECK = {'model.neck.in_channels': 8 * _TINY_WIDTH,
              'model.neck.hid_channels': 8 * _TINY_WIDTH}
_TINY_MOCOV2 = {'model.backbone': _resnet_cifar(width=_TINY_WIDTH,
                                                zero_init_residual=False),
                'model.queue_len': 64, **_TINY_NECK}
_TINY_SIMCLR = {'model.backbone': _resnet_cifar(width=_TINY_WIDTH), **_TINY_NECK}

PRESETS: Dict[str, Preset] = {
    'mocov2_r50': Preset(
        'MoCo v2 ResNet-50, batch 256, 224 px',
        (Case('mocov2_r50',
              ours_config=_OURS_MOCOV2_R50, mmp_config=_MMP_MOCOV2,
              batch_size=256, img_size=224),)),
    'simclr_r18_cifar': Preset(
        'SimCLR ResNet-18 (CIFAR stem), batch 512, 32 px',
        (Case('simclr_r18_cifar',
              ours_config=_OURS_SIMCLR_CIFAR, mmp_config=_MMP_SIMCLR,
              mmp_overrides={'model.backbone': _resnet_cifar(),
                             'model.neck.in_channels': 512},
              batch_size=512, img_size=32),)),
    'mae_vitb': Preset(
        'MAE ViT-B/16, batch 256, 224 px (mmpretrain only: no slimselfsup MAE yet)',
        (Case('mae_vitb', ours_config=None, mmp_config=_MMP_MAE_VITB,
              batch_size=256, img_size=224),)),
    'tec_vitb': Preset(
        'TEC ViT-B/16 from a frozen ViT-B/16 base next to mmpretrain MAE ViT-B/16, '
        'batch 256, 224 px',
        (Case('tec_vitb', ours_config=_OURS_TEC_VITB, mmp_config=_MMP_MAE_VITB,
              ours_overrides=_TEC_BENCH, batch_size=256, img_size=224),)),
    'tiny': Preset(
        'CPU smoke test for CI: MoCo v2 and SimCLR on a narrow ResNet-18, batch 8, '
        '32 px, 2 iters',
        (Case('tiny_mocov2',
              ours_config=_OURS_MOCOV2_CIFAR, mmp_config=_MMP_MOCOV2,
              ours_overrides=_TINY_MOCOV2, mmp_overrides=_TINY_MOCOV2,
              batch_size=8, img_size=32, iters=2, warmup=1),
         Case('tiny_simclr',
              ours_config=_OURS_SIMCLR_CIFAR, mmp_config=_MMP_SIMCLR,
              ours_overrides=_TINY_SIMCLR, mmp_overrides=_TINY_SIMCLR,
              batch_size=8, img_size=32, iters=2, warmup=1)),
    ),
}


def preset_help() -> str:
    """One line per preset: ``name: description``."""
    return '; '.join(f'{name}: {p.description}' for name, p in PRESETS.items())


# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class Settings:
    """Run-wide options shared by every model of the run."""

    device: torch.device
    bf16: bool
    channels_last: bool
    compile: bool
    fused: bool
    tf32: bool
    seed: int

    @property
    def precision(self) -> str:
        """Human-readable precision label."""
        if self.bf16:
            return 'bf16 autocast'
        return 'fp32/tf32' if self.device.type == 'cuda' and self.tf32 else 'fp32'


@dataclass
class Row:
    """Result of one model of one case (one table row / JSON record)."""

    case: str
    impl: str
    status: str  # 'ok', 'n/a' (no implementation) or 'oom'
    config: Optional[str] = None
    model_type: Optional[str] = None
    batch_size: int = 0
    img_size: int = 0
    views: int = 0
    unit: str = 'samples/s'
    throughput: Optional[float] = None
    ms_median: Optional[float] = None
    ms_mean: Optional[float] = None
    ms_min: Optional[float] = None
    peak_mem_mib: Optional[float] = None
    mem_kind: Optional[str] = None
    optimizer: Optional[str] = None
    fused: bool = False
    compiled: Optional[str] = None
    iters: int = 0
    warmup: int = 0
    warmup_s: Optional[float] = None
    note: str = ''


# --------------------------------------------------------------------------- configs
def resolve_config(path: str) -> str:
    """Resolve ``mmpretrain::<method>/<file>.py`` to mmpretrain's packaged config.

    Args:
        path (str): A file path, or a path relative to mmpretrain's ``.mim/configs``
            prefixed with ``mmpretrain::``.

    Returns:
        str: An existing file path.
    """
    if path.startswith(MMPRETRAIN_PREFIX):
        import mmpretrain
        root = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs')
        path = osp.join(root, path[len(MMPRETRAIN_PREFIX):])
    elif not osp.isabs(path) and not osp.exists(path):
        path = osp.join(REPO_ROOT, path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'config not found: {path}')
    return path


def load(path: str, overrides: Dict[str, Any],
         cfg_options: Optional[Dict[str, Any]]) -> Config:
    """Load a config, apply the preset's overrides, then the user's ``--cfg-options``.

    Args:
        path (str): Config path (``mmpretrain::`` prefix allowed).
        overrides (dict): Preset overrides (``_delete_`` replaces a sub-dict).
        cfg_options (dict, optional): User overrides; keys must exist.

    Returns:
        Config: The merged config.
    """
    cfg = load_config(resolve_config(path))
    if overrides:
        cfg.merge_from_dict(copy.deepcopy(overrides))
    if cfg_options:
        cfg = _apply_user_options(cfg, cfg_options)
    return cfg


def _apply_user_options(cfg: Config, cfg_options: Dict[str, Any]) -> Config:
    """Apply ``--cfg-options`` with slimselfsup's check that every key exists."""
    unknown = [k for k in cfg_options if not _has_dotted_key(cfg.to_dict(), k)]
    if unknown:
        raise KeyError(f'--cfg-options key(s) {unknown} do not exist in '
                       f'{cfg.filename}')
    cfg.merge_from_dict(cfg_options)
    return cfg


def _has_dotted_key(node: Any, dotted: str) -> bool:
    for part in dotted.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


def _walk_pipeline(cfg: Config) -> List[dict]:
    """All transform dicts of the training pipeline, nested ones included."""
    found: List[dict] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if 'type' in node:
                found.append(node)
            for value in node.values():
                visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value)

    loader = cfg.get('train_dataloader') or {}
    visit((loader.get('dataset') or {}).get('pipeline', []))
    return found


def infer_views(cfg: Config) -> int:
    """Views per image from the training pipeline's ``MultiView`` (1 without one)."""
    for t in _walk_pipeline(cfg):
        if t['type'] == 'MultiView':
            n = t.get('num_views', 1)
            return int(sum(n)) if isinstance(n, (list, tuple)) else int(n)
    return 1


def infer_img_size(cfg: Config, default: int = 224) -> int:
    """Crop size of the training pipeline's ``RandomResizedCrop`` if any."""
    for t in _walk_pipeline(cfg):
        if t['type'] == 'RandomResizedCrop' and isinstance(t.get('scale'), int):
            return int(t['scale'])
    return default


def _registries(scope: str):
    """The registry module of a config's ``default_scope``."""
    if scope == 'slimselfsup':
        import slimselfsup.registry as registry
    elif scope == 'mmpretrain':
        import mmpretrain.registry as registry
    else:
        raise ValueError(f'unsupported default_scope {scope!r} (slimselfsup or '
                         'mmpretrain)')
    return registry


# --------------------------------------------------------------------------- building
def build_model(cfg: Config, settings: Settings) -> nn.Module:
    """Build, initialise and place a model; SyncBN becomes BN (single process).

    Args:
        cfg (Config): Full config; ``default_scope`` picks the registry.
        settings (Settings): Device, memory format and compilation.

    Returns:
        nn.Module: The model in training mode.
    """
    scope = cfg.get('default_scope', 'mmpretrain')
    with DefaultScope.overwrite_default_scope(scope):
        model = _registries(scope).MODELS.build(cfg.model)
        model = revert_sync_batchnorm(model)
        model.init_weights()
    model = model.to(settings.device)
    if settings.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if settings.compile:
        model.backbone.compile()  # in place: parameter names stay unchanged
    return model.train()


def build_optimizer(model: nn.Module, optim_cfg: ConfigDict, scope: str,
                    fused: bool) -> Tuple[OptimWrapper, bool]:
    """Build the config's optimizer (LARS, paramwise rules ...) in a plain wrapper.

    Mixed precision is the benchmark's own ``--bf16`` switch, so an
    ``AmpOptimWrapper`` of the config becomes an ``OptimWrapper``.

    Args:
        model (nn.Module): Model to optimise.
        optim_cfg (ConfigDict): The config's ``optim_wrapper``.
        scope (str): ``default_scope`` of the config that ``optim_cfg`` came from.
        fused (bool): Ask for ``fused=True`` when the optimizer accepts it.

    Returns:
        tuple[OptimWrapper, bool]: The wrapper and whether it is fused.
    """
    cfg = copy.deepcopy(optim_cfg.to_dict() if isinstance(optim_cfg, ConfigDict)
                        else dict(optim_cfg))
    cfg['type'] = 'OptimWrapper'
    for amp_only in ('loss_scale', 'dtype', 'use_fsdp'):
        cfg.pop(amp_only, None)
    use_fused = False
    with DefaultScope.overwrite_default_scope(scope):
        if fused:
            optim_cls = _registries(scope).OPTIMIZERS.get(cfg['optimizer']['type'])
            use_fused = (optim_cls is not None and 'fused' in
                         inspect.signature(optim_cls.__init__).parameters)
            if use_fused:
                cfg['optimizer']['fused'] = True
        return build_optim_wrapper(model, cfg), use_fused


def make_inputs(views: int, batch_size: int, img_size: int,
                settings: Settings) -> Inputs:
    """A synthetic batch in the data preprocessor's output format, on the device.

    Args:
        views (int): Views per image; 1 gives a tensor, more a list of tensors.
        batch_size (int): Images per view.
        img_size (int): Image side.
        settings (Settings): Device and memory format.

    Returns:
        torch.Tensor | list[torch.Tensor]: Normalised float ``(B, 3, S, S)`` tensors.
    """
    gen = torch.Generator().manual_seed(settings.seed)
    fmt = torch.channels_last if settings.channels_last else torch.contiguous_format

    def view() -> torch.Tensor:
        x = torch.randn(batch_size, 3, img_size, img_size, generator=gen)
        return x.to(settings.device).contiguous(memory_format=fmt)

    return view() if views == 1 else [view() for _ in range(views)]


def total_loss(losses: Dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum of the entries whose key contains ``loss`` (mmengine's convention)."""
    parts = [v for k, v in losses.items() if 'loss' in k]
    if not parts:
        raise KeyError(f'model.loss returned no loss entry: {sorted(losses)}')
    return sum(parts[1:], parts[0])


def make_step(model: nn.Module, optim_wrapper: OptimWrapper, inputs: Inputs,
              data_samples: list, settings: Settings) -> Callable[[], None]:
    """The timed training step: loss (under autocast), backward, optimizer step."""
    def autocast() -> ContextManager:
        if settings.bf16:
            return torch.autocast(settings.device.type, dtype=torch.bfloat16)
        return nullcontext()

    def step() -> None:
        with autocast():
            losses = model.loss(inputs, data_samples)
        optim_wrapper.update_params(total_loss(losses))

    return step


# --------------------------------------------------------------------------- measuring
class MemoryMeter:
    """Peak memory of one model: CUDA allocator peak, or peak-RSS growth on CPU.

    On CPU the process's peak RSS (``resource.getrusage().ru_maxrss``) is reset
    through ``/proc/self/clear_refs`` where Linux allows it, so each model's
    number is its own high-water mark above the RSS at its start. Where the reset
    is not possible the delta is relative to the process-wide high-water mark and
    can under-count models that run after a larger one.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.start_kib = 0
        self.reset_ok = False

    @property
    def kind(self) -> str:
        """Label of what is measured."""
        if self.device.type == 'cuda':
            return 'cuda max_memory_allocated'
        return ('cpu peak RSS delta (getrusage, peak reset)' if self.reset_ok else
                'cpu peak RSS delta (getrusage, process high-water mark)')

    def start(self) -> None:
        """Free what earlier models left and start measuring."""
        gc.collect()
        if self.device.type == 'cuda':
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        _release_freed_heap()
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')  # reset the peak RSS of this process (Linux >= 4.0)
            self.reset_ok = True
        except OSError:
            self.reset_ok = False
        self.start_kib = _maxrss_kib()

    def peak_mib(self) -> float:
        """Peak memory since :meth:`start`, in MiB."""
        if self.device.type == 'cuda':
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        return max(_maxrss_kib() - self.start_kib, 0) / 1024


def _release_freed_heap() -> None:
    """Return freed heap pages to the OS (glibc ``malloc_trim``), best effort.

    Without it, memory an earlier model freed stays in the RSS and hides part of
    the next model's usage from a peak-RSS delta.
    """
    if not sys.platform.startswith('linux'):
        return
    try:
        import ctypes
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _maxrss_kib() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss // 1024 if sys.platform == 'darwin' else rss  # macOS reports bytes


def time_steps(step: Callable[[], None], iters: int, warmup: int,
               device: torch.device) -> Tuple[List[float], float]:
    """Run ``warmup`` untimed steps, then time ``iters`` steps one by one.

    Args:
        step (callable): One training step.
        iters (int): Timed steps.
        warmup (int): Untimed steps.
        device (torch.device): On CUDA every timed step is bracketed by
            ``torch.cuda.synchronize()``.

    Returns:
        tuple[list[float], float]: Seconds of each timed step, seconds of warm-up.
    """
    def sync() -> None:
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    sync()
    t0 = time.perf_counter()
    for _ in range(warmup):
        step()
    sync()
    warmup_s = time.perf_counter() - t0
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    return times, warmup_s


def bench_model(case: Case, impl: str, cfg: Config, optim_cfg: ConfigDict,
                optim_scope: str, batch_size: int, img_size: int, iters: int,
                warmup: int, settings: Settings, config_path: str) -> Row:
    """Build one model and time its training step.

    Args:
        case (Case): The case it belongs to.
        impl (str): ``ours`` or ``mmpretrain``.
        cfg (Config): The model's config.
        optim_cfg (ConfigDict): ``optim_wrapper`` config (shared by both models).
        optim_scope (str): ``default_scope`` of the config ``optim_cfg`` came from.
        batch_size (int): Images per step.
        img_size (int): Image side.
        iters (int): Timed steps.
        warmup (int): Untimed steps.
        settings (Settings): Run-wide options.
        config_path (str): Config path as given, for the report.

    Returns:
        Row: The measurement.
    """
    views = infer_views(cfg)
    row = Row(case=case.name, impl=impl, status='ok', config=config_path,
              model_type=f"{cfg.get('default_scope', 'mmpretrain')}."
              f"{cfg.model['type']}",
              batch_size=batch_size, img_size=img_size, views=views,
              unit='pairs/s' if views == 2 else
              ('samples/s' if views == 1 else f'{views}-view samples/s'),
              optimizer=optim_cfg['optimizer']['type'], iters=iters, warmup=warmup,
              compiled='backbone' if settings.compile else None)
    meter = MemoryMeter(settings.device)
    meter.start()
    try:
        times, row.warmup_s, row.fused = _build_and_time(
            cfg, optim_cfg, optim_scope, views, batch_size, img_size, iters, warmup,
            settings)
    except torch.cuda.OutOfMemoryError as exc:
        row.status, row.note = 'oom', str(exc).splitlines()[0]
        return row
    finally:
        # Everything the step used was local to _build_and_time and is freed now;
        # the peak is a high-water mark, so reading it afterwards is exact.
        row.peak_mem_mib = meter.peak_mib()
        row.mem_kind = meter.kind
        gc.collect()
        if settings.device.type == 'cuda':
            torch.cuda.empty_cache()
    median = statistics.median(times)
    row.ms_median = 1000 * median
    row.ms_mean = 1000 * statistics.fmean(times)
    row.ms_min = 1000 * min(times)
    row.throughput = batch_size / median
    return row


def _build_and_time(cfg: Config, optim_cfg: ConfigDict, optim_scope: str,
                    views: int, batch_size: int, img_size: int, iters: int,
                    warmup: int, settings: Settings
                    ) -> Tuple[List[float], float, bool]:
    """Build model, optimizer and batch, then time the step (see bench_model).

    Returns:
        tuple[list[float], float, bool]: Step times (s), warm-up time (s) and
        whether the optimizer is fused.
    """
    from mmpretrain.structures import DataSample

    torch.manual_seed(settings.seed)
    model = build_model(cfg, settings)
    optim_wrapper, fused = build_optimizer(model, optim_cfg, optim_scope,
                                           settings.fused)
    inputs = make_inputs(views, batch_size, img_size, settings)
    data_samples = [DataSample() for _ in range(batch_size)]
    step = make_step(model, optim_wrapper, inputs, data_samples, settings)
    times, warmup_s = time_steps(step, iters, warmup, settings.device)
    return times, warmup_s, fused


def run_case(case: Case, args: argparse.Namespace, settings: Settings) -> List[Row]:
    """Benchmark our model and mmpretrain's for one case (ours first).

    Both models use the optimizer settings of our config (mmpretrain's when we have
    no config), so the two steps do the same optimizer work.

    Returns:
        list[Row]: One row per model, n/a rows included.
    """
    ours_cfg = (load(case.ours_config, case.ours_overrides, args.cfg_options)
                if case.ours_config else None)
    mmp_cfg = (load(case.mmp_config, case.mmp_overrides, args.mmpretrain_cfg_options)
               if case.mmp_config and not args.no_baseline else None)
    reference = ours_cfg if ours_cfg is not None else mmp_cfg
    if reference is None:
        raise ValueError(f'case {case.name} has nothing to run')
    batch_size = args.batch_size or case.batch_size or int(
        reference.train_dataloader.batch_size)
    img_size = args.img_size or case.img_size or infer_img_size(reference)
    iters = args.iters if args.iters is not None else case.iters
    warmup = args.warmup if args.warmup is not None else case.warmup
    optim_cfg = reference.optim_wrapper
    optim_scope = reference.get('default_scope', 'mmpretrain')

    rows = []
    for impl, cfg, path in ((OURS, ours_cfg, case.ours_config),
                            (BASELINE, mmp_cfg, case.mmp_config)):
        if cfg is None:
            if impl == OURS:
                rows.append(Row(case=case.name, impl=impl, status='n/a',
                                batch_size=batch_size, img_size=img_size,
                                note='no slimselfsup implementation yet'))
            continue
        print(f'[{case.name}] {impl}: {path}', file=sys.stderr, flush=True)
        rows.append(bench_model(case, impl, cfg, optim_cfg, optim_scope, batch_size,
                                img_size, iters, warmup, settings, path))
    return rows


def speedups(rows: Sequence[Row]) -> Dict[str, Optional[float]]:
    """Throughput of ours over mmpretrain's per case (None when either is missing)."""
    out: Dict[str, Optional[float]] = {}
    for case in dict.fromkeys(r.case for r in rows):
        by_impl = {r.impl: r for r in rows if r.case == case}
        ours, base = by_impl.get(OURS), by_impl.get(BASELINE)
        ok = (ours is not None and base is not None and ours.throughput
              and base.throughput)
        out[case] = ours.throughput / base.throughput if ok else None
    return out


# --------------------------------------------------------------------------- reporting
def device_name(device: torch.device) -> str:
    """GPU name, or the CPU model with the number of torch threads."""
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    name = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    name = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return f'{name} ({torch.get_num_threads()} threads)'


def _git_commit() -> Optional[str]:
    try:
        out = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _fmt(value: Optional[float], digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return 'n/a'
    return f'{value:,.{digits}f}'


def markdown_table(rows: Sequence[Row], ratios: Dict[str, Optional[float]],
                   settings: Settings) -> str:
    """The results as a GitHub markdown table, with a footnote on memory."""
    header = ['case', 'impl', 'model', 'batch', 'img', 'precision', 'throughput',
              'ms/step (median)', 'peak mem (MiB)', 'speed-up ours/mmpretrain']
    lines = []
    for r in rows:
        ratio = ratios.get(r.case) if r.impl == OURS else None
        lines.append([
            r.case, r.impl, r.model_type or 'n/a', str(r.batch_size),
            str(r.img_size), settings.precision if r.status == 'ok' else 'n/a',
            (f'{_fmt(r.throughput)} {r.unit}' if r.status == 'ok' else r.status),
            _fmt(r.ms_median, 2), _fmt(r.peak_mem_mib),
            f'{ratio:.2f}x' if ratio else ('n/a' if r.impl == OURS else '-'),
        ])
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
              for i, h in enumerate(header)]

    def fmt(cells: Sequence[str]) -> str:
        return '| ' + ' | '.join(c.ljust(w) for c, w in zip(cells, widths)) + ' |'

    table = [fmt(header), '|' + '|'.join('-' * (w + 2) for w in widths) + '|']
    table += [fmt(line) for line in lines]
    mem_kinds = sorted({r.mem_kind for r in rows if r.mem_kind})
    notes = [f'peak mem: {", ".join(mem_kinds)}' if mem_kinds else '',
             'throughput = batch size / median step time; pairs/s counts images '
             'with 2 views each; model step only (synthetic on-device batch, no '
             'data loading or preprocessing)']
    return '\n'.join(table + [''] + [f'* {n}' for n in notes if n])


def report(rows: List[Row], settings: Settings, args: argparse.Namespace,
           argv: Sequence[str]) -> Dict[str, Any]:
    """Everything the JSON output holds."""
    import mmengine
    import mmpretrain
    return {
        'meta': {
            'date': datetime.date.today().isoformat(),
            'command': 'python tools/benchmarks/bench_step.py ' + shlex.join(argv),
            'device': device_name(settings.device),
            'device_type': settings.device.type,
            'precision': settings.precision,
            'channels_last': settings.channels_last,
            'compile': 'backbone' if settings.compile else None,
            'fused_requested': settings.fused,
            'cudnn_benchmark': settings.device.type == 'cuda',
            'torch': torch.__version__,
            'mmengine': mmengine.__version__,
            'mmpretrain': mmpretrain.__version__,
            'slimselfsup': slimselfsup.__version__,
            'commit': _git_commit(),
            'preset': args.preset,
            'measures': 'model step only: loss (incl. momentum/queue updates) + '
                        'backward + optimizer step on a synthetic on-device batch',
        },
        'rows': [asdict(r) for r in rows],
        'speedup_ours_over_mmpretrain': speedups(rows),
    }


# --------------------------------------------------------------------------- CLI
def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(
        description='Time the training step (loss incl. momentum/queue updates + '
        'backward + optimizer step) of a slimselfsup model and of mmpretrain\'s '
        'equivalent on synthetic on-device batches. Data loading is not measured.')
    parser.add_argument('config', nargs='?',
                        help='our config (omit when using --preset)')
    parser.add_argument('--preset', help=f'named pairing instead of CONFIG. '
                        f'{preset_help()}')
    base = parser.add_mutually_exclusive_group()
    base.add_argument('--mmpretrain-config', help='baseline config; a path or '
                      f'{MMPRETRAIN_PREFIX}<method>/<file>.py for the configs '
                      'packaged with mmpretrain')
    base.add_argument('--no-baseline', action='store_true',
                      help='time our model only')
    parser.add_argument('--batch-size', type=int,
                        help='images per step, each with all its views (default: '
                        'the preset\'s, else the config\'s train batch size)')
    parser.add_argument('--img-size', type=int,
                        help='image side (default: the preset\'s, else the crop '
                        'size of the config\'s pipeline, else 224)')
    parser.add_argument('--iters', type=int, help=f'timed steps (default: preset, '
                        f'else {DEFAULT_ITERS})')
    parser.add_argument('--warmup', type=int, help=f'untimed steps before timing '
                        f'(default: preset, else {DEFAULT_WARMUP})')
    parser.add_argument('--device', choices=['cuda', 'cpu'],
                        help='default: cuda when available')
    parser.add_argument('--bf16', action='store_true',
                        help='run the loss under torch.autocast(dtype=bfloat16); '
                        'an AmpOptimWrapper of the config is used as a plain '
                        'OptimWrapper in every mode')
    parser.add_argument('--no-tf32', action='store_true',
                        help='on CUDA, disable TF32 matmuls/convolutions (on by '
                        'default, as mmpretrain\'s numbers are fp32/tf32)')
    parser.add_argument('--channels-last', action='store_true',
                        help='convert models and inputs to channels_last')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the online backbone in place '
                        '(model.backbone.compile()); momentum encoders, necks, '
                        'heads, queues and the loss stay eager')
    parser.add_argument('--fused', action='store_true',
                        help='pass fused=True to the optimizer when it accepts it '
                        '(torch SGD/Adam/AdamW; meant for CUDA); others are '
                        'reported unfused')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--verbose', action='store_true',
                        help='keep mmengine\'s INFO logs (optimizer param groups ...)')
    parser.add_argument('--out', help='write the results as JSON to this file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides for our config, key=value')
    parser.add_argument('--mmpretrain-cfg-options', nargs='+', action=DictAction,
                        help='overrides for the mmpretrain config, key=value')
    args = parser.parse_args(argv)

    if args.preset is not None:
        if args.preset not in PRESETS:
            parser.error(f'unknown preset {args.preset!r}; valid presets are: '
                         f'{", ".join(PRESETS)}')
        if args.config or args.mmpretrain_config:
            parser.error('--preset picks both configs; do not also give CONFIG or '
                         '--mmpretrain-config')
    elif args.config is None:
        parser.error(f'give CONFIG or --preset ({", ".join(PRESETS)})')
    elif args.mmpretrain_config is None and not args.no_baseline:
        parser.error('give --mmpretrain-config for the baseline, or --no-baseline')
    for name in ('batch_size', 'img_size', 'iters'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    if args.warmup is not None and args.warmup < 0:
        parser.error('--warmup must be >= 0')
    if args.device is None:
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device available')
    return args


def cases_from_args(args: argparse.Namespace) -> Tuple[Case, ...]:
    """The preset's cases, or one case built from CONFIG / --mmpretrain-config."""
    if args.preset is not None:
        return PRESETS[args.preset].cases
    name = osp.splitext(osp.basename(args.config))[0]
    return (Case(name, ours_config=args.config, mmp_config=args.mmpretrain_config,
                 batch_size=0, img_size=0),)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Run the benchmark, print the table, optionally write JSON."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    from slimselfsup.utils import register_all_modules
    register_all_modules()
    # print_log(logger='current') goes to the newest MMLogger: this one.
    MMLogger.get_instance('bench_step', log_level='INFO' if args.verbose else 'WARNING')

    device = torch.device(args.device)
    settings = Settings(device=device, bf16=args.bf16,
                        channels_last=args.channels_last, compile=args.compile,
                        fused=args.fused, tf32=not args.no_tf32, seed=args.seed)
    if device.type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = settings.tf32
        torch.backends.cudnn.allow_tf32 = settings.tf32
        torch.backends.cudnn.benchmark = True

    rows: List[Row] = []
    for case in cases_from_args(args):
        try:
            rows.extend(run_case(case, args, settings))
        except (FileNotFoundError, KeyError) as exc:  # bad config path or option
            sys.exit(f'bench_step.py: error: {exc.args[0] if exc.args else exc}')
    result = report(rows, settings, args, argv)

    meta = result['meta']
    print(f"\n{meta['device']} | torch {meta['torch']} | mmpretrain "
          f"{meta['mmpretrain']} | {settings.precision}"
          f"{' | channels_last' if settings.channels_last else ''}"
          f"{' | compile(backbone)' if settings.compile else ''}"
          f"{' | fused optimizer requested' if settings.fused else ''}\n")
    print(markdown_table(rows, speedups(rows), settings))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'\nwrote {args.out}')
    return result


if __name__ == '__main__':
    main()
