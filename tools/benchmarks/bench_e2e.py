"""End-to-end training throughput with real data: loading, JPEG decoding, augmentation.

For each case three numbers come from the same model, data and run:

* **loader**: samples/s of the config's ``train_dataloader`` followed by the model's
  data preprocessor (where GPU augmentation happens), and that divided by the
  number of loader worker processes (``per worker``, i.e. per CPU core busy with
  data; 1 for ``num_workers=0``);
* **e2e**: samples/s of full training steps fed by that loader
  (``model.train_step``: preprocessing, loss, backward, optimizer step);
* **model step**: samples/s of the same step on one preprocessed batch reused, so
  ``e2e / model step`` says how much of the step time the data path costs.

Peak memory (CUDA allocator, or peak-RSS growth on CPU) covers the e2e phase. The
baseline is mmpretrain's model fed by the mmpretrain-style CPU pipeline (our CPU
recipe: mmpretrain transforms in loader workers).

Examples::

    python tools/benchmarks/bench_e2e.py --preset simclr_r18_cifar \\
        --data-root data/cifar10 --pack data/cifar10_jpeg.npz --bf16
    python tools/benchmarks/bench_e2e.py --preset tiny --device cpu   # CI
"""
from __future__ import annotations
import argparse
import os
import os.path as osp
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Optional, Sequence

HERE = osp.dirname(osp.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import common as C  # noqa: E402
import presets as P  # noqa: E402
import torch  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

_TINY_BACKBONE = {'model.backbone': P.resnet_cifar(width=P.TINY_WIDTH), **P.TINY_NECK}


@dataclass(frozen=True)
class E2ECase:
    """One row: a model config fed by the data of a (possibly other) config.

    Args:
        name (str): Case name.
        impl (str): ``ours`` or ``mmpretrain``.
        data_config (str): Config whose ``train_dataloader`` and
            ``data_preprocessor`` feed the model.
        model_config (str, optional): Config of the model; default
            ``data_config``.
        overrides (dict): Overrides of the model config.
        data_key (str): ``data_root`` (class folders) or ``pack`` (the ``.npz``
            of pack_cifar_for_gpu.py) to point the data set at.
    """

    name: str
    impl: str
    data_config: str
    model_config: Optional[str] = None
    overrides: Dict[str, Any] = field(default_factory=dict)
    data_key: str = 'data_root'


PRESETS: Dict[str, tuple] = {
    'simclr_r18_cifar': (
        E2ECase('simclr_r18_cifar', 'ours (GPU aug, data on GPU)', P.OURS_SIMCLR_GPU,
                data_key='pack'),
        E2ECase('simclr_r18_cifar', 'ours (CPU aug)', P.OURS_SIMCLR_CIFAR),
        E2ECase('simclr_r18_cifar', 'mmpretrain (CPU aug)', P.OURS_SIMCLR_CIFAR,
                model_config=P.MMP_SIMCLR,
                overrides=P.MMP_SIMCLR_CIFAR),
    ),
    'tiny': (
        E2ECase('tiny_simclr', 'ours (GPU aug, data on GPU)', P.OURS_SIMCLR_GPU,
                overrides=_TINY_BACKBONE),
        E2ECase('tiny_simclr', 'ours (CPU aug)', P.OURS_SIMCLR_CIFAR,
                overrides=_TINY_BACKBONE),
        E2ECase('tiny_simclr', 'mmpretrain (CPU aug)', P.OURS_SIMCLR_CIFAR,
                model_config=P.MMP_SIMCLR, overrides=_TINY_BACKBONE),
    ),
}


@dataclass
class E2ERow:
    """Result of one case."""

    case: str
    impl: str
    model_type: str
    batch_size: int
    num_workers: int
    loader_samples_s: float
    loader_samples_s_per_worker: float
    e2e_samples_s: float
    model_step_samples_s: float
    e2e_over_model_step: float
    peak_mem_mib: float
    mem_kind: str


def _point_data(cfg, case: E2ECase, args: argparse.Namespace) -> None:
    """Aim the data set at --data-root / --pack and apply loader options."""
    loader = cfg.train_dataloader
    root = args.pack if case.data_key == 'pack' and args.pack else args.data_root
    loader.dataset.data_root = root
    if args.batch_size:
        loader.batch_size = args.batch_size
    if args.num_workers is not None and loader.get('num_workers', 0) > 0:
        loader.num_workers = args.num_workers
        loader.persistent_workers = args.num_workers > 0
    if loader.dataset.type == 'CIFARTensorDataset':
        loader.dataset.device = args.device
        if args.max_samples:
            loader.dataset.indices = args.max_samples
    elif args.max_samples:
        loader.dataset.indices = args.max_samples


def run_case(case: E2ECase, args: argparse.Namespace,
             settings: C.Settings) -> E2ERow:
    """Build loader and model, then time loader, e2e steps and model steps."""
    from mmengine.runner import Runner
    data_cfg = C.load(case.data_config, {}, None)
    _point_data(data_cfg, case, args)
    model_cfg = C.load(case.model_config or case.data_config, case.overrides, None)
    if case.model_config is None:
        model_cfg.model.data_preprocessor = data_cfg.data_preprocessor
    else:
        model_cfg.model.data_preprocessor = model_cfg.data_preprocessor
    with DefaultScope.overwrite_default_scope('slimselfsup'):
        loader = Runner.build_dataloader(data_cfg.train_dataloader,
                                         seed=settings.seed)
    batch_size = data_cfg.train_dataloader.batch_size
    workers = data_cfg.train_dataloader.get('num_workers', 0)

    def batches():
        while True:
            yield from loader

    stream = batches()
    meter = C.MemoryMeter(settings.device)
    meter.start()
    model = C.build_model(model_cfg, settings)
    optim_wrapper, _ = C.build_optimizer(model, data_cfg.optim_wrapper, 'slimselfsup',
                                         settings.fused)
    sync = (torch.cuda.synchronize if settings.device.type == 'cuda'
            else (lambda: None))

    def timed(fn, iters: int, warmup: int) -> float:
        for _ in range(warmup):
            fn()
        sync()
        start = time.perf_counter()
        for _ in range(iters):
            fn()
        sync()
        return iters * batch_size / (time.perf_counter() - start)

    def load_batch():
        return model.data_preprocessor(next(stream), True)

    def step(data):
        with settings.autocast():
            losses = model.loss(data['inputs'], data['data_samples'])
        optim_wrapper.update_params(C.total_loss(losses))

    loader_rate = timed(load_batch, args.iters, args.warmup)
    e2e_rate = timed(lambda: step(load_batch()), args.iters, args.warmup)
    fixed = load_batch()
    model_rate = timed(lambda: step(fixed), args.iters, args.warmup)
    peak = meter.peak_mib()
    model_type = (f"{model_cfg.get('default_scope', 'mmpretrain')}."
                  f"{model_cfg.model['type']}")
    return E2ERow(case=case.name, impl=case.impl, model_type=model_type,
                  batch_size=batch_size, num_workers=workers,
                  loader_samples_s=loader_rate,
                  loader_samples_s_per_worker=loader_rate / max(workers, 1),
                  e2e_samples_s=e2e_rate, model_step_samples_s=model_rate,
                  e2e_over_model_step=e2e_rate / model_rate, peak_mem_mib=peak,
                  mem_kind=meter.kind)


def markdown_table(rows: Sequence[E2ERow]) -> str:
    """The rows as a markdown table."""
    header = ['case', 'impl', 'model', 'batch', 'workers', 'loader samples/s',
              'per worker', 'e2e samples/s', 'model step samples/s',
              'e2e / model step', 'peak mem (MiB)']
    return C.markdown_table(header, [
        [r.case, r.impl, r.model_type, str(r.batch_size), str(r.num_workers),
         C.fmt(r.loader_samples_s), C.fmt(r.loader_samples_s_per_worker),
         C.fmt(r.e2e_samples_s), C.fmt(r.model_step_samples_s),
         f'{r.e2e_over_model_step:.2f}', C.fmt(r.peak_mem_mib)] for r in rows])


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--preset', required=True, choices=sorted(PRESETS))
    parser.add_argument('--data-root', default='data/cifar10',
                        help='class folders <root>/train/<class>/*.jpg')
    parser.add_argument('--pack', help='.npz from pack_cifar_for_gpu.py for the '
                        'data-on-GPU rows (default: read --data-root folders)')
    parser.add_argument('--batch-size', type=int)
    parser.add_argument('--num-workers', type=int,
                        help='loader workers of the CPU-pipeline rows')
    parser.add_argument('--max-samples', type=int,
                        help='use only the first N training images')
    parser.add_argument('--iters', type=int, default=30)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--device', choices=['cuda', 'cpu'])
    parser.add_argument('--bf16', action='store_true')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--fused', action='store_true')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the results as JSON to this file')
    args = parser.parse_args(argv)
    if args.device is None:
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device available')
    if args.iters < 1 or args.warmup < 0:
        parser.error('--iters must be >= 1 and --warmup >= 0')
    return args


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Run the preset, print the table, optionally write JSON."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    from slimselfsup.utils import register_all_modules
    register_all_modules()
    MMLogger.get_instance('bench_e2e', log_level='WARNING')
    device = torch.device(args.device)
    settings = C.Settings(device=device, bf16=args.bf16,
                          channels_last=args.channels_last, fused=args.fused,
                          seed=args.seed)
    settings.apply_backend_flags()
    rows = []
    for case in PRESETS[args.preset]:
        print(f'[{case.name}] {case.impl}', file=sys.stderr, flush=True)
        torch.manual_seed(args.seed)
        rows.append(run_case(case, args, settings))
    print(f'\n{C.device_name(device)} | torch {torch.__version__} | '
          f'{settings.precision} | {args.iters} timed iters after {args.warmup}\n')
    print(markdown_table(rows))
    result = dict(meta=dict(command='python tools/benchmarks/bench_e2e.py ' +
                            ' '.join(argv), device=C.device_name(device),
                            device_type=device.type, precision=settings.precision,
                            commit=C.git_commit(),
                            cpu_count=os.cpu_count()),
                  rows=[asdict(r) for r in rows])
    if args.out:
        C.write_json(args.out, result)
        print(f'\nwrote {args.out}')
    return result


if __name__ == '__main__':
    main()
