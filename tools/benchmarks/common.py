"""What the benchmark scripts share: configs, model/optimizer building, one training step,
its timer and memory meter, host-sync counting and the report helpers.

Scripts import it as ``import common`` (they put their own folder on ``sys.path``);
importing it puts the repo first on ``sys.path`` and applies slimselfsup's
compatibility shims (e.g. the transformers-5 guard of mmpretrain's multimodal models)
before anything imports ``mmpretrain.models``.
"""
from __future__ import annotations
import copy
import gc
import inspect
import json
import math
import os
import os.path as osp
import platform
import resource
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import (Any, Callable, ContextManager, Dict, Iterator, List, Optional, Sequence, Tuple,
                    Union)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
from mmengine.config import Config, ConfigDict  # noqa: E402
from mmengine.model import revert_sync_batchnorm  # noqa: E402
from mmengine.optim import OptimWrapper, build_optim_wrapper  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from torch import nn  # noqa: E402

import slimselfsup  # noqa: E402,F401  (compatibility shims first)
from slimselfsup.apis import load_config  # noqa: E402

MMPRETRAIN_PREFIX = 'mmpretrain::'
OURS, BASELINE = 'ours', 'mmpretrain'
Inputs = Union[torch.Tensor, List[torch.Tensor]]


# --------------------------------------------------------------------------- configs
def resolve_config(path: str) -> str:
    """A repo-relative path, an absolute one, or ``mmpretrain::<method>/<file>.py``
    (mmpretrain's packaged configs) as an existing file path."""
    if path.startswith(MMPRETRAIN_PREFIX):
        import mmpretrain
        path = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs',
                        path[len(MMPRETRAIN_PREFIX):])
    elif not osp.isabs(path) and not osp.exists(path):
        path = osp.join(REPO_ROOT, path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'config not found: {path}')
    return path


def load(path: str, overrides: Optional[Dict[str, Any]] = None,
         cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """Load a config, apply preset overrides (``_delete_`` replaces a sub-dict), then
    the user's ``--cfg-options``, whose keys must exist."""
    cfg = load_config(resolve_config(path))
    if overrides:
        cfg.merge_from_dict(copy.deepcopy(overrides))
    if cfg_options:
        unknown = [k for k in cfg_options if not has_dotted_key(cfg.to_dict(), k)]
        if unknown:
            raise KeyError(f'--cfg-options key(s) {unknown} do not exist in '
                           f'{cfg.filename}')
        cfg.merge_from_dict(cfg_options)
    return cfg


def has_dotted_key(node: Any, dotted: str) -> bool:
    """Whether ``a.b.0.c`` exists in nested dicts and lists."""
    for part in dotted.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


def pipeline_transforms(cfg: Config) -> List[dict]:
    """Every transform dict of the training pipeline, nested ones included."""
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
    """Views per image: the pipeline's ``MultiView``, the GPU preprocessor's views,
    else 1."""
    for t in pipeline_transforms(cfg):
        if t['type'] == 'MultiView':
            n = t.get('num_views', 1)
            return int(sum(n)) if isinstance(n, (list, tuple)) else int(n)
    pre = cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor') or {}
    if pre.get('views'):
        return sum(int(v.get('num_views', 1)) for v in pre['views'])
    return 1


def infer_img_size(cfg: Config, default: int = 224) -> int:
    """Crop size of the training pipeline's ``RandomResizedCrop`` (or of the GPU
    preprocessor's first view) if any."""
    for t in pipeline_transforms(cfg):
        if t['type'] == 'RandomResizedCrop' and isinstance(t.get('scale'), int):
            return int(t['scale'])
    pre = cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor') or {}
    if pre.get('views'):
        return int(pre['views'][0].get('crop_size', default))
    return default


def registries(scope: str):
    """The registry module of a config's ``default_scope``."""
    if scope == 'slimselfsup':
        import slimselfsup.registry as registry
    elif scope == 'mmpretrain':
        import mmpretrain.registry as registry
    else:
        raise ValueError(f'unsupported default_scope {scope!r} (slimselfsup or '
                         'mmpretrain)')
    return registry


def model_type(cfg: Config) -> str:
    """``<scope>.<model type>`` for tables."""
    return f"{cfg.get('default_scope', 'mmpretrain')}.{cfg.model['type']}"


# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class Settings:
    """Run-wide options shared by every model of a run.

    ``compile_backend`` is torch.compile's backend: ``inductor`` for measurements,
    ``eager`` (Dynamo tracing only) for CPU dry runs that check the wiring.
    """

    device: torch.device
    bf16: bool = False
    channels_last: bool = False
    compile: bool = False
    fused: bool = False
    tf32: bool = True
    seed: int = 0
    compile_backend: str = 'inductor'

    @property
    def precision(self) -> str:
        """Human-readable precision label."""
        if self.bf16:
            return 'bf16 autocast'
        return 'fp32/tf32' if self.device.type == 'cuda' and self.tf32 else 'fp32'

    def autocast(self) -> ContextManager:
        """bf16 autocast on the device, or nothing."""
        if self.bf16:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    def apply_backend_flags(self) -> None:
        """On CUDA: TF32 as asked, cuDNN autotuning on (all benchmarks are fixed-size)."""
        if self.device.type == 'cuda':
            torch.backends.cuda.matmul.allow_tf32 = self.tf32
            torch.backends.cudnn.allow_tf32 = self.tf32
            torch.backends.cudnn.benchmark = True


# --------------------------------------------------------------------------- building
def build_model(cfg: Config, settings: Settings) -> nn.Module:
    """Build, initialise and place a model like the Runner does (on the CPU first,
    then moved); SyncBN becomes BN (single process); optionally channels-last and a
    compiled online backbone (in place, so parameter names stay)."""
    scope = cfg.get('default_scope', 'mmpretrain')
    with DefaultScope.overwrite_default_scope(scope):
        model = registries(scope).MODELS.build(cfg.model)
        model = revert_sync_batchnorm(model)
        model.init_weights()
    model = model.to(settings.device)
    if settings.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if settings.compile:
        model.backbone.compile(backend=settings.compile_backend)
    return model.train()


def build_optimizer(model: nn.Module, optim_cfg: ConfigDict, scope: str,
                    fused: bool) -> Tuple[OptimWrapper, bool]:
    """The config's optimizer (LARS, paramwise rules ...) in a plain ``OptimWrapper``:
    precision is the benchmark's switch, so AMP/bf16 wrappers become plain ones.

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
            optim_cls = registries(scope).OPTIMIZERS.get(cfg['optimizer']['type'])
            use_fused = (optim_cls is not None and 'fused' in
                         inspect.signature(optim_cls.__init__).parameters)
            if use_fused:
                cfg['optimizer']['fused'] = True
        return build_optim_wrapper(model, cfg), use_fused


def make_inputs(views: int, batch_size: int, img_size: int,
                settings: Settings) -> Inputs:
    """A synthetic batch in the data preprocessor's output format, on the device:
    normalised float ``(B, 3, S, S)``, a list of them for several views."""
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
    """The model step: loss (incl. momentum/queue updates, under autocast),
    backward and optimizer step."""
    def step() -> None:
        with settings.autocast():
            losses = model.loss(inputs, data_samples)
        optim_wrapper.update_params(total_loss(losses))

    return step


# --------------------------------------------------------------------------- measuring
def synchronize(device: torch.device) -> None:
    """Wait for the device (no-op on the CPU)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_steps(step: Callable[[], None], iters: int, warmup: int,
               device: torch.device) -> Tuple[List[float], float]:
    """``warmup`` untimed steps, then ``iters`` steps timed one by one (each followed
    by a device synchronisation).

    Returns:
        tuple[list[float], float]: Seconds of each timed step, seconds of warm-up.
    """
    synchronize(device)
    t0 = time.perf_counter()
    for _ in range(warmup):
        step()
    synchronize(device)
    warmup_s = time.perf_counter() - t0
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        step()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return times, warmup_s


class MemoryMeter:
    """Peak memory of one model: CUDA allocator peak, or peak-RSS growth on CPU.

    On CPU the process's peak RSS is reset through ``/proc/self/clear_refs`` where
    Linux allows it, so each model's number is its own high-water mark above the RSS
    at its start; elsewhere it is relative to the process-wide high-water mark.
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
        if sys.platform.startswith('linux'):
            try:  # return freed heap pages, or the last model's memory hides ours
                import ctypes
                ctypes.CDLL('libc.so.6').malloc_trim(0)
            except (OSError, AttributeError):
                pass
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')  # reset this process's peak RSS (Linux >= 4.0)
            self.reset_ok = True
        except OSError:
            self.reset_ok = False
        self.start_kib = _maxrss_kib()

    def peak_mib(self) -> float:
        """Peak memory since :meth:`start`, in MiB."""
        if self.device.type == 'cuda':
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        return max(_maxrss_kib() - self.start_kib, 0) / 1024


def _maxrss_kib() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss // 1024 if sys.platform == 'darwin' else rss  # macOS reports bytes


def free_device_memory(device: torch.device) -> None:
    """Collect garbage and return cached device memory (between models)."""
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()


# --------------------------------------------------------------------------- host syncs
#: aten ops that make the host wait for a CUDA device (their result size or value is
#: needed on the host), detectable on any device.
SYNC_OPS = ('_local_scalar_dense', 'nonzero', 'masked_select', 'unique',
            '_unique2', 'unique_dim', 'unique_consecutive', 'repeat_interleave',
            'equal', 'is_nonzero', 'bincount')
#: Tensor methods that copy to the host.
SYNC_METHODS = ('tolist', 'numpy', 'cpu')


class HostSyncCounter:
    """Records every operation of a code block that makes the host wait for the device.

    On every device it records the aten ops of :data:`SYNC_OPS` (``.item()``,
    ``float(t)``, ``bool(t)`` are ``_local_scalar_dense``; boolean-mask indexing is
    ``nonzero``), boolean-mask ``index``/``index_put_``, and the host copies of
    :data:`SYNC_METHODS`, so a CPU run shows what would stall a GPU. On CUDA it also
    turns on ``torch.cuda.set_sync_debug_mode('warn')`` and records its warnings,
    the ground truth. Each event is ``(what, where)``, ``where`` the innermost frame
    outside torch.
    """

    def __init__(self) -> None:
        self.events: List[Tuple[str, str]] = []

    def __len__(self) -> int:
        return len(self.events)

    def by_place(self) -> Dict[str, int]:
        """Event counts per ``what @ where``."""
        counts: Dict[str, int] = {}
        for what, where in self.events:
            key = f'{what} @ {where}'
            counts[key] = counts.get(key, 0) + 1
        return counts

    def from_files(self, fragment: str) -> List[Tuple[str, str]]:
        """Events whose place's path contains ``fragment``."""
        return [e for e in self.events if fragment in e[1]]

    @contextmanager
    def record(self) -> Iterator['HostSyncCounter']:
        """Count inside the ``with`` block."""
        from torch.overrides import TorchFunctionMode
        from torch.utils._python_dispatch import TorchDispatchMode
        counter = self

        class Functions(TorchFunctionMode):

            def __torch_function__(self, func, types, args=(), kwargs=None):
                name = getattr(func, '__name__', '')
                if name in SYNC_METHODS:
                    counter.events.append((f'Tensor.{name}', _caller()))
                return func(*args, **(kwargs or {}))

        class Ops(TorchDispatchMode):

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                name = func._schema.name.split('::')[-1]
                if (name in SYNC_OPS and not _host_side(name, args)) or (
                        name in ('index', 'index_put', 'index_put_')
                        and _has_bool_index(args)):
                    counter.events.append((f'aten.{name}', _caller()))
                return func(*args, **(kwargs or {}))

        cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            if cuda:
                old = torch.cuda.get_sync_debug_mode()
                torch.cuda.set_sync_debug_mode('warn')
            try:
                with Functions(), Ops():
                    yield self
            finally:
                if cuda:
                    torch.cuda.set_sync_debug_mode(old)
        for w in caught:
            if 'synchronizing' in str(w.message):
                self.events.append(('cuda sync', f'{w.filename}:{w.lineno}'))
            else:  # not ours: hand it on
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _host_side(name: str, args: tuple) -> bool:
    """A scalar read that makes no GPU wait: of a CPU tensor on a GPU run, or of a
    torch optimizer's step counter (kept on the CPU on GPU runs too)."""
    if name != '_local_scalar_dense' or not isinstance(args[0], torch.Tensor) or \
            args[0].device.type != 'cpu':
        return False
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return True
    torch_dir = osp.dirname(torch.__file__) + os.sep
    optim_dir = osp.join(torch_dir, 'optim') + os.sep
    frame = sys._getframe(2)
    while frame is not None:  # the innermost frame that is not torch's machinery
        path = frame.f_code.co_filename
        if path.startswith(optim_dir):
            return True
        if not path.startswith(torch_dir) and path != __file__ and \
                frame.f_code.co_name not in ('__torch_dispatch__', '__torch_function__'):
            return False
        frame = frame.f_back
    return False


def _has_bool_index(args: tuple) -> bool:
    indices = args[1] if len(args) > 1 else ()
    return any(isinstance(t, torch.Tensor) and t.dtype in (torch.bool, torch.uint8)
               for t in (indices or ()))


def _caller() -> str:
    """``file:line`` of the innermost frame outside torch and this module."""
    torch_dir = osp.dirname(torch.__file__)
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if not path.startswith(torch_dir) and path != __file__ and \
                frame.f_code.co_name not in ('__torch_dispatch__', '__torch_function__'):
            if path.startswith(REPO_ROOT):
                path = osp.relpath(path, REPO_ROOT)
            return f"{path.split('site-packages/')[-1]}:{frame.f_lineno}"
        frame = frame.f_back
    return '?'


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


def git_commit() -> Optional[str]:
    """Short commit of the repo, or None outside a git checkout (the GPU machine
    gets a copy without ``.git``: the ladder passes the commit on its command line)."""
    try:
        out = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def fmt(value: Optional[float], digits: int = 1) -> str:
    """A number with thousands separators, or ``n/a``."""
    if value is None or not math.isfinite(value):
        return 'n/a'
    return f'{value:,.{digits}f}'


def markdown_table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    """An aligned GitHub markdown table."""
    widths = [max([len(h)] + [len(line[i]) for line in lines])
              for i, h in enumerate(header)]

    def row(cells: Sequence[str]) -> str:
        return '| ' + ' | '.join(c.ljust(w) for c, w in zip(cells, widths)) + ' |'

    table = [row(header), '|' + '|'.join('-' * (w + 2) for w in widths) + '|']
    return '\n'.join(table + [row(line) for line in lines])


def write_json(path: str, data: Any) -> None:
    """Write JSON atomically (a reader never sees half a file)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)
