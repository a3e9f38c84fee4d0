"""The GPU ladder: the owed GPU measurements, in order, each within its time budget, in
one command that fits one call on a lent GPU machine.

The rungs (``ladder_rungs.py``) run in the order of :data:`LADDER`; the results file
(``tools/benchmarks/ladder_results.json``) says which are done, and by default the
command climbs the owed ones. A rung whose budget does not fit in what is left of
``--budget`` is skipped and stays owed. Each rung runs in a child process that is
killed at its budget; everything it measured is written to ``OUT/ladder.json`` (and
``ladder.md``) as soon as it has it, so a crash, a kill or the end of the call loses
nothing already measured. ``merge_ladder.py OUT`` then puts the tables into
``docs/benchmarks.md`` and marks the finished rungs done.

On the GPU machine (see tools/benchmarks/README.md for the whole ``run`` call)::

    python3 tools/benchmarks/gpu_ladder.py --out $OUT

CPU dry run of every rung at tiny sizes (what CI runs)::

    python tools/benchmarks/gpu_ladder.py --device cpu --data demo/cifar10-mini \\
        --all --out /tmp/ladder
"""
from __future__ import annotations
import argparse
import datetime
import json
import os
import os.path as osp
import shlex
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
import common as C  # noqa: E402
import ladder_rungs as R  # noqa: E402
import torch  # noqa: E402
from merge_ladder import render_markdown  # noqa: E402

RESULTS = osp.join(HERE, 'ladder_results.json')
DATA_DIR = osp.join(C.REPO_ROOT, '.gpu_data')
DEFAULT_PACK = osp.join(DATA_DIR, 'cifar10_jpeg.npz')
DEFAULT_BUDGET = 530  # s: a 9-minute call less the wheel install, and a margin
GRACE = 20  # s past a rung's budget before its process is killed
LOG_LIMIT = 8 * 2**20  # bytes of OUT/ladder.log (a file sent back must stay < 16 MiB)


@dataclass(frozen=True)
class Rung:
    """One rung: its function and its time budgets (GPU, CPU dry run) in seconds."""

    name: str
    fn: Callable[[R.Context], dict]
    budget_s: int
    dry_budget_s: int

    @property
    def title(self) -> str:
        """First line of the function's docstring."""
        return ' '.join((self.fn.__doc__ or self.name).split('\n\n')[0].split())


LADDER: List[Rung] = [
    Rung('1-smoke', R.rung_smoke, 110, 60),
    Rung('2a-step-eager', R.rung_step_eager, 130, 60),
    # the headline before the compiled steps: 1 + 2a + 3 fit one call
    Rung('3-headline', R.rung_headline, 290, 90),
    Rung('2b-step-compile', R.rung_step_compile, 300, 60),
    Rung('2c-step-compile-fp32', R.rung_step_compile_fp32, 300, 60),
    Rung('4a-slimclr-vs-alone', R.rung_slimclr_vs_alone, 480, 120),
    Rung('4b-flatnce-vs-infonce', R.rung_flatnce_vs_infonce, 480, 60),
    Rung('4c-seed-vs-mocov2', R.rung_seed_vs_mocov2, 480, 120),
    Rung('4d-tec-vs-mae', R.rung_tec_vs_mae, 480, 120),
    Rung('4e-mmcv-cuda', R.rung_mmcv_cuda, 480, 30),
    Rung('4f-balloon', R.rung_balloon, 480, 60),
]
BY_NAME: Dict[str, Rung] = {r.name: r for r in LADDER}


# --------------------------------------------------------------------------- state
def load_results(path: str = RESULTS) -> dict:
    """The repo's record of finished rungs; rungs it does not list are owed."""
    data = {'rungs': {}}
    if osp.isfile(path):
        with open(path) as f:
            data = json.load(f)
    for rung in LADDER:
        data['rungs'].setdefault(rung.name, {'status': 'owed'})
    return data


def owed(results: dict) -> List[str]:
    """Names of the rungs not done, in ladder order."""
    return [r.name for r in LADDER if results['rungs'][r.name]['status'] != 'done']


class Report:
    """``OUT/ladder.json`` and ``OUT/ladder.md``, rewritten (atomically) on every
    change."""

    def __init__(self, out_dir: str, meta: Optional[dict] = None) -> None:
        self.json_path = osp.join(out_dir, 'ladder.json')
        self.md_path = osp.join(out_dir, 'ladder.md')
        if meta is None:
            with open(self.json_path) as f:
                self.data = json.load(f)
        else:
            self.data = {'meta': meta, 'rungs': {}}

    def reload(self) -> None:
        """Read what a child process wrote."""
        with open(self.json_path) as f:
            self.data = json.load(f)

    def set(self, name: str, **entry) -> None:
        """Update one rung's entry and write both files."""
        self.data['rungs'].setdefault(name, {}).update(entry)
        C.write_json(self.json_path, self.data)
        tmp = self.md_path + '.tmp'
        with open(tmp, 'w') as f:
            f.write(render_markdown(self.data))
        os.replace(tmp, self.md_path)


# --------------------------------------------------------------------------- running
def run_in_process(rung: Rung, ctx: R.Context) -> dict:
    """Run a rung here; exceptions become a failed entry."""
    try:
        out = rung.fn(ctx)
        return dict(out, status='done' if out['complete'] else 'partial')
    except Exception:  # noqa: BLE001  (recorded; the next rung runs)
        traceback.print_exc()
        return dict(status='failed', notes=['failed: ' + traceback.format_exc(
            limit=4).strip().splitlines()[-1]], traceback=traceback.format_exc()[-4000:])


def run_child(rung: Rung, args: argparse.Namespace, budget: float, report: Report,
              log) -> dict:
    """Run a rung in a fresh process (its own CUDA context, no leftovers), killed at
    its budget; its output goes to our stdout and ``OUT/ladder.log``."""
    cmd = [sys.executable, osp.abspath(__file__), '--child', rung.name, '--out',
           args.out, '--device', args.device, '--data', args.data,
           '--rung-deadline', str(time.time() + budget)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, cwd=C.REPO_ROOT,
                            env=dict(os.environ, PYTHONUNBUFFERED='1'))

    def pump() -> None:
        for line in proc.stdout:
            sys.stdout.write(line)
            if log.tell() < LOG_LIMIT:
                log.write(line)
        sys.stdout.flush()
        log.flush()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=budget + args.grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        code = None
    reader.join(timeout=5)
    report.reload()
    entry = report.data['rungs'].get(rung.name, {})
    if entry.get('status') in ('done', 'partial', 'failed'):
        return entry
    status = 'timeout' if code is None else 'failed'
    note = (f'killed at its budget ({budget:.0f} s + {args.grace:.0f} s)'
            if code is None else f'process exited with code {code}')
    return dict(entry, status=status, notes=entry.get('notes', []) + [note])


def child_main(args: argparse.Namespace) -> None:
    """``--child RUNG``: run one rung, recording progress in ``OUT/ladder.json``."""
    rung = BY_NAME[args.child]
    report = Report(args.out)
    ctx = _context(args, args.rung_deadline,
                   save=lambda partial: report.set(rung.name, **partial,
                                                   status='running'))
    entry = run_in_process(rung, ctx)
    R.remove(ctx.work_dir)
    report.reload()
    report.set(rung.name, **entry)


def _context(args: argparse.Namespace, deadline: float,
             save: Callable[[dict], None]) -> R.Context:
    device = torch.device(args.device)
    C.Settings(device=device).apply_backend_flags()
    if device.type == 'cpu':  # tiny dry-run models: threads only contend
        torch.set_num_threads(1)
    return R.Context(device=device, dry=device.type == 'cpu', data=args.data,
                     deadline=deadline, work_dir=R.scratch_dir(), out_dir=args.out,
                     save=save)


def commit() -> Optional[str]:
    """The repo's commit: git where there is a checkout, else the one prep_gpu.sh
    wrote into .gpu_data/COMMIT (the GPU machine gets a copy without .git)."""
    sha = C.git_commit()
    path = osp.join(DATA_DIR, 'COMMIT')
    if sha is None and osp.isfile(path):
        with open(path) as f:
            sha = f.read().strip() or None
    return sha


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', required=True, help='folder for ladder.json/.md/.log')
    parser.add_argument('--device', choices=['cuda', 'cpu'],
                        help='default: cuda when available (cpu = dry run)')
    parser.add_argument('--data', help=f'CIFAR-10 pack or class folders (default: '
                        f'{osp.relpath(DEFAULT_PACK, C.REPO_ROOT)})')
    parser.add_argument('--budget', type=float, default=DEFAULT_BUDGET,
                        help='seconds for all rungs together')
    parser.add_argument('--rungs', nargs='+', choices=list(BY_NAME),
                        help='run these (in ladder order) instead of the owed ones')
    parser.add_argument('--all', action='store_true', help='every rung, done or not')
    parser.add_argument('--rung-budget', nargs='+', default=[], metavar='NAME=S',
                        help='override rung budgets, e.g. 3-headline=200')
    parser.add_argument('--results', default=RESULTS, help='the record of done rungs')
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--in-process', action='store_true',
                      help='run rungs in this process (no kill at the budget; the '
                      'default for the CPU dry run)')
    mode.add_argument('--isolate', action='store_true',
                      help='run each rung in a child process killed at its budget '
                      '(the default on CUDA)')
    parser.add_argument('--grace', type=float, default=GRACE,
                        help='seconds past a rung\'s budget before its process is '
                        'killed')
    parser.add_argument('--child', choices=list(BY_NAME), help=argparse.SUPPRESS)
    parser.add_argument('--rung-deadline', type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device here (use --device cpu for the '
                     'dry run)')
    args.data = osp.abspath(args.data or DEFAULT_PACK)
    if not osp.exists(args.data):
        parser.error(f'--data {args.data} does not exist; make the pack with '
                     '`bash tools/benchmarks/prep_gpu.sh`')
    args.out = osp.abspath(args.out)
    try:
        args.rung_budget = {k: float(v) for k, v in
                            (item.split('=', 1) for item in args.rung_budget)}
    except ValueError:
        parser.error('--rung-budget takes NAME=SECONDS')
    unknown = sorted(set(args.rung_budget) - set(BY_NAME))
    if unknown:
        parser.error(f'--rung-budget: unknown rung(s) {unknown}; rungs: '
                     f'{", ".join(BY_NAME)}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Climb the ladder; returns what ``OUT/ladder.json`` holds."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    from mmengine.logging import MMLogger

    from slimselfsup.utils import register_all_modules
    register_all_modules()
    MMLogger.get_instance('gpu_ladder', log_level='ERROR')
    if args.child:
        child_main(args)
        return {}
    start = time.time()
    deadline = start + args.budget
    device = torch.device(args.device)
    dry = device.type == 'cpu'
    if args.all or args.rungs:
        names = [r.name for r in LADDER if args.all or r.name in args.rungs]
    else:
        names = owed(load_results(args.results))
    os.makedirs(args.out, exist_ok=True)
    report = Report(args.out, meta=dict(
        date=datetime.date.today().isoformat(),
        started=datetime.datetime.now().isoformat(timespec='seconds'),
        device=C.device_name(device), device_type=device.type, dry=dry,
        commit=commit(), budget_s=args.budget, planned=names,
        command='python3 tools/benchmarks/gpu_ladder.py ' + shlex.join(argv),
        environment=R.environment()))
    in_process = args.in_process or (dry and not args.isolate)
    with open(osp.join(args.out, 'ladder.log'), 'a') as log:

        def say(line: str) -> None:
            print(line, flush=True)
            log.write(line + '\n')
            log.flush()

        say(f'ladder: {", ".join(names) or "nothing owed"} on '
            f'{report.data["meta"]["device"]}, {args.budget:.0f} s')
        for name in names:
            rung = BY_NAME[name]
            budget = args.rung_budget.get(name, rung.dry_budget_s if dry
                                          else rung.budget_s)
            left = deadline - time.time()
            if budget > left:
                report.set(name, status='skipped', budget_s=budget, title=rung.title,
                           reason=f'needs {budget:.0f} s, {left:.0f} s left: still owed')
                continue
            say(f'\n=== rung {name} ({budget:.0f} s budget, {left:.0f} s left)')
            report.set(name, status='running', budget_s=budget, title=rung.title)
            t0 = time.time()
            if in_process:
                ctx = _context(args, t0 + budget, save=lambda partial, n=name: report.set(
                    n, **partial, status='running'))
                entry = run_in_process(rung, ctx)
                R.remove(ctx.work_dir)
            else:
                entry = run_child(rung, args, budget, report, log)
            report.set(name, **dict(entry, seconds=time.time() - t0, budget_s=budget))
            say(f'=== rung {name}: {entry["status"]} in {time.time() - t0:.0f} s')
    print(f'\nladder done in {time.time() - start:.0f} s; results in {args.out}')
    for name, entry in report.data['rungs'].items():  # the call's output tail
        print(f"- {name}: {entry['status']}; " + '; '.join(
            (entry.get('notes') or [])[:3] + ([entry['reason']] if entry.get('reason')
                                              else [])))
    return report.data


if __name__ == '__main__':
    main()
