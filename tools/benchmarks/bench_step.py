"""Time the training step of slimselfsup models next to mmpretrain's equivalents.

What is timed is the *model step* only: ``model.loss(inputs, data_samples)`` (which
includes the momentum-encoder and queue updates of MoCo-style methods), the backward
pass and the optimizer step (``OptimWrapper.update_params``). The batch is synthetic,
already on the device and in the form the data preprocessor produces, so data loading,
augmentation and preprocessing are excluded. Both models are built in the same process
from their own configs with the same batch size, image size, precision and optimizer
settings (our config's).

Examples::

    python tools/benchmarks/bench_step.py --preset mocov2_r50 --bf16
    python tools/benchmarks/bench_step.py --preset tiny --device cpu --out tiny.json
    python tools/benchmarks/bench_step.py configs/mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py \\
        --mmpretrain-config mmpretrain::mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py \\
        --batch-size 256 --img-size 224
"""
from __future__ import annotations
import argparse
import datetime
import os.path as osp
import shlex
import statistics
import sys
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Sequence

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import common as C  # noqa: E402
import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from presets import DEFAULT_ITERS, DEFAULT_WARMUP, PRESETS, Case, preset_help  # noqa: E402


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
    precision: str = ''
    iters: int = 0
    warmup: int = 0
    warmup_s: Optional[float] = None
    note: str = ''


def bench_model(case: str, impl: str, cfg, optim_cfg, optim_scope: str, batch_size: int,
                img_size: int, iters: int, warmup: int, settings: C.Settings,
                config_path: str) -> Row:
    """Build one model with the shared optimizer settings and time its step.

    A CUDA out-of-memory error gives a row with ``status='oom'``; other errors raise.
    """
    views = C.infer_views(cfg)
    row = Row(case=case, impl=impl, status='ok', config=config_path,
              model_type=C.model_type(cfg), batch_size=batch_size, img_size=img_size,
              views=views, unit='pairs/s' if views == 2 else
              ('samples/s' if views == 1 else f'{views}-view samples/s'),
              optimizer=optim_cfg['optimizer']['type'], iters=iters, warmup=warmup,
              compiled='backbone' if settings.compile else None,
              precision=settings.precision)
    meter = C.MemoryMeter(settings.device)
    meter.start()
    try:
        times, row.warmup_s, row.fused = _build_and_time(
            cfg, optim_cfg, optim_scope, views, batch_size, img_size, iters, warmup,
            settings)
    except torch.cuda.OutOfMemoryError as exc:
        row.status, row.note = 'oom', str(exc).splitlines()[0]
        return row
    finally:
        # the step's tensors were local to _build_and_time and are freed now; the
        # peak is a high-water mark, so reading it afterwards is exact
        row.peak_mem_mib, row.mem_kind = meter.peak_mib(), meter.kind
        C.free_device_memory(settings.device)
    median = statistics.median(times)
    row.ms_median, row.ms_min = 1000 * median, 1000 * min(times)
    row.ms_mean = 1000 * statistics.fmean(times)
    row.throughput = batch_size / median
    return row


def _build_and_time(cfg, optim_cfg, optim_scope, views, batch_size, img_size, iters,
                    warmup, settings):
    from mmpretrain.structures import DataSample
    torch.manual_seed(settings.seed)
    model = C.build_model(cfg, settings)
    optim_wrapper, fused = C.build_optimizer(model, optim_cfg, optim_scope,
                                             settings.fused)
    inputs = C.make_inputs(views, batch_size, img_size, settings)
    data_samples = [DataSample() for _ in range(batch_size)]
    step = C.make_step(model, optim_wrapper, inputs, data_samples, settings)
    times, warmup_s = C.time_steps(step, iters, warmup, settings.device)
    return times, warmup_s, fused


def run_case(case: Case, settings: C.Settings, batch_size: Optional[int] = None,
             img_size: Optional[int] = None, iters: Optional[int] = None,
             warmup: Optional[int] = None, cfg_options: Optional[dict] = None,
             mmp_cfg_options: Optional[dict] = None, baseline: bool = True
             ) -> List[Row]:
    """Benchmark our model, then mmpretrain's, for one case.

    Both use the optimizer settings of our config (mmpretrain's when we have none), so
    the two steps do the same optimizer work. ``None`` arguments take the case's
    values (for a case without them: the config's batch size and crop size).
    """
    ours = C.load(case.ours_config, case.ours_overrides, cfg_options) \
        if case.ours_config else None
    mmp = C.load(case.mmp_config, case.mmp_overrides, mmp_cfg_options) \
        if case.mmp_config and baseline else None
    reference = ours if ours is not None else mmp
    if reference is None:
        raise ValueError(f'case {case.name} has nothing to run')
    batch_size = batch_size or case.batch_size or int(
        reference.train_dataloader.batch_size)
    img_size = img_size or case.img_size or C.infer_img_size(reference)
    iters = case.iters if iters is None else iters
    warmup = case.warmup if warmup is None else warmup
    scope = reference.get('default_scope', 'mmpretrain')
    rows = []
    for impl, cfg, path in ((C.OURS, ours, case.ours_config),
                            (C.BASELINE, mmp, case.mmp_config)):
        if cfg is None:
            if impl == C.OURS:
                rows.append(Row(case=case.name, impl=impl, status='n/a',
                                batch_size=batch_size, img_size=img_size,
                                note='no slimselfsup implementation'))
            continue
        print(f'[{case.name}] {impl}: {path}', file=sys.stderr, flush=True)
        rows.append(bench_model(case.name, impl, cfg, reference.optim_wrapper, scope,
                                batch_size, img_size, iters, warmup, settings, path))
    return rows


def speedups(rows: Sequence[Row]) -> Dict[str, Optional[float]]:
    """Throughput of ours over mmpretrain's per case (None when either is missing)."""
    out: Dict[str, Optional[float]] = {}
    for case in dict.fromkeys(r.case for r in rows):
        by_impl = {r.impl: r for r in rows if r.case == case}
        ours, base = by_impl.get(C.OURS), by_impl.get(C.BASELINE)
        ok = ours and base and ours.throughput and base.throughput
        out[case] = ours.throughput / base.throughput if ok else None
    return out


def step_table(rows: Sequence[Row]) -> str:
    """The rows as a markdown table, with a footnote on memory and throughput."""
    ratios = speedups(rows)
    header = ['case', 'impl', 'model', 'batch', 'img', 'precision', 'compiled',
              'throughput', 'ms/step (median)', 'peak mem (MiB)',
              'speed-up ours/mmpretrain']
    lines = []
    for r in rows:
        ratio = ratios.get(r.case) if r.impl == C.OURS else None
        ok = r.status == 'ok'
        lines.append([
            r.case, r.impl, r.model_type or 'n/a', str(r.batch_size), str(r.img_size),
            r.precision if ok else 'n/a', r.compiled or 'no',
            f'{C.fmt(r.throughput)} {r.unit}' if ok else r.status,
            C.fmt(r.ms_median, 2), C.fmt(r.peak_mem_mib),
            f'{ratio:.2f}x' if ratio else ('n/a' if r.impl == C.OURS else '-')])
    kinds = sorted({r.mem_kind for r in rows if r.mem_kind})
    notes = ([f'peak mem: {", ".join(kinds)}'] if kinds else []) + [
        'throughput = batch size / median step time; pairs/s counts images with 2 '
        'views each; model step only (synthetic on-device batch, no data loading or '
        'preprocessing)']
    return C.markdown_table(header, lines) + '\n\n' + '\n'.join(f'* {n}' for n in notes)


def report(rows: List[Row], settings: C.Settings, preset: Optional[str],
           argv: Sequence[str]) -> Dict[str, Any]:
    """Everything the JSON output holds."""
    import mmengine
    import mmpretrain

    import slimselfsup
    return {
        'meta': {
            'date': datetime.date.today().isoformat(),
            'command': 'python tools/benchmarks/bench_step.py ' + shlex.join(argv),
            'device': C.device_name(settings.device),
            'device_type': settings.device.type, 'precision': settings.precision,
            'channels_last': settings.channels_last,
            'compile': 'backbone' if settings.compile else None,
            'fused_requested': settings.fused,
            'cudnn_benchmark': settings.device.type == 'cuda',
            'torch': torch.__version__, 'mmengine': mmengine.__version__,
            'mmpretrain': mmpretrain.__version__,
            'slimselfsup': slimselfsup.__version__, 'commit': C.git_commit(),
            'preset': preset,
            'measures': 'model step only: loss (incl. momentum/queue updates) + '
                        'backward + optimizer step on a synthetic on-device batch',
        },
        'rows': [asdict(r) for r in rows],
        'speedup_ours_over_mmpretrain': speedups(rows),
    }


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(
        description='Time the training step (loss incl. momentum/queue updates + '
        'backward + optimizer step) of a slimselfsup model and of mmpretrain\'s '
        'equivalent on synthetic on-device batches. Data loading is not measured.')
    parser.add_argument('config', nargs='?', help='our config (omit with --preset)')
    parser.add_argument('--preset', help=f'named pairing instead of CONFIG. '
                        f'{preset_help()}')
    base = parser.add_mutually_exclusive_group()
    base.add_argument('--mmpretrain-config', help='baseline config; a path or '
                      f'{C.MMPRETRAIN_PREFIX}<method>/<file>.py for the configs '
                      'packaged with mmpretrain')
    base.add_argument('--no-baseline', action='store_true', help='time ours only')
    parser.add_argument('--batch-size', type=int, help='images per step, each with '
                        'all its views (default: the preset\'s, else the config\'s)')
    parser.add_argument('--img-size', type=int, help='image side (default: the '
                        'preset\'s, else the pipeline\'s crop size, else 224)')
    parser.add_argument('--iters', type=int,
                        help=f'timed steps (default: preset, else {DEFAULT_ITERS})')
    parser.add_argument('--warmup', type=int, help=f'untimed steps before timing '
                        f'(default: preset, else {DEFAULT_WARMUP})')
    parser.add_argument('--device', choices=['cuda', 'cpu'],
                        help='default: cuda when available')
    parser.add_argument('--bf16', action='store_true',
                        help='run the loss under torch.autocast(dtype=bfloat16); an '
                        'AmpOptimWrapper of the config becomes a plain OptimWrapper')
    parser.add_argument('--no-tf32', action='store_true',
                        help='on CUDA, disable TF32 matmuls/convolutions')
    parser.add_argument('--channels-last', action='store_true',
                        help='convert models and inputs to channels_last')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the online backbone in place '
                        '(model.backbone.compile()); the rest stays eager')
    parser.add_argument('--fused', action='store_true',
                        help='fused=True for optimizers that accept it (SGD/Adam/AdamW)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--verbose', action='store_true',
                        help='keep mmengine\'s INFO logs')
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


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Run the benchmark, print the table, optionally write JSON."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    from slimselfsup.utils import register_all_modules
    register_all_modules()
    # print_log(logger='current') goes to the newest MMLogger: this one.
    MMLogger.get_instance('bench_step', log_level='INFO' if args.verbose else 'WARNING')
    settings = C.Settings(device=torch.device(args.device), bf16=args.bf16,
                          channels_last=args.channels_last, compile=args.compile,
                          fused=args.fused, tf32=not args.no_tf32, seed=args.seed)
    settings.apply_backend_flags()
    if args.preset is not None:
        cases = PRESETS[args.preset].cases
    else:
        cases = (Case(osp.splitext(osp.basename(args.config))[0],
                      ours_config=args.config, mmp_config=args.mmpretrain_config,
                      batch_size=0, img_size=0),)
    rows: List[Row] = []
    for case in cases:
        try:
            rows += run_case(case, settings, args.batch_size, args.img_size, args.iters,
                             args.warmup, args.cfg_options, args.mmpretrain_cfg_options,
                             baseline=not args.no_baseline)
        except (FileNotFoundError, KeyError) as exc:  # bad config path or option
            sys.exit(f'bench_step.py: error: {exc.args[0] if exc.args else exc}')
    result = report(rows, settings, args.preset, argv)
    meta = result['meta']
    print(f"\n{meta['device']} | torch {meta['torch']} | mmpretrain "
          f"{meta['mmpretrain']} | {settings.precision}"
          f"{' | channels_last' if settings.channels_last else ''}"
          f"{' | compile(backbone)' if settings.compile else ''}"
          f"{' | fused optimizer requested' if settings.fused else ''}\n")
    print(step_table(rows))
    if args.out:
        C.write_json(args.out, result)
        print(f'\nwrote {args.out}')
    return result


if __name__ == '__main__':
    main()
