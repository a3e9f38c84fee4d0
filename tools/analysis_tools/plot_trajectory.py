"""Optimisation trajectory of a run in the PCA plane of its checkpoints.

``python tools/analysis_tools/plot_trajectory.py CKPT [CKPT ...] --final CKPT --out
traj.png [--prefix backbone.] [--width W] [--landscape CONFIG --grid 5]`` takes the
differences ``theta_ckpt - theta_final`` of the tensors under ``--prefix`` with more
than one dimension, finds their two principal directions (numpy SVD) and draws every
checkpoint at its projection (SlimCLR, arXiv 2209.15525, Sec. 3; Li et al. 2018).
``--width`` restricts every tensor to the slice that width uses (exact for a
slimmable ResNet backbone). ``--landscape CONFIG`` adds contours of the training
loss of CONFIG's model on ``--batches`` batches of its train loader, on a
``--grid x --grid`` grid around the trajectory (keep it small on a CPU).
"""
import argparse
import os
import os.path as osp
import re
from typing import List, Optional

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.runner.checkpoint import _load_checkpoint  # noqa: E402

from slimselfsup.analysis.trajectory import (evaluate_grid, project, slice_state,  # noqa: E402
                                             trajectory_pca, unslice_direction)


def natural_key(path: str) -> list:
    """Sort ``epoch_2`` before ``epoch_10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r'(\d+)', osp.basename(path))]


def load_state(path: str) -> dict:
    """The (CPU) state dict of an mmengine checkpoint or a bare state dict."""
    ckpt = _load_checkpoint(path, map_location='cpu')
    return ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt


def select(state: dict, prefix: str) -> dict:
    """Floating tensors of ``state`` whose key starts with ``prefix``."""
    out = {k: v for k, v in state.items() if k.startswith(prefix)
           and torch.is_tensor(v) and v.is_floating_point()}
    if not out:
        raise KeyError(f'no floating tensor with prefix {prefix!r}; keys start with '
                       f'{sorted({k.split(".")[0] for k in state})}')
    return out


def loss_fn(config: str, full_state: dict, batches: int, width: Optional[float]):
    """A function state -> mean training loss of CONFIG's model on fixed batches."""
    from mmengine.runner import Runner

    from slimselfsup.apis import load_config
    from slimselfsup.models.slimmable import set_width
    from slimselfsup.registry import MODELS
    from slimselfsup.utils import register_all_modules

    register_all_modules()
    cfg = load_config(config)
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    model.load_state_dict(full_state, strict=False)
    loader_cfg = cfg.train_dataloader.copy()
    loader_cfg.update(num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    data = []
    for i, batch in enumerate(loader):
        if i >= batches:
            break
        data.append(batch)

    @torch.no_grad()
    def fn(state: dict) -> float:
        model.load_state_dict(state, strict=False)
        model.train()
        if width is not None:
            set_width(model, width)
        total = 0.0
        for batch in data:
            inputs = model.data_preprocessor(batch, True)
            loss, _ = model.parse_losses(model(**inputs, mode='loss'))
            total += loss.item()
        return total / len(data)

    return fn


def main(argv: Optional[List[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description='PCA optimisation trajectory')
    parser.add_argument('checkpoints', nargs='+', help='checkpoints along training')
    parser.add_argument('--final', required=True, help='final checkpoint (the origin)')
    parser.add_argument('--out', default='trajectory.png', help='output PNG')
    parser.add_argument('--prefix', default='backbone.',
                        help="tensors used ('' for all; excludes e.g. MoCo queues)")
    parser.add_argument('--width', type=float, help='slice every tensor to this width')
    parser.add_argument('--no-sort', action='store_true',
                        help='keep the given order (default: natural sort by name)')
    parser.add_argument('--landscape', metavar='CONFIG',
                        help='draw training-loss contours of this config')
    parser.add_argument('--grid', type=int, default=5, help='landscape grid side')
    parser.add_argument('--batches', type=int, default=1, help='landscape batches')
    parser.add_argument('--margin', type=float, default=0.25,
                        help='landscape grid margin around the trajectory (fraction)')
    args = parser.parse_args(argv)

    paths = args.checkpoints if args.no_sort else sorted(args.checkpoints,
                                                         key=natural_key)
    full_final = load_state(args.final)
    final = select(full_final, args.prefix)
    states = [select(load_state(p), args.prefix) for p in paths]
    if args.width is not None:
        final_s = slice_state(final, args.width)
        states = [slice_state(s, args.width) for s in states]
    else:
        final_s = final
    (d1, d2), ratio = trajectory_pca(states, final_s)
    xy = np.array([project(s, final_s, d1, d2) for s in states])

    fig, ax = plt.subplots(figsize=(6, 5))
    result = dict(coords=xy, ratio=ratio, paths=paths)
    if args.landscape:
        span = np.ptp(xy, axis=0)
        pad = args.margin * np.maximum(span, 1e-3) + 1e-3
        xs = np.linspace(xy[:, 0].min() - pad[0], xy[:, 0].max() + pad[0], args.grid)
        ys = np.linspace(xy[:, 1].min() - pad[1], xy[:, 1].max() + pad[1], args.grid)
        if args.width is not None:
            d1, d2 = unslice_direction(d1, final), unslice_direction(d2, final)
        fn = loss_fn(args.landscape, full_final, args.batches, args.width)
        values = evaluate_grid(fn, {**full_final}, d1, d2, xs, ys)
        contour = ax.contourf(xs, ys, values, levels=10, cmap='viridis', alpha=0.6)
        fig.colorbar(contour, ax=ax, label='training loss')
        result['landscape'] = dict(xs=xs, ys=ys, values=values)
    ax.plot(xy[:, 0], xy[:, 1], 'o-', color='tab:red', markersize=4)
    for (x, y), p in zip(xy, paths):
        nums = re.findall(r'\d+', osp.basename(p))
        ax.annotate(nums[-1] if nums else '', (x, y), fontsize=7)
    ax.plot([0], [0], '*', color='k', markersize=12, label='final')
    ax.set_xlabel(f'1st PCA component ({100 * ratio[0]:.1f}%)')
    ax.set_ylabel(f'2nd PCA component ({100 * ratio[1]:.1f}%)')
    width = f', width {args.width:g}' if args.width is not None else ''
    ax.set_title(f'Optimisation trajectory{width}')
    ax.legend()
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=100)
    plt.close(fig)
    print(f'saved {args.out} (explained variance {ratio[0]:.3f}, {ratio[1]:.3f})')
    return result


if __name__ == '__main__':
    main()
