"""The pipeline's report: ``report.md`` (renders on GitHub), PNG figures beside it in
``figures/`` and every number in ``report.json``.

:func:`read_scalars` collects what a training run logged (mmengine's
``LocalVisBackend`` writes ``<work_dir>/<timestamp>/vis_data/scalars.json``, one
folder per start, so resumed runs are merged), :func:`write_report` draws and
writes everything from the pipeline's stage results. Figures are drawn on
:class:`matplotlib.figure.Figure` objects (no global backend change).
"""
import glob
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np
from matplotlib.figure import Figure

from .embedding_map import UMAP_HINT, plot_embedding_map, tsne_2d, umap_2d, umap_available
from .monitors import DEFAULT_MAX_UNIFORMITY, DEFAULT_MIN_EFFECTIVE_RANK, collapse_problems

Curve = List[Tuple[float, float]]
#: Logged keys that are bookkeeping, not training terms.
NOT_TERMS = {'time', 'data_time', 'memory', 'epoch', 'iter', 'step'}
MONITOR_PANELS = (
    ('InfoNCE and its bound log(K+1); FlatNCE log xi',
     ('infonce', 'infonce_bound', 'log_xi')),
    ('cosine similarity', ('pos_cos', 'hardest_neg_cos', 'cos_gap')),
    ('alignment (lower: positives closer)', ('alignment', )),
    ('uniformity (0: collapsed)', ('uniformity', )),
    ('effective rank (1: collapsed)', ('effective_rank', )),
)


def read_scalars(work_dir: str) -> Dict[str, Curve]:
    """Every scalar a run logged, ``{key: [(step, value), ...]}`` sorted by step.

    Reads all ``<work_dir>/*/vis_data/scalars.json`` in the order of their
    timestamp folders; a step logged again after a resume replaces the earlier
    value.
    """
    merged: Dict[str, Dict[float, float]] = {}
    for path in sorted(glob.glob(osp.join(glob.escape(work_dir), '*', 'vis_data',
                                          'scalars.json'))):
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                row = json.loads(line)
                step = row.get('step')
                if step is None:
                    continue
                for key, value in row.items():
                    if key != 'step' and isinstance(value, (int, float)) and \
                            not isinstance(value, bool):
                        merged.setdefault(key, {})[step] = float(value)
    return {k: sorted(v.items()) for k, v in merged.items()}


def split_scalars(scalars: Dict[str, Curve]) -> Dict[str, Dict[str, Curve]]:
    """Group logged scalars: ``terms`` (loss terms), ``lr``, ``knn``, ``monitor``,
    ``grad`` (``SlimGradHook``)."""
    groups: Dict[str, Dict[str, Curve]] = dict(terms={}, lr={}, knn={}, monitor={},
                                               grad={})
    for key, curve in scalars.items():
        head = key.split('/')[0]
        if head in ('knn', 'monitor', 'grad'):
            groups[head][key.split('/', 1)[1]] = curve
        elif key == 'lr' or key.endswith('_lr') or key.endswith('/lr'):
            groups['lr'][key] = curve
        elif key not in NOT_TERMS:
            groups['terms'][key] = curve
    return groups


# ---------------------------------------------------------------------- figures
def _grid(n: int, size: Tuple[float, float] = (4.0, 3.0)):
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(size[0] * cols, size[1] * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _save(fig: Figure, path: str) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return path


def plot_terms(terms: Dict[str, Curve], out: str) -> Optional[str]:
    """One panel per logged training term (total, per-width terms, InfoNCE...)."""
    if not terms:
        return None
    fig, axes = _grid(len(terms))
    # logged order (total first), which keeps widths in their config order
    for ax, (key, curve) in zip(axes, sorted(terms.items(), key=lambda t: t[0] != 'loss')):
        x, y = zip(*curve)
        ax.plot(x, y, color='tab:blue')
        ax.set_title(key, fontsize=10)
        ax.set_xlabel('iteration')
        ax.grid(linestyle='-.', linewidth=0.5)
    return _save(fig, out)


def plot_lr(lrs: Dict[str, Curve], out: str) -> Optional[str]:
    """Learning rate(s) per iteration."""
    if not lrs:
        return None
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    for key, curve in sorted(lrs.items()):
        x, y = zip(*curve)
        ax.plot(x, y, label=key)
    ax.set_xlabel('iteration')
    ax.set_ylabel('learning rate')
    ax.grid(linestyle='-.', linewidth=0.5)
    ax.legend()
    return _save(fig, out)


def plot_knn_curve(knn: Dict[str, Curve], unit: str, out: str) -> Optional[str]:
    """kNN top-1 (per width where logged) at every evaluation during training."""
    keys = [k for k in knn if k.startswith('top1')]
    if not keys:
        return None
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    per_width = [k for k in keys if '_w' in k]
    for key in sorted(per_width or keys):
        x, y = zip(*knn[key])
        label = f"width {key.split('_w')[1]}" if '_w' in key else 'top-1'
        ax.plot(x, y, 'o-', label=label)
    ax.set_xlabel(unit)
    ax.set_ylabel('kNN top-1 (%)')
    ax.grid(linestyle='-.', linewidth=0.5)
    ax.legend()
    return _save(fig, out)


def plot_monitors(monitor: Dict[str, Curve], out: str) -> Optional[str]:
    """The contrastive monitors, one panel per group of :data:`MONITOR_PANELS`."""
    panels = [(title, [k for k in keys if k in monitor]) for title, keys in MONITOR_PANELS]
    panels = [(title, keys) for title, keys in panels if keys]
    if not panels:
        return None
    fig, axes = _grid(len(panels))
    for ax, (title, keys) in zip(axes, panels):
        for key in keys:
            x, y = zip(*monitor[key])
            ax.plot(x, y, '--' if key == 'infonce_bound' else '-', label=key)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel('iteration')
        ax.grid(linestyle='-.', linewidth=0.5)
        ax.legend(fontsize=8)
    return _save(fig, out)


def plot_accuracy_vs_flops(rows: List[dict], out: str) -> Optional[str]:
    """Top-1 (kNN and linear) against MACs, one point per width."""
    series = [(name, key) for name, key in (('kNN', 'knn_top1'), ('linear', 'linear_top1'))
              if any(r.get(key) is not None for r in rows)]
    if not series or len(rows) < 2 or any(r['macs_fc'] is None for r in rows):
        return None
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for name, key in series:
        pts = sorted((r['macs_fc'] / 1e6, r[key], r['width']) for r in rows
                     if r.get(key) is not None)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], 'o-', label=name)
        for x, y, w in pts:
            ax.annotate(f'{w}', (x, y), textcoords='offset points', xytext=(4, 4),
                        fontsize=8)
    ax.set_xlabel('MACs (M, backbone + linear classifier)')
    ax.set_ylabel('top-1 (%)')
    ax.set_title('Accuracy per width against compute')
    ax.grid(linestyle='-.', linewidth=0.5)
    ax.legend()
    return _save(fig, out)


# ---------------------------------------------------------------------- tables
def _fmt(value, digits: int = 2) -> str:
    return '–' if value is None else f'{value:.{digits}f}'


def table_rows(knn: Optional[dict], linear: Optional[dict],
               complexity: List[dict]) -> List[dict]:
    """One row per width: complexity, kNN and linear top-1/top-5 (None if absent)."""
    widths = [float(r['width']) for r in complexity]
    rows = []
    for c in complexity:
        w = float(c['width'])
        row = dict(width=w, params=c['params'], params_fc=c['params_fc'],
                   macs=c['macs'], macs_fc=c['macs_fc'])
        knn_w = (knn or {}).get('per_width', {}).get(str(w))
        row['knn_top1'] = knn_w.get('top1') if knn_w else None
        row['knn_top5'] = knn_w.get('top5') if knn_w else None
        metrics = (linear or {}).get('metrics', {})
        single = len(widths) == 1
        for k in ('top1', 'top5'):
            value = metrics.get(f'accuracy_w{w}/{k}')
            if value is None and single:
                value = metrics.get(f'accuracy/{k}')
            row[f'linear_{k}'] = value
        rows.append(row)
    return rows


def markdown_table(rows: List[dict]) -> str:
    lines = ['| width | params (M) | MACs (M) | kNN top-1 | kNN top-5 | linear top-1 | '
             'linear top-5 |', '|---|---|---|---|---|---|---|']
    for r in rows:
        params = None if r['params_fc'] is None else r['params_fc'] / 1e6
        macs = None if r['macs_fc'] is None else r['macs_fc'] / 1e6
        lines.append(f"| {r['width']} | {_fmt(params)} | {_fmt(macs, 1)} | "
                     f"{_fmt(r['knn_top1'])} | "
                     f"{_fmt(r['knn_top5'])} | {_fmt(r['linear_top1'])} | "
                     f"{_fmt(r['linear_top5'])} |")
    return '\n'.join(lines)


def collapse_events(monitor: Dict[str, Curve], **thresholds) -> List[str]:
    """The first collapse warning per metric over the logged monitor records."""
    steps = sorted({s for curve in monitor.values() for s, _ in curve})
    by_step = {s: {k: v for k, curve in monitor.items() for t, v in curve if t == s}
               for s in steps}
    seen, events = set(), []
    for step in steps:
        for problem in collapse_problems(by_step[step], **thresholds):
            metric = problem.split('=')[0]
            if metric not in seen:
                seen.add(metric)
                events.append(f'iteration {step:g}: {problem}')
    return events


# ---------------------------------------------------------------------- report
def write_report(work_dir: str, ctx: dict) -> dict:
    """Draw the figures and write ``report.md`` and ``report.json`` in ``work_dir``.

    Args:
        work_dir (str): The pipeline's work dir.
        ctx (dict): What the pipeline gathered: ``title``, ``meta`` (config,
            linear_config, command, git, device, date, resolved config files),
            ``stages`` (``{name: {status, wall_time_s, file}}``), ``pretrain_dir``,
            ``knn`` / ``linear`` (stage results or None), ``knn_unit``,
            ``complexity`` (rows of :func:`~slimselfsup.analysis.slim_complexity`),
            ``slimmable``, ``features`` (npz with the test features of the first
            width, or None), ``map_seed``, ``checkpoints`` (for the trajectory),
            ``thresholds`` (collapse thresholds) and ``notes`` (``{section: text}``
            for stages that did not run).

    Returns:
        dict: The content of ``report.json``.
    """
    fig_dir = osp.join(work_dir, 'figures')
    os.makedirs(fig_dir, exist_ok=True)
    for old in glob.glob(osp.join(fig_dir, '*.png')):
        os.remove(old)  # a figure that is not drawn this time must not linger
    groups = split_scalars(read_scalars(ctx['pretrain_dir']))
    rows = table_rows(ctx.get('knn'), ctx.get('linear'), ctx['complexity'])
    notes = ctx.get('notes', {})
    md: List[str] = []
    figures: Dict[str, str] = {}

    def fig(name: str, path: Optional[str], alt: str) -> str:
        if path is None:
            return ''
        figures[name] = osp.relpath(path, work_dir)
        return f'![{alt}]({figures[name]})\n'

    # results per width
    md.append(f"# Report: {ctx['title']}\n")
    md.append(_summary(rows, ctx) + '\n')
    md.append('## Accuracy, parameters and compute per width\n')
    md.append(markdown_table(rows) + '\n')
    img = ctx['complexity'][0]
    md.append(f"Parameters and MACs count what each width really uses (weight slices and "
              f"its own BN; MACs of conv and linear layers at {img['img_size']} px, "
              f"including a {img['num_classes']}-way linear classifier), from "
              '`slimselfsup.analysis.slim_complexity` '
              '(`tools/analysis_tools/slim_complexity.py`). kNN: weighted k-nearest '
              'neighbours on frozen features (Wu et al. 2018); linear: the probe of the '
              'linear stage on its test split.\n')
    for section in ('complexity', 'knn', 'linear'):
        if notes.get(section):
            md.append(f'{notes[section]}\n')
    if ctx.get('slimmable'):
        path = plot_accuracy_vs_flops(rows, osp.join(fig_dir, 'accuracy_vs_flops.png'))
        md.append(fig('accuracy_vs_flops', path, 'accuracy against MACs per width') or
                  'No accuracy to plot against compute yet.\n')

    # training curves
    md.append('## Training curves\n')
    md.append('Every term the pretraining logged (LoggerHook values, averaged over its '
              'window), per iteration; terms without "loss" in their name (per-width '
              '`ctr_w*`, `kd_w*`, `infonce`) are logged beside the optimised total.\n')
    md.append(fig('terms', plot_terms(groups['terms'], osp.join(fig_dir, 'loss_terms.png')),
                  'training terms') or 'No training term was logged.\n')
    md.append(fig('lr', plot_lr(groups['lr'], osp.join(fig_dir, 'learning_rate.png')),
                  'learning rate') or 'No learning rate was logged.\n')
    knn_fig = plot_knn_curve(groups['knn'], ctx.get('knn_unit', 'epoch'),
                             osp.join(fig_dir, 'knn_during_training.png'))
    md.append('kNN top-1 whenever the `KNNHook` ran during training:\n\n' +
              fig('knn_curve', knn_fig, 'kNN top-1 during training') if knn_fig else
              'The config has no `KNNHook`, so there is no kNN curve over training.\n')

    # monitors
    md.append('## Contrastive-training monitors\n')
    md.append('Logged by `ContrastiveMonitorHook` on one batch every N iterations '
              '(`slimselfsup/analysis/monitors.py`): InfoNCE against its bound '
              'log(K+1) and FlatNCE\'s log xi (Chen et al. 2021), mean positive and '
              'mean hardest-negative cosine and their gap, alignment and uniformity '
              '(Wang & Isola 2020), effective rank of the embeddings (Roy & Vetterli '
              '2007; 1 means all embeddings point one way).\n')
    monitor = groups['monitor']
    mon_fig = plot_monitors(monitor, osp.join(fig_dir, 'monitors.png'))
    md.append(fig('monitors', mon_fig, 'contrastive monitors') or
              'No monitor was logged (the model has no contrastive head).\n')
    events = collapse_events(monitor, **ctx.get('thresholds', {}))
    if monitor:
        md.append('| monitor | first | last |\n|---|---|---|\n' + '\n'.join(
            f'| {k} | {v[0][1]:.4g} | {v[-1][1]:.4g} |' for k, v in sorted(monitor.items()))
            + '\n')
        limits = dict(min_effective_rank=DEFAULT_MIN_EFFECTIVE_RANK,
                      max_uniformity=DEFAULT_MAX_UNIFORMITY)
        limits.update(ctx.get('thresholds', {}))
        md.append(('**Collapse warnings:** ' + '; '.join(events) + '\n') if events else
                  f"No collapse warning (effective rank stayed above "
                  f"{limits['min_effective_rank']:g}, uniformity below "
                  f"{limits['max_uniformity']:g}).\n")

    # embedding maps
    md.append('## Embedding maps of the test split\n')
    maps = _embedding_maps(ctx, fig_dir, md, fig)

    # SlimCLR diagnostics
    md.append('## SlimCLR diagnostics\n')
    slim = _slim_section(ctx, fig_dir, md, fig)

    # run
    md.append('## Run\n')
    meta = ctx['meta']
    md.append('| | |\n|---|---|\n' + '\n'.join(
        f'| {k} | {v} |' for k, v in (
            ('config', f"`{meta['config']}` (resolved: [{meta['resolved_config']}]"
                       f"({meta['resolved_config']}))"),
            ('linear config', f"`{meta['linear_config']}`" + (
                f" (resolved: [{meta['resolved_linear_config']}]"
                f"({meta['resolved_linear_config']}))"
                if meta.get('resolved_linear_config') else '')
             if meta.get('linear_config') else 'none'),
            ('command', f"`{meta['command']}`"),
            ('git commit', f"`{meta['git']}`"),
            ('device', meta['device']),
            ('date', meta['date']))) + '\n')
    md.append('| stage | status | wall time | result file |\n|---|---|---|---|\n' +
              '\n'.join(f"| {name} | {s['status']} | {_duration(s.get('wall_time_s'))} | "
                        f"{s.get('file') or '–'} |" for name, s in ctx['stages'].items()) +
              '\n')
    md.append('Wall times are those of the run that produced each result (a skipped '
              'stage keeps its earlier time). The report stage\'s own time is in '
              '`report.json`.\n')
    if meta.get('resolved_config') and osp.isfile(osp.join(work_dir,
                                                           meta['resolved_config'])):
        with open(osp.join(work_dir, meta['resolved_config'])) as f:
            text = f.read()
        md.append('<details><summary>Resolved pretraining config</summary>\n\n```python\n'
                  + text.rstrip() + '\n```\n\n</details>\n')

    report = dict(title=ctx['title'], meta=meta, stages=ctx['stages'], table=rows,
                  complexity=ctx['complexity'], curves=groups, collapse_warnings=events,
                  embedding_maps=maps, slimclr=slim, figures=figures)
    with open(osp.join(work_dir, 'report.md'), 'w') as f:
        f.write('\n'.join(md))
    return report


def _summary(rows: List[dict], ctx: dict) -> str:
    first = rows[0]
    parts = []
    if first.get('knn_top1') is not None:
        parts.append(f"kNN top-1 {first['knn_top1']:.2f}%")
    if first.get('linear_top1') is not None:
        parts.append(f"linear top-1 {first['linear_top1']:.2f}%")
    width = f" at width {first['width']}" if ctx.get('slimmable') else ''
    return (f"{', '.join(parts)}{width}." if parts else 'No evaluation has run yet.') + \
        ' Figures are in `figures/`, every number in `report.json`.'


def _duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return '–'
    return f'{seconds:.0f} s' if seconds < 120 else f'{seconds / 60:.1f} min'


def _embedding_maps(ctx: dict, fig_dir: str, md: List[str], fig) -> dict:
    features = ctx.get('features')
    if not features or not osp.isfile(features):
        md.append(ctx.get('notes', {}).get('maps') or
                  'No test features: the kNN stage has not run.\n')
        return {}
    data = np.load(features)
    feats, labels = data['feats'].astype(np.float32), data['labels']
    classes = [str(c) for c in data['classes']] if 'classes' in data else None
    width = float(data['width']) if 'width' in data else None
    seed = ctx.get('map_seed', 0)
    what = (f"{len(feats)} test images (evenly spaced over the split), backbone "
            f"features{f' at width {width}' if width is not None else ''}, "
            f"L2-normalised; seed {seed}")
    md.append(f'{what}.\n')
    out = dict(num_points=int(len(feats)), seed=seed, width=width)
    xy = tsne_2d(feats, seed)
    path = plot_embedding_map(xy, labels, classes, 't-SNE of test embeddings',
                              osp.join(fig_dir, 'tsne.png'))
    md.append(fig('tsne', path, 't-SNE map'))
    out['tsne'] = xy.tolist()
    if umap_available():
        xy = umap_2d(feats, seed)
        path = plot_embedding_map(xy, labels, classes, 'UMAP of test embeddings',
                                  osp.join(fig_dir, 'umap.png'))
        md.append(fig('umap', path, 'UMAP map'))
        out['umap'] = xy.tolist()
    else:
        md.append(f'UMAP: {UMAP_HINT}, then rerun only this section with '
                  f"`{ctx['rerun_report']}`.\n")
        out['umap'] = None
    out['labels'] = labels.tolist()
    return out


def _slim_section(ctx: dict, fig_dir: str, md: List[str], fig) -> dict:
    from .slim_plots import (load_records, load_state, plot_imbalance, plot_pca,
                             plot_singular_values, plot_trajectory, select, trajectory_xy)
    if not ctx.get('slimmable'):
        md.append('Not a slimmable run: the gradient-imbalance and trajectory figures of '
                  'SlimCLR (arXiv 2209.15525) apply to slimmable backbones only.\n')
        return {}
    out: dict = {}
    pretrain_dir = ctx['pretrain_dir']
    jsonl = osp.join(pretrain_dir, 'slim_grads.jsonl')
    if osp.isfile(jsonl):
        records = load_records(jsonl)
        md.append(f'Gradient magnitude imbalance between the widths ({len(records)} '
                  'records of `SlimGradHook`, `tools/analysis_tools/plot_slim_grads.py`):'
                  '\n')
        md.append(fig('grad_imbalance', plot_imbalance(records, fig_dir),
                      'gradient imbalance'))
        md.append(fig('fc_singular_values', plot_singular_values(records, fig_dir),
                      'fc gradient singular values'))
        out['grad_records'] = len(records)
        npz = osp.join(pretrain_dir, 'fc_grads.npz')
        if osp.isfile(npz) and len(np.load(npz)['iters']) >= 2:
            md.append(fig('fc_grad_pca', plot_pca(npz, fig_dir), 'fc gradient PCA'))
    else:
        md.append(f'No `{jsonl}`: add `SlimGradHook` to custom_hooks (the pipeline adds '
                  'it to slimmable runs).\n')
    ckpts = ctx.get('checkpoints') or []
    if len(ckpts) >= 2:
        final = select(load_state(ckpts[-1]), 'backbone.')
        states = [select(load_state(p), 'backbone.') for p in ckpts]
        md.append(f'Optimisation trajectory of the backbone in the PCA plane of its '
                  f'{len(ckpts)} kept checkpoints (`tools/analysis_tools/'
                  'plot_trajectory.py`), per width:\n')
        out['trajectory'] = {}
        for width in ctx.get('widths') or [None]:
            traj = trajectory_xy(states, final, width)
            name = f'trajectory_w{width}' if width is not None else 'trajectory'
            path = plot_trajectory(traj['coords'], traj['ratio'], ckpts,
                                   osp.join(fig_dir, f'{name}.png'), width)
            md.append(fig(name, path, f'trajectory {name}'))
            out['trajectory'][str(width)] = dict(coords=traj['coords'].tolist(),
                                                 ratio=list(map(float, traj['ratio'])),
                                                 checkpoints=[osp.basename(p)
                                                              for p in ckpts])
    else:
        md.append(f'The trajectory needs 2 or more kept checkpoints; the pretraining '
                  f'kept {len(ckpts)}. Save more (`default_hooks.checkpoint.interval`, '
                  '`max_keep_ckpts`).\n')
    return out


def dump_json(obj, path: str) -> None:
    """Write ``obj`` as JSON (numpy values converted)."""
    def default(value):
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
        return str(value)
    with open(path, 'w') as f:
        json.dump(obj, f, indent=1, default=default)
