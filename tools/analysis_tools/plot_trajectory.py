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
from typing import List, Optional

import numpy as np
import torch

from slimselfsup.analysis.slim_plots import (load_state, natural_key, plot_trajectory, select,
                                             trajectory_xy)
from slimselfsup.analysis.trajectory import evaluate_grid, unslice_direction


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
    traj = trajectory_xy(states, final, args.width)
    xy, ratio = traj['coords'], traj['ratio']
    d1, d2 = traj['directions']
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
        result['landscape'] = dict(xs=xs, ys=ys, values=values)
    plot_trajectory(xy, ratio, paths, args.out, args.width, result.get('landscape'))
    print(f'saved {args.out} (explained variance {ratio[0]:.3f}, {ratio[1]:.3f})')
    return result


if __name__ == '__main__':
    main()
