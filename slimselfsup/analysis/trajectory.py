"""Optimisation trajectories of a training run in a 2-D PCA plane.

The visualisation used by SlimCLR (`arXiv 2209.15525
<https://arxiv.org/abs/2209.15525>`_, after Li et al. 2018, "Visualizing the Loss
Landscape of Neural Nets"): the differences ``theta_t - theta_final`` of the saved
checkpoints are flattened (only tensors with more than one dimension; biases and BN
parameters contribute zeros), their first two principal axes are the plot
directions, and every checkpoint is drawn at its projection on them. Optionally a
metric is evaluated on the grid ``theta_final + x * d1 + y * d2``.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from slimselfsup.models.slimmable.ops import slim_channels

StateDict = Dict[str, torch.Tensor]


def pca_2d(matrix: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """First two principal axes of the rows of ``matrix`` (numpy SVD, centred).

    Args:
        matrix (np.ndarray): ``(n, D)`` samples, ``n >= 2``.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(2, D)`` unit-norm axes (a sign is fixed
        so that the largest-magnitude entry is positive) and their explained
        variance ratios ``(2,)``. With fewer than 3 samples the second axis is zero.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] < 2:
        raise ValueError(f'need an (n >= 2, D) matrix, got shape {matrix.shape}')
    centred = matrix - matrix.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    axes = np.zeros((2, matrix.shape[1]))
    ratio = np.zeros(2)
    total = float((s**2).sum())
    for i in range(min(2, len(s))):
        if s[i] <= 1e-12 * max(s[0], 1e-300):
            break
        axis = vt[i]
        axes[i] = axis if axis[np.argmax(np.abs(axis))] >= 0 else -axis
        ratio[i] = s[i]**2 / total
    return axes, ratio


def direction_keys(final: StateDict) -> List[str]:
    """Keys of ``final`` that span the directions: floating tensors with ndim > 1."""
    return [k for k, v in final.items()
            if torch.is_tensor(v) and v.is_floating_point() and v.dim() > 1]


def _flat_diff(state: StateDict, final: StateDict, keys: Sequence[str]) -> np.ndarray:
    missing = [k for k in keys if k not in state]
    if missing:
        raise KeyError(f'checkpoint lacks {len(missing)} tensor(s) of the final '
                       f'one, e.g. {missing[:3]}')
    return torch.cat([(state[k].float() - final[k].float()).flatten()
                      for k in keys]).numpy()


def trajectory_directions(checkpoints: Sequence[StateDict], final: StateDict,
                          keys: Optional[Sequence[str]] = None
                          ) -> Tuple[StateDict, StateDict]:
    """Two PCA directions of the optimisation path, shaped like ``final``.

    Args:
        checkpoints (Sequence[dict]): State dicts along training (at least two).
        final (dict): The final state dict; differences are taken to it.
        keys (Sequence[str], optional): Tensors spanning the directions.
            Defaults to :func:`direction_keys` of ``final``.

    Returns:
        tuple[dict, dict]: ``d1``, ``d2`` with a tensor for every floating tensor
        of ``final`` (zeros outside ``keys``); each has unit norm over all
        tensors. :func:`trajectory_pca` also returns the explained variance.
    """
    (d1, d2), _ = trajectory_pca(checkpoints, final, keys)
    return d1, d2


def trajectory_pca(checkpoints: Sequence[StateDict], final: StateDict,
                   keys: Optional[Sequence[str]] = None
                   ) -> Tuple[Tuple[StateDict, StateDict], np.ndarray]:
    """:func:`trajectory_directions` plus the explained variance ratios ``(2,)``."""
    keys = list(keys) if keys is not None else direction_keys(final)
    if not keys:
        raise ValueError('no tensor with ndim > 1 to build directions from')
    matrix = np.stack([_flat_diff(s, final, keys) for s in checkpoints])
    axes, ratio = pca_2d(matrix)
    directions = []
    for axis in axes:
        d, offset = {}, 0
        for k, v in final.items():
            if not (torch.is_tensor(v) and v.is_floating_point()):
                continue
            if k in keys:
                d[k] = torch.from_numpy(axis[offset:offset + v.numel()]).float() \
                    .view_as(v)
                offset += v.numel()
            else:
                d[k] = torch.zeros_like(v, dtype=torch.float32)
        directions.append(d)
    return (directions[0], directions[1]), ratio


def project(state: StateDict, final: StateDict, d1: StateDict,
            d2: StateDict) -> Tuple[float, float]:
    """Coordinates ``(<diff, d1>/|d1|, <diff, d2>/|d2|)`` of ``state - final``."""
    coords = []
    for d in (d1, d2):
        keys = [k for k in d if k in final]
        diff = _flat_diff(state, final, keys)
        vec = torch.cat([d[k].float().flatten() for k in keys]).numpy()
        norm = float(np.linalg.norm(vec))
        coords.append(float(diff @ vec) / norm if norm > 0 else 0.0)
    return coords[0], coords[1]


def slice_state(state: StateDict, width: float) -> StateDict:
    """The leading slices of every ndim > 1 tensor that width ``width`` uses.

    Output rows shrink to ``int(d0 * width)``, input columns to ``int(d1 * width)``
    except when ``d1 == 3`` (the stem reads the RGB image). This is exact for the
    slimmable ResNets' backbone (``--prefix backbone.``); layers that keep their
    output at every width (last projection layer, classifier) are over-sliced.
    Other tensors (biases, BN, all widths' BN included) are kept as they are; they
    do not enter the directions.
    """
    out = {}
    for k, v in state.items():
        if torch.is_tensor(v) and v.is_floating_point() and v.dim() > 1:
            cols = v.shape[1] if v.shape[1] == 3 else slim_channels(v.shape[1], width)
            v = v[:slim_channels(v.shape[0], width), :cols]
        out[k] = v
    return out


def unslice_direction(direction: StateDict, full: StateDict) -> StateDict:
    """Zero-pad a direction over sliced tensors back to the shapes of ``full``."""
    out = {}
    for k, v in direction.items():
        padded = torch.zeros_like(full[k], dtype=torch.float32)
        padded[tuple(slice(0, n) for n in v.shape)] = v
        out[k] = padded
    return out


def evaluate_grid(fn: Callable[[StateDict], float], final: StateDict, d1: StateDict,
                  d2: StateDict, xs: Sequence[float],
                  ys: Sequence[float]) -> np.ndarray:
    """``fn(final + x * d1 + y * d2)`` on a grid (loss / error landscape).

    Args:
        fn (Callable): Evaluates one state dict (e.g. loads it and returns a loss).
        final (dict): The centre of the grid.
        d1 (dict): First direction.
        d2 (dict): Second direction.
        xs (Sequence[float]): Coordinates along ``d1``.
        ys (Sequence[float]): Coordinates along ``d2``.

    Returns:
        np.ndarray: ``(len(ys), len(xs))`` values, rows along ``ys``.
    """
    values = np.zeros((len(ys), len(xs)))
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            state = dict(final)
            for k in d1:
                state[k] = (final[k].float() + x * d1[k] + y * d2[k]).to(final[k].dtype)
            values[i, j] = fn(state)
    return values
