"""Merge a GPU ladder run (the folder ``gpu_ladder.py --out`` wrote) into the repo.

* ``docs/benchmarks.md``: the run (device, date, commit, command, every rung's notes
  and tables) goes in under ``<!-- gpu-ladder-runs -->``, newest first, and the rung
  status table between ``<!-- gpu-ladder-status:begin -->`` and
  ``<!-- gpu-ladder-status:end -->`` is rewritten from the results file;
* ``tools/benchmarks/ladder_results.json``: rungs that finished are marked done (date,
  device, commit); the others stay owed, with the last attempt noted.

A CPU dry run proves wiring, not speed: it is refused unless ``--allow-cpu`` (tests).
Merging the same run twice is refused too.

Example::

    python tools/benchmarks/merge_ladder.py /work/.device/<call>/out
"""
from __future__ import annotations
import argparse
import json
import os.path as osp
import sys
from typing import List, Optional, Sequence

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
DOC = osp.join(REPO, 'docs', 'benchmarks.md')
RESULTS = osp.join(HERE, 'ladder_results.json')
RUNS_MARK = '<!-- gpu-ladder-runs -->'
STATUS_BEGIN = '<!-- gpu-ladder-status:begin -->'
STATUS_END = '<!-- gpu-ladder-status:end -->'


def render_markdown(data: dict, heading: str = '###') -> str:
    """A ladder run as markdown: what ran where, then each rung's notes and tables."""
    meta = data['meta']
    env = meta.get('environment', {})
    lines = [f"- device: {meta['device']}" + (f", {env['gpu_mem_gib']} GiB" if
                                              env.get('gpu_mem_gib') else ''),
             f"- date: {meta['date']}, commit {meta.get('commit') or 'unknown'}",
             f"- command: `{meta['command']}`",
             '- software: ' + ', '.join(f'{k} {v}' for k, v in env.items()
                                        if k not in ('gpu', 'gpu_mem_gib'))]
    if meta.get('dry'):
        lines.append('- **CPU dry run at tiny sizes: wiring only, no measurement**')
    for name, entry in data['rungs'].items():
        lines += ['', f"{heading} Rung {name}: {entry.get('status', '?')}", '',
                  entry.get('title', name)]
        if entry.get('seconds') is not None:
            lines.append(f"\n- time: {entry['seconds']:.0f} s of a "
                         f"{entry['budget_s']:.0f} s budget")
        for note in entry.get('notes', []) + ([entry['reason']] if entry.get('reason')
                                              else []):
            lines.append(f'- {note}')
        for title, table in entry.get('tables', {}).items():
            lines += ['', f'{title}:', '', table]
    return '\n'.join(lines) + '\n'


def status_table(results: dict) -> str:
    """One row per rung: done (when, where) or owed."""
    rows = ['| rung | status | measured on | commit | last attempt |',
            '|---|---|---|---|---|']
    for name, entry in results['rungs'].items():
        last = entry.get('last_attempt') or {}
        attempt = (f"{last.get('status')} on {last.get('date')} ({last.get('device')})"
                   if last else '')
        if entry['status'] == 'done':
            rows.append(f"| {name} | done {entry.get('date', '')} | "
                        f"{entry.get('device', '')} | {entry.get('commit') or ''} | "
                        f'{attempt} |')
        else:
            rows.append(f'| {name} | **owed** | | | {attempt} |')
    return '\n'.join(rows)


def merge(run_dir: str, doc: str = DOC, results_path: str = RESULTS,
          allow_cpu: bool = False) -> List[str]:
    """Merge ``run_dir/ladder.json`` into ``doc`` and ``results_path``.

    Returns:
        list[str]: The rungs newly marked done.
    """
    path = osp.join(run_dir, 'ladder.json')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist; pass the folder that '
                                'gpu_ladder.py --out wrote (the call\'s $OUT)')
    with open(path) as f:
        run = json.load(f)
    meta = run['meta']
    if meta.get('dry') and not allow_cpu:
        raise ValueError(f'{path} is a CPU dry run (wiring only); it marks nothing done. '
                         'Merge a run from a GPU machine, or pass --allow-cpu in tests.')
    with open(doc) as f:
        text = f.read()
    for mark in (RUNS_MARK, STATUS_BEGIN, STATUS_END):
        if mark not in text:
            raise ValueError(f'{doc} has no {mark!r} marker; restore the GPU ladder '
                             'section of docs/benchmarks.md')
    run_id = f"<!-- ladder-run {meta['started']} {meta['device']} -->"
    if run_id in text:
        raise ValueError(f'this run ({meta["started"]}, {meta["device"]}) is already '
                         f'merged into {doc}')
    with open(results_path) as f:
        results = json.load(f)
    done = []
    for name, entry in run['rungs'].items():
        record = dict(date=meta['date'], device=meta['device'], commit=meta.get('commit'))
        if entry.get('status') == 'done':
            results['rungs'][name] = dict(status='done', **record)
            done.append(name)
        elif results['rungs'].get(name, {}).get('status') != 'done':
            results['rungs'][name] = dict(status='owed', last_attempt=dict(
                status=entry.get('status'), **record))
    title = (f"#### {meta['date']}: {meta['device']}, ladder rungs "
             f"{', '.join(run['rungs'])}")
    section = f"{run_id}\n{title}\n\n{render_markdown(run, heading='#####')}"
    text = text.replace(RUNS_MARK, f'{RUNS_MARK}\n\n{section}', 1)
    head, rest = text.split(STATUS_BEGIN, 1)
    _, tail = rest.split(STATUS_END, 1)
    text = f'{head}{STATUS_BEGIN}\n{status_table(results)}\n{STATUS_END}{tail}'
    with open(doc, 'w') as f:
        f.write(text)
    with open(results_path, 'w') as f:
        json.dump(results, f, indent=2)
        f.write('\n')
    return done


def main(argv: Optional[Sequence[str]] = None) -> List[str]:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('run_dir', help="the ladder's --out folder")
    parser.add_argument('--doc', default=DOC)
    parser.add_argument('--results', default=RESULTS)
    parser.add_argument('--allow-cpu', action='store_true',
                        help='merge a CPU dry run (tests only)')
    args = parser.parse_args(argv)
    try:
        done = merge(args.run_dir, args.doc, args.results, args.allow_cpu)
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f'merge_ladder.py: error: {exc}')
    print(f'merged {args.run_dir} into {args.doc}; done now: {", ".join(done) or "none"}')
    return done


if __name__ == '__main__':
    main()
