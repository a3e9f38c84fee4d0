"""Figures of the SlimCLR diagnostics (arXiv 2209.15525, Sec. 3): gradient imbalance
recorded by ``SlimGradHook`` and optimisation trajectories of saved checkpoints.

Used by ``tools/analysis_tools/plot_slim_grads.py``, ``plot_trajectory.py`` and the
pipeline report. Figures are drawn on :class:`matplotlib.figure.Figure` objects, so
importing this module does not touch matplotlib's global backend.
"""
import json
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from .trajectory import pca_2d, project, slice_state, trajectory_pca


# ------------------------------------------------------------- gradient imbalance
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
    fig = Figure(figsize=(15, 4))
    axes = fig.subplots(1, 3)
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
    return path


def plot_singular_values(records: List[dict], out: str) -> Optional[str]:
    """Top-2 singular values of the fc gradient of each width."""
    records = [r for r in records if r.get('fc_sv')]
    if not records:
        return None
    iters = np.array([r['iter'] for r in records])
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
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
    fig = Figure(figsize=(7, 6))
    axes = fig.subplots(2, 1, sharex=True)
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
    return path


# ------------------------------------------------------------------ trajectories
def natural_key(path: str) -> list:
    """Sort ``epoch_2`` before ``epoch_10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r'(\d+)', osp.basename(path))]


def load_state(path: str) -> dict:
    """The (CPU) state dict of an mmengine checkpoint or a bare state dict."""
    from mmengine.runner.checkpoint import _load_checkpoint
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


def trajectory_xy(states: Sequence[dict], final: dict,
                  width: Optional[float] = None) -> dict:
    """Project checkpoints on the PCA plane of their differences to ``final``.

    Args:
        states (Sequence[dict]): Selected state dicts (:func:`select`) in order.
        final (dict): The final selected state dict (the origin).
        width (float, optional): Slice every tensor to this width first.

    Returns:
        dict: ``coords`` ``(n, 2)``, ``ratio`` (explained variance of both axes),
        ``directions`` (the two direction state dicts, sliced like the states) and
        ``final`` (the origin, sliced).
    """
    if width is not None:
        final = slice_state(final, width)
        states = [slice_state(s, width) for s in states]
    (d1, d2), ratio = trajectory_pca(states, final)
    xy = np.array([project(s, final, d1, d2) for s in states])
    return dict(coords=xy, ratio=ratio, directions=(d1, d2), final=final)


def plot_trajectory(xy: np.ndarray, ratio: Sequence[float], paths: Sequence[str],
                    out: str, width: Optional[float] = None,
                    landscape: Optional[dict] = None) -> str:
    """Draw a trajectory (and optional loss contours) and save it as ``out``.

    Args:
        xy (np.ndarray): ``(n, 2)`` coordinates of the checkpoints.
        ratio (Sequence[float]): Explained variance of both axes.
        paths (Sequence[str]): Checkpoint files, for the point labels (last number
            of the file name).
        out (str): PNG file.
        width (float, optional): Named in the title.
        landscape (dict, optional): ``xs``, ``ys``, ``values`` of loss contours.

    Returns:
        str: ``out``.
    """
    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    if landscape is not None:
        contour = ax.contourf(landscape['xs'], landscape['ys'], landscape['values'],
                              levels=10, cmap='viridis', alpha=0.6)
        fig.colorbar(contour, ax=ax, label='training loss')
    ax.plot(xy[:, 0], xy[:, 1], 'o-', color='tab:red', markersize=4)
    for (x, y), p in zip(xy, paths):
        nums = re.findall(r'\d+', osp.basename(p))
        ax.annotate(nums[-1] if nums else '', (x, y), fontsize=7)
    ax.plot([0], [0], '*', color='k', markersize=12, label='final')
    ax.set_xlabel(f'1st PCA component ({100 * ratio[0]:.1f}%)')
    ax.set_ylabel(f'2nd PCA component ({100 * ratio[1]:.1f}%)')
    title = f', width {width:g}' if width is not None else ''
    ax.set_title(f'Optimisation trajectory{title}')
    ax.legend()
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    return out
