"""The rungs of the GPU ladder (``gpu_ladder.py``): each measures one thing within a
time budget and reports markdown tables plus JSON rows.

A rung is a function ``rung(ctx) -> dict`` with ``tables`` (title -> markdown),
``rows`` (JSON-able records), ``complete`` (False when the deadline cut it short or
something it needs was missing: the rung stays owed) and ``notes``. It calls
``ctx.save(partial)`` whenever it has something worth keeping, so a later crash or
kill loses nothing already measured. With ``ctx.dry`` (the CPU dry run) every rung
runs end to end at tiny sizes.
"""
from __future__ import annotations
import contextlib
import copy
import glob
import io
import os
import os.path as osp
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import common as C  # noqa: E402
import numpy as np  # noqa: E402
import presets as P  # noqa: E402
import torch  # noqa: E402
from bench_step import Row, run_case, speedups, step_table  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

REPO = C.REPO_ROOT
#: Speed-up targets over mmpretrain (issue 13), per step-rung case.
TARGETS = {'mocov2_r50': 2.5, 'simclr_r18_cifar': 3.0, 'tec_vitb': 1.3}


@dataclass
class Context:
    """What a rung gets: where and how to run, its data, deadline and scratch space.

    Args:
        device (torch.device): ``cuda`` for measurements, ``cpu`` for the dry run.
        dry (bool): Tiny sizes (the CPU dry run that CI runs).
        data (str): CIFAR-10 pack (``.npz``) or class folders.
        deadline (float): ``time.time()`` by which the rung must have returned.
        work_dir (str): Scratch folder (not sent back).
        out_dir (str): Folder sent back (at most 8 files in all: few and small).
        save (callable): Records a partial result.
    """

    device: torch.device
    dry: bool
    data: str
    deadline: float
    work_dir: str
    out_dir: str
    save: Callable[[dict], None] = lambda result: None

    def left(self) -> float:
        """Seconds until the deadline."""
        return self.deadline - time.time()


def result(tables: Optional[Dict[str, str]] = None, rows: Optional[list] = None,
           complete: bool = True, notes: Optional[List[str]] = None, **extra) -> dict:
    """A rung's result."""
    return dict(tables=tables or {}, rows=rows or [], complete=complete,
                notes=notes or [], **extra)


# --------------------------------------------------------------------------- rung 1
@dataclass
class SmokeRow:
    """One config's bf16 training step with its data preprocessor."""

    config: str
    status: str = 'not reached'
    model_type: str = ''
    batch_size: int = 0
    raw_size: str = ''
    step_ms: Optional[float] = None
    peak_mem_mib: Optional[float] = None
    loss: Optional[float] = None
    host_syncs: Optional[int] = None
    sync_places: List[str] = field(default_factory=list)
    error: str = ''


def pretraining_configs(dry: bool) -> List[str]:
    """Every pretraining config (``configs/<algo>/*.py``), cheapest first; in the dry
    run the first CIFAR-10 recipe of each model type and data path (CPU pipeline or
    views made on the device)."""
    paths = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '*', '*.py'))
                   if '/_base_/' not in p)
    rel = [osp.relpath(p, REPO) for p in paths]

    def cost(path: str) -> tuple:
        return ('cifar' not in path, 'large' in path, 'vit' in path, path)

    rel.sort(key=cost)
    if not dry:
        return rel
    first = {}
    for path in rel:
        if 'cifar10' in path:
            cfg = C.load(path)
            pre = cfg.get('data_preprocessor') or {}
            first.setdefault((cfg.model['type'], pre.get('type')), path)
    return sorted(first.values(), key=cost)


def _load_steps() -> tuple:
    return ('LoadImageFromFile', 'DecodeImage', 'LoadImageFromBytes')


def synthetic_batch(cfg, batch_size: int, device: torch.device, seed: int = 0) -> tuple:
    """A batch in the form the config's data loader delivers, from random images of
    the recipe's size run through its own pipeline (loading steps dropped); returns
    ``(data, raw (H, W))``."""
    from mmengine.dataset import Compose
    from mmengine.registry import FUNCTIONS
    from mmpretrain.structures import DataSample
    rng = np.random.default_rng(seed)
    loader = cfg.train_dataloader
    pipeline = [t for t in loader.dataset.get('pipeline', [])
                if t['type'].split('.')[-1] not in _load_steps()]
    crop = C.infer_img_size(cfg)
    raw = (crop, crop) if crop <= 64 else (256, 320)
    if not pipeline:  # CIFARTensorDataset: a uint8 batch already on the device
        images = torch.from_numpy(rng.integers(0, 256, (batch_size, 3, *raw),
                                               dtype=np.uint8)).to(device)
        return dict(inputs=images,
                    data_samples=[DataSample() for _ in range(batch_size)]), raw
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'slimselfsup')):
        compose = Compose(pipeline)
        samples = [compose(dict(img=rng.integers(0, 256, (*raw, 3), dtype=np.uint8),
                                img_shape=raw, ori_shape=raw, sample_idx=i, gt_label=0))
                   for i in range(batch_size)]
        collate = FUNCTIONS.get((loader.get('collate_fn') or {}).get(
            'type', 'pseudo_collate'))
    return collate(samples), raw


def _smoke_model(cfg, device: torch.device, work_dir: str):
    """Build and initialise a model as the Runner does (CPU, then moved); SEED gets
    its own teacher's weights as a checkpoint file, TEC keeps a random base."""
    scope = cfg.get('default_scope', 'slimselfsup')
    if cfg.model.get('data_preprocessor') is None and cfg.get('data_preprocessor'):
        cfg.model.data_preprocessor = cfg.data_preprocessor
    if 'target_generator' in cfg.model and 'checkpoint' in cfg.model.target_generator:
        cfg.model.target_generator.checkpoint = None
    with DefaultScope.overwrite_default_scope(scope):
        from mmengine.model import revert_sync_batchnorm
        model = revert_sync_batchnorm(C.registries(scope).MODELS.build(cfg.model))
        teacher = getattr(model, 'target_generator', None)
        if getattr(teacher, 'required', False):  # a FrozenTeacher that needs weights
            path = osp.join(work_dir, 'smoke_teacher.pth')
            torch.save({'state_dict': teacher.model.state_dict()}, path)
            teacher.checkpoint = path
        model.init_weights()
    return model.to(device)


def smoke_config(path: str, ctx: Context, batch_size: int) -> SmokeRow:
    """One bf16 training step (after one untimed step) of one config on the device,
    through ``model.train_step`` with its data preprocessor, counting host syncs."""
    from mmengine.optim import build_optim_wrapper
    row = SmokeRow(config=path, batch_size=batch_size)
    meter = C.MemoryMeter(ctx.device)
    meter.start()
    try:
        cfg = C.load(path)
        row.model_type = C.model_type(cfg)
        if cfg.model.get('queue_len'):
            cfg.model.queue_len = 64 * batch_size
        model = _smoke_model(cfg, ctx.device, ctx.work_dir)
        optim = dict(cfg.optim_wrapper.to_dict(), type='BF16OptimWrapper',
                     accumulative_counts=1)
        for key in ('loss_scale', 'dtype'):
            optim.pop(key, None)
        with DefaultScope.overwrite_default_scope('slimselfsup'):
            wrapper = build_optim_wrapper(model, optim)
        data, raw = synthetic_batch(cfg, batch_size, ctx.device)
        row.raw_size = f'{raw[0]}x{raw[1]}'
        model.train_step(data, wrapper)  # untimed: cuDNN autotuning, lazy inits
        C.synchronize(ctx.device)
        start = time.perf_counter()
        log_vars = model.train_step(data, wrapper)
        C.synchronize(ctx.device)
        row.step_ms = 1000 * (time.perf_counter() - start)
        syncs = C.HostSyncCounter()
        with syncs.record():
            model.train_step(data, wrapper)
        row.host_syncs = len(syncs)
        row.sync_places = [f'{n}x {k}' for k, n in sorted(
            syncs.by_place().items(), key=lambda kv: -kv[1])][:4]
        row.loss = float(log_vars['loss'])
        row.status = 'ok' if np.isfinite(row.loss) else 'non-finite loss'
    except Exception as exc:  # noqa: BLE001  (recorded; the next config runs)
        row.status = 'error'
        row.error = f'{type(exc).__name__}: {str(exc).splitlines()[0][:300]}' \
            if str(exc) else type(exc).__name__
        traceback.print_exc()
    finally:
        row.peak_mem_mib = meter.peak_mib()
        C.free_device_memory(ctx.device)
    return row


def smoke_table(rows: List[SmokeRow]) -> str:
    """Markdown table of the smoke rows."""
    return C.markdown_table(
        ['config', 'model', 'status', 'batch', 'raw img', 'step ms', 'peak MiB',
         'host syncs in step', 'where (top)'],
        [[r.config.replace('configs/', ''), r.model_type, r.status if not r.error
          else f'{r.status}: {r.error}'[:160], str(r.batch_size), r.raw_size,
          C.fmt(r.step_ms), C.fmt(r.peak_mem_mib),
          '' if r.host_syncs is None else str(r.host_syncs),
          '; '.join(r.sync_places)] for r in rows])


def rung_smoke(ctx: Context) -> dict:
    """Rung 1, CUDA smoke: every pretraining config one bf16 training step with its
    data preprocessor on synthetic images of the recipe's size (batch 4): device
    mismatches, dtype errors, step time, peak memory and host syncs per step
    (``torch.cuda.set_sync_debug_mode`` on CUDA)."""
    paths = pretraining_configs(ctx.dry)
    rows = [SmokeRow(config=p) for p in paths]
    for i, path in enumerate(paths):
        if ctx.left() < (5 if ctx.dry else 15):
            break
        print(f'[smoke] {path}', file=sys.stderr, flush=True)
        rows[i] = smoke_config(path, ctx, batch_size=4)
        ctx.save(_smoke_result(rows, complete=False))
    return _smoke_result(rows, complete=all(r.status != 'not reached' for r in rows))


def _smoke_result(rows: List[SmokeRow], complete: bool) -> dict:
    bad = [r for r in rows if r.status not in ('ok', 'not reached')]
    ours = [r for r in rows if any('slimselfsup/' in p for p in r.sync_places)]
    notes = [f'{len(bad)} of {len(rows)} configs failed' if bad else
             'every config reached ran its step']
    if ours:
        notes.append('host syncs from slimselfsup code in: ' +
                     ', '.join(r.config for r in ours))
    return result({'CUDA smoke: one bf16 training step per pretraining config':
                   smoke_table(rows)}, [asdict(r) for r in rows], complete, notes)


# --------------------------------------------------------------------------- rung 2
def _step_settings(ctx: Context, compile: bool,
                   bf16: Optional[bool]) -> List[C.Settings]:
    backend = 'eager' if ctx.dry else 'inductor'  # dry: Dynamo tracing only
    plain = C.Settings(device=ctx.device, compile=compile, compile_backend=backend)
    fast = C.Settings(device=ctx.device, bf16=True, channels_last=True, fused=True,
                      compile=compile, compile_backend=backend)
    return {None: [plain, fast], True: [fast], False: [plain]}[bf16]


def _step_rung(ctx: Context, compile: bool, bf16: Optional[bool] = None) -> dict:
    cases = P.PRESETS['tiny'].cases if ctx.dry else tuple(
        P.PRESETS[name].cases[0] for name in TARGETS)
    iters, warmup = (2, 1) if ctx.dry else (20, 15 if compile else 5)
    per_run = 5 if ctx.dry else (100 if compile else 25)  # seconds, for the cut-off
    rows: List[Row] = []
    plan = [(s, c) for s in _step_settings(ctx, compile, bf16) for c in cases]
    done = 0
    for settings, case in plan:
        if ctx.left() < per_run:
            break
        settings.apply_backend_flags()
        rows += run_case(case, settings, iters=iters, warmup=warmup)
        done += 1
        ctx.save(_step_result(rows, compile, complete=False))
    return _step_result(rows, compile, complete=done == len(plan))


def _step_result(rows: List[Row], compile: bool, complete: bool) -> dict:
    tables, notes = {}, []
    for precision in dict.fromkeys(r.precision for r in rows if r.precision):
        part = [r for r in rows if r.precision == precision or (
            r.status == 'n/a' and not r.precision)]
        title = f'Step speed vs mmpretrain, {precision}' + (
            ', channels-last, fused optimizer' if 'bf16' in precision else '') + (
            ', torch.compile (online backbone)' if compile else ', eager')
        tables[title] = step_table(part)
        for case, ratio in speedups(part).items():
            target = TARGETS.get(case)
            if ratio is not None and target:
                notes.append(f'{case} {precision}: {ratio:.2f}x mmpretrain (target '
                             f'{target}x: {"met" if ratio >= target else "not met"})')
    return result(tables, [asdict(r) for r in rows], complete, notes)


def rung_step_eager(ctx: Context) -> dict:
    """Rung 2a: model-step speed against mmpretrain in the same process (MoCo v2 R-50
    b256, SimCLR R-18 CIFAR b512, TEC ViT-B vs MAE ViT-B b256), fp32 and bf16
    (channels-last, fused optimizer), eager."""
    return _step_rung(ctx, compile=False)


def rung_step_compile(ctx: Context) -> dict:
    """Rung 2b: rung 2a's cases in bf16 (channels-last, fused optimizer) with
    ``torch.compile`` (inductor) of the online backbone, both models."""
    return _step_rung(ctx, compile=True, bf16=True)


def rung_step_compile_fp32(ctx: Context) -> dict:
    """Rung 2c: rung 2a's cases in fp32/tf32 with ``torch.compile`` of the online
    backbone, both models."""
    return _step_rung(ctx, compile=True, bf16=False)


# --------------------------------------------------------------------------- rung 3
HEADLINE_CONFIG = P.OURS_SIMCLR_GPU


def headline_config(ctx: Context, work_dir: str):
    """The GPU-data-path SimCLR R-18 recipe on the pack, kNN loaders on the pack too
    (tiny network and data in the dry run)."""
    import short_runs
    cfg = C.load(HEADLINE_CONFIG, P.TINY_SIMCLR if ctx.dry else None)
    cfg.work_dir = work_dir
    views = cfg.data_preprocessor.views
    if ctx.dry:  # 8 images per class of each split
        short_runs.use_gpu_data(cfg, ctx.data, views, smoke_images=None)
        for loader in short_runs._loaders(cfg):
            loader['dataset']['indices'] = _spread(ctx.data, loader['dataset']['split'])
            loader['batch_size'] = 16
    else:
        short_runs.use_gpu_data(cfg, ctx.data, views)
    cfg.model.data_preprocessor.channels_last = True
    cfg.train_dataloader.dataset.device = ctx.device.type
    for hook in cfg.custom_hooks:
        for key in ('train_dataloader', 'val_dataloader'):
            if key in hook:
                hook[key]['dataset']['device'] = ctx.device.type
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10**6,
                                        save_last=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=50)
    cfg.randomness = dict(seed=0)
    cfg.launcher = 'none'
    cfg.log_level = 'WARNING'
    return cfg


def _spread(data: str, split: str, per_class: int = 8) -> List[int]:
    """Indices of ``per_class`` images of every class of a split (pack or folders)."""
    if data.endswith('.npz'):
        with np.load(data) as pack:
            labels = pack[f'{split}_labels']
    else:
        folder = osp.join(data, split)
        labels = np.concatenate([np.full(len(os.listdir(osp.join(folder, cls))), i)
                                 for i, cls in enumerate(sorted(os.listdir(folder)))])
    return [int(i) for c in np.unique(labels) for i in np.flatnonzero(labels == c)[
        :per_class]]


class _EpochClock:
    """Hook-like timer: wall time of the training epochs and a stop at a deadline."""

    def __init__(self, deadline: float) -> None:
        self.deadline, self.start, self.end, self.epochs = deadline, None, None, 0

    def install(self, runner) -> None:
        from mmengine.hooks import Hook
        clock = self

        class Clock(Hook):
            priority = 'VERY_HIGH'  # stops the clock before the last epoch's kNN

            def before_train_epoch(self, runner) -> None:
                if clock.start is None:
                    C.synchronize(next(runner.model.parameters()).device)
                    clock.start = time.perf_counter()

            def after_train_epoch(self, runner) -> None:
                C.synchronize(next(runner.model.parameters()).device)
                clock.end, clock.epochs = time.perf_counter(), clock.epochs + 1
                if time.time() > clock.deadline:  # safety: never overrun the rung
                    runner.train_loop.stop_training = True

        runner.register_hook(Clock())


def rung_headline(ctx: Context) -> dict:
    """Rung 3, the headline: SimCLR ResNet-18 on CIFAR-10 with the GPU data path
    (pack decoded into GPU memory, views on the GPU, bf16, channels-last), as many
    epochs as fit in 4 minutes (the schedule stretched to them), then weighted kNN
    (k=200) on the test split: epochs/min, pairs/s end to end vs the step-only rate,
    kNN top-1, and the time 200 epochs would take."""
    import short_runs
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner

    from slimselfsup.registry import RUNNERS
    train_s = 8.0 if ctx.dry else 240.0
    cfg = headline_config(ctx, osp.join(ctx.work_dir, 'headline'))
    # calibration: the recipe's loader, preprocessor and bf16 step for a few
    # iterations (a throw-away model), to fit the epochs into train_s
    with DefaultScope.overwrite_default_scope('slimselfsup'):
        loader = Runner.build_dataloader(copy.deepcopy(cfg.train_dataloader), seed=0)
        model = C.build_model(cfg, C.Settings(device=ctx.device, channels_last=True))
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    warm, steps = (1, 3) if ctx.dry else (10, 40)
    batches = iter(loader)
    for i in range(warm + steps):
        if i == warm:
            C.synchronize(ctx.device)
            t0 = time.perf_counter()
        data = next(batches, None)
        if data is None:
            batches = iter(loader)
            data = next(batches)
        model.train_step(data, wrapper)
    C.synchronize(ctx.device)
    step_e2e_s = (time.perf_counter() - t0) / steps
    iters = len(loader)
    # 10 % margin: the Runner adds its hooks (and mmengine's per-step loss read)
    epochs = max(1, min(2 if ctx.dry else 200,
                        int(train_s / (1.1 * step_e2e_s * iters))))
    del model, wrapper, loader, batches, data
    C.free_device_memory(ctx.device)

    short_runs.rescale_schedule(cfg, epochs)
    knn = next(h for h in cfg.custom_hooks if h['type'] == 'KNNHook')
    knn['interval'] = epochs
    runner = RUNNERS.build(cfg)
    clock = _EpochClock(deadline=ctx.deadline - (10 if ctx.dry else 40))
    clock.install(runner)
    runner.train()
    hook = next(h for h in runner.hooks if type(h).__name__ == 'KNNHook')
    if hook.last_result is None:  # stopped early: evaluate what was trained
        hook.evaluate(runner, step=clock.epochs)
    train_wall = clock.end - clock.start
    batch = cfg.train_dataloader.batch_size
    e2e_rate = clock.epochs * iters * batch / train_wall
    # step-only rate of the trained model on one preprocessed batch
    model, wrapper = runner.model, runner.optim_wrapper
    data = model.data_preprocessor(next(iter(runner.train_dataloader)), True)

    def step() -> None:
        with wrapper.optim_context(model):
            losses = model.loss(data['inputs'], data['data_samples'])
        wrapper.update_params(C.total_loss(losses))

    times, _ = C.time_steps(step, 3 if ctx.dry else 30, 1 if ctx.dry else 5,
                            ctx.device)
    step_rate = batch / float(np.median(times))
    top1 = float(hook.last_result['top1'])
    minutes_200 = 200 * train_wall / clock.epochs / 60
    row = dict(config=HEADLINE_CONFIG, epochs=clock.epochs, planned_epochs=epochs,
               train_s=train_wall, epochs_per_min=60 * clock.epochs / train_wall,
               pairs_per_s_e2e=e2e_rate, pairs_per_s_step_only=step_rate,
               e2e_over_step=e2e_rate / step_rate, knn_top1=top1,
               knn_top5=float(hook.last_result.get('top5', float('nan'))),
               minutes_for_200_epochs=minutes_200, batch_size=batch,
               iters_per_epoch=iters, calibration_step_s=step_e2e_s)
    table = C.markdown_table(
        ['epochs', 'train time', 'epochs/min', 'pairs/s end to end',
         'pairs/s step only', 'e2e / step (target >= 0.85)', 'kNN top-1 (k=200)',
         '200 epochs would take (goal < 10 min, kNN >= 85 %)'],
        [[str(clock.epochs), f'{train_wall:.0f} s', f"{row['epochs_per_min']:.2f}",
          C.fmt(e2e_rate, 0), C.fmt(step_rate, 0), f"{row['e2e_over_step']:.2f}",
          f'{top1:.2f} %', f'{minutes_200:.1f} min']])
    notes = [f'{clock.epochs} of the planned {epochs} epochs (calibrated at '
             f'{step_e2e_s * 1000:.1f} ms per end-to-end step)']
    return result({'Headline: SimCLR R-18 CIFAR-10, GPU data path, bf16, '
                   'channels-last': table}, [row], complete=clock.epochs == epochs,
                  notes=notes)


# --------------------------------------------------------------------------- rung 4
def _script_rung(module: str, args: List[str], dry_args: List[str], title: str,
                 ctx: Context) -> dict:
    """Run a comparison script's ``main`` (its table is the result); the pack moves
    its two-view recipes onto the GPU data path (short_runs.point_loaders_at)."""
    import importlib
    script = importlib.import_module(module)
    argv = (dry_args if ctx.dry else args) + ['--work-dir',
                                              osp.join(ctx.work_dir, module)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        table = script.main(argv)
    printed = out.getvalue()
    print(printed)
    if not isinstance(table, str):  # the script printed its table
        table = '\n'.join(line for line in printed.splitlines() if line.startswith('|'))
    return result({title: table.strip() or printed.strip()[-2000:]},
                  [dict(script=module, argv=argv)])


def rung_slimclr_vs_alone(ctx: Context) -> dict:
    """Rung 4a: SlimCLR-MoCo v2 slimmable ResNet-18 vs the same widths trained alone,
    short schedule (GPU data path), kNN per width."""
    return _script_rung('slimclr_vs_alone', ['--algo', 'mocov2', '--epochs', '10',
                                             '--data-root', ctx.data],
                        ['--algo', 'mocov2', '--epochs', '1', '--widths', '1.0', '0.5',
                         '--smoke', '--data-root', ctx.data],
                        'SlimCLR vs widths alone (MoCo v2, R-18, CIFAR-10, 10 epochs)',
                        ctx)


def rung_seed_vs_mocov2(ctx: Context) -> dict:
    """Rung 4c: SEED R-18 from a self-trained R-50 vs MoCo v2 R-18, short schedule."""
    return _script_rung('seed_cifar_vs_mocov2', ['--epochs', '10', '--data-root',
                                                 ctx.data],
                        ['--epochs', '1', '--smoke', '--data-root', ctx.data],
                        'SEED vs MoCo v2 (CIFAR-10, 10 epochs each)', ctx)


def rung_tec_vs_mae(ctx: Context) -> dict:
    """Rung 4d: TEC ViT-Tiny/4 from its MAE base vs the MAE base, same fine-tuning,
    short schedules (pack unpacked to folders: single-view and fine-tuning
    pipelines stay on the CPU loaders)."""
    return _script_rung('tec_cifar_vs_mae', ['--data-root', ctx.data, '--mae-epochs',
                                             '20', '--tec-epochs', '10',
                                             '--ft-epochs', '10'],
                        ['--smoke'], 'TEC vs MAE (ViT-Tiny/4, CIFAR-10, short)', ctx)


def rung_flatnce_vs_infonce(ctx: Context) -> dict:
    """Rung 4b: FlatNCE (FlatCLR) vs InfoNCE (SimCLR) on the same ResNet-18 recipe at
    batch 64 and 256, short schedule, kNN top-1 (GPU data path)."""
    import short_runs

    from slimselfsup.registry import RUNNERS
    path = 'configs/flatclr/flatclr_resnet18-cifar_1xb128-lars-sqrtlr-200e_cifar10.py'
    epochs = 1 if ctx.dry else 8
    batches = (8,) if ctx.dry else (64, 256)
    rows = []
    for batch in batches:
        for loss in ('FlatNCELoss', 'InfoNCELoss'):
            if ctx.left() < (5 if ctx.dry else 60):
                break
            cfg = C.load(path, P.TINY_SIMCLR if ctx.dry else None)
            cfg.work_dir = osp.join(ctx.work_dir, f'flatnce_{batch}_{loss}')
            cfg.model.head.loss.type = loss
            cfg.train_dataloader.batch_size = batch
            cfg.log_level = 'WARNING'
            short_runs.rescale_schedule(cfg, epochs)
            short_runs.point_loaders_at(cfg, ctx.data, smoke_images=32 if ctx.dry
                                        else None, smoke_batch=batch)
            next(h for h in cfg.custom_hooks if h['type'] == 'KNNHook')['interval'] = \
                epochs
            cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10**6,
                                                save_last=False)
            runner = RUNNERS.build(cfg)
            runner.train()
            knn = next(h for h in runner.hooks if type(h).__name__ == 'KNNHook')
            rows.append(dict(batch=batch, loss=loss, epochs=epochs,
                             knn_top1=float(knn.last_result['top1'])))
            ctx.save(_flatnce_result(rows, False))
    return _flatnce_result(rows, len(rows) == 2 * len(batches))


def _flatnce_result(rows: list, complete: bool) -> dict:
    table = C.markdown_table(['batch', 'loss', 'epochs', 'kNN top-1'],
                             [[str(r['batch']), r['loss'], str(r['epochs']),
                               f"{r['knn_top1']:.2f}"] for r in rows])
    return result({'FlatNCE vs InfoNCE (R-18 CIFAR-10)': table}, rows, complete)


MMCV_SDIST = 'mmcv-2.1.0.tar.gz'


def _find(ctx: Context, name: str) -> Optional[str]:
    """``name`` beside the data, in the repo's .gpu_data, or in ../shared/data."""
    for folder in (osp.dirname(ctx.data), osp.join(REPO, '.gpu_data'),
                   osp.join(REPO, '..', 'shared', 'data')):
        if osp.exists(osp.join(folder, name)):
            return osp.join(folder, name)
    return None


def rung_mmcv_cuda(ctx: Context) -> dict:
    """Rung 4e: build mmcv 2.1.0 with CUDA ops on the machine (the sdist carried in
    the data folder, C++20 patch, ``TORCH_CUDA_ARCH_LIST=9.0``) and time it; the
    wheel goes back in parts of at most 15 MiB for the Mask R-CNN rung. The dry run
    unpacks and patches the sdist only."""
    sdist = _find(ctx, MMCV_SDIST)
    if sdist is None:
        return result(complete=False, notes=[
            f'needs {MMCV_SDIST} beside the data or in .gpu_data: run '
            'tools/benchmarks/prep_gpu.sh (it downloads it)'])
    src_root = osp.join(ctx.work_dir, 'mmcv_src')
    with tarfile.open(sdist) as tar:
        tar.extractall(src_root)
    src = osp.join(src_root, 'mmcv-2.1.0')
    setup = osp.join(src, 'setup.py')
    text = open(setup).read()
    if '-std=c++17' not in text:
        return result(complete=False, notes=['mmcv setup.py has no -std=c++17 to patch'])
    with open(setup, 'w') as f:
        f.write(text.replace('-std=c++17', '-std=c++20'))
    if ctx.dry:
        return result({'mmcv build (dry run: sdist unpacked and patched only)':
                       'patched -std=c++20'}, [dict(built=False)])
    env = dict(os.environ, MMCV_WITH_OPS='1', FORCE_CUDA='1',
               TORCH_CUDA_ARCH_LIST='9.0', MAX_JOBS=str(os.cpu_count() or 8))
    start = time.time()
    try:
        proc = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                               '--no-build-isolation', '.', '-w', osp.join(src, 'dist')],
                              cwd=src, env=env, capture_output=True, text=True,
                              timeout=max(60, ctx.left() - 20))
    except subprocess.TimeoutExpired:
        return result(complete=False, notes=[
            f'the build did not finish in {(time.time() - start) / 60:.1f} min'])
    minutes = (time.time() - start) / 60
    if proc.returncode != 0:
        return result(complete=False, notes=[f'build failed after {minutes:.1f} min: '
                                             + proc.stderr[-1500:]])
    wheel = glob.glob(osp.join(src, 'dist', 'mmcv-*.whl'))[0]
    parts = split_file(wheel, ctx.out_dir, 15 * 2**20)
    table = C.markdown_table(['what', 'value'], [
        ['build time', f'{minutes:.1f} min on {os.cpu_count()} cores'],
        ['wheel', f'{osp.basename(wheel)} ({osp.getsize(wheel) / 2**20:.1f} MiB)'],
        ['parts sent back', ', '.join(osp.basename(p) for p in parts)]])
    return result({'mmcv 2.1.0 with CUDA ops, built on the GPU machine': table},
                  [dict(build_min=minutes, wheel=osp.basename(wheel),
                        parts=[osp.basename(p) for p in parts])])


def split_file(path: str, out_dir: str, part_bytes: int) -> List[str]:
    """Copy ``path`` into ``out_dir`` as ``<name>.part0``, ``.part1`` ... (``cat`` them
    back together)."""
    parts = []
    with open(path, 'rb') as f:
        while True:
            chunk = f.read(part_bytes)
            if not chunk:
                break
            parts.append(osp.join(out_dir, f'{osp.basename(path)}.part{len(parts)}'))
            with open(parts[-1], 'wb') as g:
                g.write(chunk)
    return parts


def rung_balloon(ctx: Context) -> dict:
    """Rung 4f: Mask R-CNN R-18-FPN on balloon from our MoCo v2 R-18 vs random init.
    Needs mmcv with CUDA ops (rung 4e's wheel), mmdet and the balloon data carried
    (see tools/benchmarks/README.md); until then it reports what is missing."""
    missing = []
    try:
        import mmcv.ops  # noqa: F401
    except Exception as exc:  # noqa: BLE001
        missing.append(f'mmcv with compiled ops ({type(exc).__name__})')
    try:
        import mmdet  # noqa: F401
    except ImportError:
        missing.append('mmdet (prep_gpu.sh det)')
    balloon = _find(ctx, 'balloon')
    if balloon is None:
        missing.append('balloon data (a balloon/ folder beside the data or in '
                       '.gpu_data)')
    if missing:
        return result(complete=False, notes=['not run, missing: ' + '; '.join(missing)])
    import short_runs
    sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), 'mmdetection'))
    cifar = short_runs.unpack_cifar(ctx.data) if ctx.data.endswith('.npz') else ctx.data
    return _script_rung('balloon_transfer',
                        ['--pretrain-epochs', '20', '--seeds', '0', '--data-root',
                         balloon, '--cifar', cifar],
                        ['--dry-run', '--data-root', balloon, '--cifar', cifar],
                        'Mask R-CNN balloon transfer (R-18 FPN)', ctx)


def environment() -> Dict[str, Any]:
    """Versions and machine, for the record."""
    import mmengine
    import mmpretrain

    import slimselfsup
    info = dict(python=platform.python_version(), torch=torch.__version__,
                mmengine=mmengine.__version__, mmpretrain=mmpretrain.__version__,
                slimselfsup=slimselfsup.__version__, cpus=os.cpu_count())
    if torch.cuda.is_available():
        info.update(cuda=torch.version.cuda, gpu=torch.cuda.get_device_name(0),
                    gpu_mem_gib=round(torch.cuda.get_device_properties(0).total_memory
                                      / 2**30, 1))
    return info


def scratch_dir() -> str:
    """A fresh scratch folder."""
    return tempfile.mkdtemp(prefix='gpu_ladder_')


def remove(path: str) -> None:
    """Remove a scratch folder."""
    shutil.rmtree(path, ignore_errors=True)
