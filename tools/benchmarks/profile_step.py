"""Profile one training step of our models with the torch profiler: what runs, and what
need not.

For each case of a preset (``bench_step.py``'s presets) it builds our model as the
benchmark does, runs ``--warmup`` steps, then profiles ``--steps`` steps and prints

* the operator table: aten operators by self time (CPU, or CUDA kernels on a GPU),
  with their share of the step and their number of calls per step;
* the data movement our Python code asks for, per step and with where it comes from:
  copies and casts (``copy_``, ``clone``, ``_to_copy``, ``cat``, gathers), counted
  at the dispatcher, so kernels that a CPU backend adds inside an operator (oneDNN
  weight reorders) are not counted, and the operations that make a GPU host wait
  (:class:`common.HostSyncCounter`).

On the CPU only the per-step work is meaningful (what a GPU would also pay for); CPU
times are no GPU prediction. Example::

    python tools/benchmarks/profile_step.py --preset mocov2_r50 --device cpu \\
        --batch-size 16 --img-size 64 --out profile_mocov2.json
"""
from __future__ import annotations
import argparse
import os.path as osp
import sys
from typing import Any, Dict, List, Optional, Sequence

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import common as C  # noqa: E402
import torch  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from presets import PRESETS  # noqa: E402

#: Operators that move data without computing anything new.
COPY_OPS = ('copy_', 'clone', '_to_copy', 'cat', 'stack', 'index', 'index_select',
            'gather', 'masked_select', 'randperm')


class CopyCounter:
    """Copies our code dispatches (outside autograd's own), with their places."""

    def __init__(self) -> None:
        self.counts: Dict[str, int] = {}

    def record(self):
        from torch.utils._python_dispatch import TorchDispatchMode
        counts = self.counts

        class Mode(TorchDispatchMode):

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                name = func._schema.name.split('::')[-1]
                if name in COPY_OPS:
                    key = f'{name} @ {C._caller()}'
                    counts[key] = counts.get(key, 0) + 1
                return func(*args, **(kwargs or {}))

        return Mode()


def profile_case(case, settings: C.Settings, batch_size: int, img_size: int,
                 warmup: int, steps: int, top: int) -> Dict[str, Any]:
    """Profile our model of ``case``; returns the operator table and overheads."""
    from mmpretrain.structures import DataSample
    from torch.profiler import ProfilerActivity, profile
    cfg = C.load(case.ours_config, case.ours_overrides)
    torch.manual_seed(settings.seed)
    model = C.build_model(cfg, settings)
    optim_wrapper, _ = C.build_optimizer(model, cfg.optim_wrapper,
                                         cfg.get('default_scope', 'mmpretrain'),
                                         settings.fused)
    inputs = C.make_inputs(C.infer_views(cfg), batch_size, img_size, settings)
    step = C.make_step(model, optim_wrapper, inputs,
                       [DataSample() for _ in range(batch_size)], settings)
    for _ in range(warmup):
        step()
    syncs, copies = C.HostSyncCounter(), CopyCounter()
    with syncs.record(), copies.record():
        step()
    cuda = settings.device.type == 'cuda'
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    C.synchronize(settings.device)
    with profile(activities=activities) as prof:
        for _ in range(steps):
            step()
        C.synchronize(settings.device)
    events = [e for e in prof.key_averages() if e.key.startswith('aten::')]

    def self_us(e) -> float:
        return e.self_device_time_total if cuda else e.self_cpu_time_total

    total = sum(self_us(e) for e in events) or 1.0
    ops = sorted(({'op': e.key, 'calls_per_step': e.count / steps,
                   'self_us_per_step': self_us(e) / steps,
                   'share': self_us(e) / total} for e in events),
                 key=lambda r: -r['self_us_per_step'])
    return dict(
        case=case.name, model_type=C.model_type(cfg), batch_size=batch_size,
        img_size=img_size, time_kind='CUDA self time' if cuda else 'CPU self time',
        ops=ops[:top], copies=copies.counts, host_syncs=syncs.by_place())


def report(result: Dict[str, Any]) -> str:
    """Markdown: the operator table, then copies and host syncs with their places."""
    lines = [C.markdown_table(
        ['operator', f"share of {result['time_kind']}", 'calls/step'],
        [[r['op'], f"{100 * r['share']:.1f} %", f"{r['calls_per_step']:g}"]
         for r in result['ops']]), '']
    for title, key in (('copies dispatched per step', 'copies'),
                       ('host syncs per step', 'host_syncs')):
        items = sorted(result[key].items(), key=lambda kv: -kv[1])
        lines.append(f'* {title}: ' + ('; '.join(f'{n}x {k}' for k, n in items)
                                       if items else 'none'))
    return '\n'.join(lines)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--preset', nargs='+', default=['mocov2_r50', 'simclr_r18_cifar'],
                        choices=sorted(PRESETS))
    parser.add_argument('--batch-size', type=int, help="default: the preset's")
    parser.add_argument('--img-size', type=int, help="default: the preset's")
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--steps', type=int, default=2, help='profiled steps')
    parser.add_argument('--top', type=int, default=20, help='operators in the table')
    parser.add_argument('--device', choices=['cuda', 'cpu'])
    parser.add_argument('--bf16', action='store_true')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--out', help='write the results as JSON to this file')
    args = parser.parse_args(argv)
    args.device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    return args


def main(argv: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
    """Profile every case of the presets and print the reports."""
    args = parse_args(argv)
    from slimselfsup.utils import register_all_modules
    register_all_modules()
    MMLogger.get_instance('profile_step', log_level='WARNING')
    settings = C.Settings(device=torch.device(args.device), bf16=args.bf16,
                          channels_last=args.channels_last)
    settings.apply_backend_flags()
    results = []
    for name in args.preset:
        for case in PRESETS[name].cases:
            if case.ours_config is None:
                continue
            result = profile_case(case, settings, args.batch_size or case.batch_size,
                                  args.img_size or case.img_size, args.warmup,
                                  args.steps, args.top)
            results.append(result)
            print(f"\n### {result['case']}: {result['model_type']}, batch "
                  f"{result['batch_size']}, {result['img_size']} px, "
                  f"{C.device_name(settings.device)}, {settings.precision}\n")
            print(report(result))
    if args.out:
        C.write_json(args.out, dict(meta=dict(device=C.device_name(settings.device),
                                              commit=C.git_commit(),
                                              torch=torch.__version__),
                                    results=results))
    return results


if __name__ == '__main__':
    main()
