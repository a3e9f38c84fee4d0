"""Plots of the gradient imbalance recorded by ``SlimGradHook``.

``python tools/analysis_tools/plot_slim_grads.py WORK_DIR/slim_grads.jsonl
[WORK_DIR/fc_grads.npz] --out DIR`` writes (SlimCLR, arXiv 2209.15525, Sec. 3):

* ``grad_imbalance.png``: mean gradient norm of each width's sub-block, its ratio
  to the whole gradient, and the paper's ratios for the smallest width ``s``:
  ``|g_full| / |g_s|`` and ``|g_full \\ s| / |g_s|`` (gradient magnitude imbalance);
* ``fc_singular_values.png``: top-2 singular values of the last linear layer's
  gradient per width;
* ``fc_grad_pca.png`` (with the ``.npz``): PCA over training steps of that layer's
  gradient sub-block of each width, first and second component against the step
  (gradient direction divergence).
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Optional

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from slimselfsup.analysis.trajectory import pca_2d  # noqa: E402


def load_records(path: str) -> List[dict]:
    """The records of a ``slim_grads.jsonl`` file, sorted by iteration."""
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    if not records:
        raise ValueError(f'{path} holds no record')
    return sorted(records, key=lambda r: r['iter'])


def plot_imbalance(records: List[dict], out: str) -> str:
    """Norms, ratios to the full gradient and the paper's ratios per iteration."""
    iters = np.array([r['iter'] for r in records])
    widths = records[0]['widths']
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    axes[0].plot(iters, [r['norm_full'] for r in records], 'k--', label='whole')
    for w in widths:
        axes[0].plot(iters, [r['norm'][w] for r in records], label=f'w{w}')
        axes[1].plot(iters, [r['ratio'][w] for r in records], label=f'w{w}')
    axes[0].set_ylabel('mean L2 norm of gradient sub-blocks')
    axes[1].set_ylabel('norm ratio: width / whole')
    small = min(widths, key=float)
    sub = np.array([r['norm'][small] for r in records])
    sub = np.where(sub > 0, sub, np.nan)
    axes[2].plot(iters, np.array([r['norm_full'] for r in records]) / sub,
                 label=f'|g_full| / |g_{small}|')
    axes[2].plot(iters, np.array([r['rest'][small] for r in records]) / sub,
                 label=f'|g_full\\{small}| / |g_{small}|')
    axes[2].axhline(1.0, color='r', linestyle='-.', linewidth=1)
    axes[2].set_ylabel('ratio of gradient norms')
    for ax in axes:
        ax.set_xlabel('iteration')
        ax.grid(linestyle='-.', linewidth=0.5)
        ax.legend()
    fig.suptitle('Gradient magnitude imbalance')
    fig.tight_layout()
    path = osp.join(out, 'grad_imbalance.png')
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_singular_values(records: List[dict], out: str) -> Optional[str]:
    """Top-2 singular values of the fc gradient of each width."""
    records = [r for r in records if r.get('fc_sv')]
    if not records:
        return None
    iters = np.array([r['iter'] for r in records])
    fig, ax = plt.subplots(figsize=(6, 4))
    for w in records[0]['fc_sv']:
        for i, style in enumerate(('-', '--')):
            ax.plot(iters, [r['fc_sv'][w][i] if len(r['fc_sv'][w]) > i else np.nan
                            for r in records], style, label=f'w{w} s{i + 1}')
    ax.set_xlabel('iteration')
    ax.set_ylabel('singular value')
    ax.set_title(f"fc gradient ({records[0].get('fc_name')})")
    ax.grid(linestyle='-.', linewidth=0.5)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = osp.join(out, 'fc_singular_values.png')
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def fc_grad_pca(npz_path: str) -> Dict[str, dict]:
    """Per width: PCA of the fc gradient sub-blocks over the saved steps.

    Returns:
        dict: ``{width: {'iters', 'coords' (n, 2), 'ratio' (2,)}}``.
    """
    data = np.load(npz_path)
    iters, grads = data['iters'], data['grads']
    order = np.argsort(iters)
    iters, grads = iters[order], grads[order]
    if len(iters) < 2:
        raise ValueError(f'{npz_path} holds {len(iters)} gradient(s); PCA needs 2+')
    result = {}
    for w, rows, cols in zip(data['widths'], data['rows'], data['cols']):
        flat = grads[:, :rows, :cols].reshape(len(iters), -1).astype(np.float64)
        axes, ratio = pca_2d(flat)
        coords = (flat - flat.mean(axis=0)) @ axes.T
        result[str(float(w))] = dict(iters=iters, coords=coords, ratio=ratio)
    return result


def plot_pca(npz_path: str, out: str) -> str:
    """Gradient direction divergence: PCA components of fc gradients over steps."""
    result = fc_grad_pca(npz_path)
    fig, axes = plt.subplots(2, 1, sharex=True, figsize=(7, 6))
    for w, r in result.items():
        for i, ax in enumerate(axes):
            ax.plot(r['iters'], r['coords'][:, i], 'o-', markersize=3,
                    label=f'w{w} ({100 * r["ratio"][i]:.0f}% var)')
    for i, ax in enumerate(axes):
        ax.set_ylabel(f'PCA component {i + 1}')
        ax.grid(linestyle='-.', linewidth=0.5)
        ax.legend(fontsize=8)
    axes[-1].set_xlabel('iteration')
    fig.suptitle('Gradient direction divergence (fc gradient PCA over steps)')
    fig.tight_layout()
    path = osp.join(out, 'fc_grad_pca.png')
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv: Optional[List[str]] = None) -> List[str]:
    parser = argparse.ArgumentParser(description='plot SlimGradHook records')
    parser.add_argument('jsonl', help='slim_grads.jsonl written by SlimGradHook')
    parser.add_argument('npz', nargs='?', help='fc_grads.npz written by SlimGradHook')
    parser.add_argument('--out', default='.', help='output folder')
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    records = load_records(args.jsonl)
    paths = [plot_imbalance(records, args.out), plot_singular_values(records, args.out)]
    if args.npz:
        paths.append(plot_pca(args.npz, args.out))
    paths = [p for p in paths if p]
    for p in paths:
        print(f'saved {p}')
    return paths


if __name__ == '__main__':
    main()
