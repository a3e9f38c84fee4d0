"""Per-width gradient statistics of slimmable networks (gradient imbalance).

SlimCLR (`arXiv 2209.15525 <https://arxiv.org/abs/2209.15525>`_) explains the
difficulty of training weight-sharing sub-networks by *gradient magnitude imbalance*
(the shared leading slices receive gradients from every width, the rest only from the
wide ones) and *gradient direction divergence* (the sub-networks pull the shared
weights in different directions). This module measures both on a model whose
``.grad`` fields hold the gradient of one step.
"""
from typing import Dict, Iterable, List, Optional, Tuple

import torch
from torch import nn

from slimselfsup.models.slimmable import SlimmableConv2d, SlimmableLinear
from slimselfsup.models.slimmable.ops import slim_channels

SLIM_LAYERS = (SlimmableConv2d, SlimmableLinear)
Slices = Dict[str, Dict[float, Tuple[int, int]]]


def width_key(width: float) -> str:
    """The text form of a width in logs and files: ``1.0``, ``0.75``, ``0.5``."""
    return str(float(width))


def static_slice(module: nn.Module, width: float) -> Tuple[int, int]:
    """Rows and columns of ``module.weight`` that ``width`` uses, from the layer alone.

    Rows (outputs) shrink to ``int(out * width)`` unless ``module.slim_out`` is False.
    Columns (inputs) shrink to ``int(in * width)`` unless ``module.slim_in`` is False
    or, when that attribute is absent, the layer has 3 inputs (the stem sees the RGB
    image at every width). Layers whose input is fixed for another reason (e.g. a
    MoCo v3 predictor fed by a projector that keeps its output) need ``slim_in=False``
    or a :class:`SliceRecorder`.

    Args:
        module (nn.Module): A conv or linear layer.
        width (float): The width.

    Returns:
        tuple[int, int]: ``(rows, cols)`` of the leading sub-block.
    """
    out_full, in_full = module.weight.shape[:2]
    rows = slim_channels(out_full, width) if getattr(module, 'slim_out', True) \
        else out_full
    slim_in = getattr(module, 'slim_in', None)
    if slim_in is None:
        slim_in = in_full != 3
    cols = slim_channels(in_full, width) if slim_in else in_full
    return rows, cols


class SliceRecorder:
    """Forward hooks that record what every conv/linear layer really computed.

    For each call it stores the weight sub-block used, ``(rows, cols)`` = (output,
    input) channels, keyed by the layer's active width (``module.width`` of slimmable
    layers, else :attr:`width`), and the per-sample output positions, which is what
    the MAC count needs. Use as a context manager or call :meth:`remove`.

    Args:
        model (nn.Module): The model to observe.
        layer_types (tuple): Layer classes to hook. Defaults to conv and linear.
    """

    def __init__(self, model: nn.Module,
                 layer_types: tuple = (nn.Conv2d, nn.Linear)) -> None:
        self.width = 1.0
        self.slices: Slices = {}
        self.calls: Dict[float, List[tuple]] = {}
        self._handles = [
            m.register_forward_hook(self._make_hook(name))
            for name, m in model.named_modules() if isinstance(m, layer_types)
        ]

    def _make_hook(self, name: str):

        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            width = float(getattr(module, 'width', self.width))
            conv = output.dim() == 4 and isinstance(module, nn.Conv2d)
            rows = output.shape[1] if conv else output.shape[-1]
            cols = inputs[0].shape[1] if conv else inputs[0].shape[-1]
            positions = output[0, 0].numel() if conv else \
                output.numel() // (output.shape[0] * output.shape[-1])
            self.slices.setdefault(name, {})[width] = (rows, cols)
            self.calls.setdefault(width, []).append(
                (name, module, rows, cols, positions))

        return hook

    def remove(self) -> None:
        """Remove the hooks."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> 'SliceRecorder':
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def slim_layers(model: nn.Module) -> Dict[str, nn.Module]:
    """Slimmable conv/linear layers of ``model`` whose weight has a gradient."""
    return {name: m for name, m in model.named_modules()
            if isinstance(m, SLIM_LAYERS) and m.weight.grad is not None}


def find_fc(layers: Dict[str, nn.Module], fc_name: Optional[str] = None
            ) -> Optional[str]:
    """``fc_name`` checked against ``layers``, or the last slimmable linear layer.

    Args:
        layers (dict): Output of :func:`slim_layers`.
        fc_name (str, optional): Requested layer. Defaults to None.

    Returns:
        str | None: The layer name; None when there is no slimmable linear layer.
    """
    linears = [n for n, m in layers.items() if isinstance(m, SlimmableLinear)]
    if fc_name is None:
        return linears[-1] if linears else None
    if fc_name not in layers:
        raise KeyError(f'fc_name {fc_name!r} is not a slimmable layer with a '
                       f'gradient; slimmable linear layers: {linears}')
    return fc_name


def fc_slices(module: nn.Module, widths: Iterable[float],
              slices: Optional[Dict[float, Tuple[int, int]]] = None
              ) -> Dict[float, Tuple[int, int]]:
    """``(rows, cols)`` of a layer for each width, recorded ones first."""
    slices = slices or {}
    return {float(w): slices.get(float(w)) or static_slice(module, w) for w in widths}


@torch.no_grad()
def slim_grad_stats(model: nn.Module,
                    widths: Iterable[float],
                    slices: Optional[Slices] = None,
                    fc_name: Optional[str] = None,
                    max_norm: Optional[float] = 1000.0) -> dict:
    """Per-width gradient norms of the shared weights (SlimCLR, arXiv 2209.15525).

    For every :class:`SlimmableConv2d` / :class:`SlimmableLinear` weight with a
    gradient (BN and biases are left out) and every width ``w``, the L2 norm of the
    gradient sub-block ``grad[:rows_w, :cols_w]`` that the width-``w`` sub-network
    uses (see :func:`static_slice`; ``slices`` from a :class:`SliceRecorder`
    override it). Norms are clamped at ``max_norm`` per layer, as in the reference
    code, then averaged over layers.

    Args:
        model (nn.Module): The model, after ``backward``.
        widths (Iterable[float]): Widths to measure.
        slices (dict, optional): ``{layer: {width: (rows, cols)}}`` recorded
            slices. Defaults to None (static rule only).
        fc_name (str, optional): Layer whose gradient singular values are
            reported. Defaults to None, meaning the last slimmable linear layer.
        max_norm (float, optional): Per-layer clamp. Defaults to 1000.

    Returns:
        dict: ``norm`` / ``ratio`` / ``rest``: ``{width: value}`` with the mean
        sub-block norm, its ratio to the mean norm of the whole gradients
        (``norm_full``), and the mean norm of the complement
        ``sqrt(full^2 - sub^2)`` (the part only wider networks reach);
        ``layers``: ``{layer: {width: norm}}``; ``fc_name`` and ``fc_sv``:
        ``{width: [s1, s2]}``, the top-2 singular values of that layer's
        gradient sub-block (empty when there is no such layer).
    """
    widths = [float(w) for w in widths]
    slices = slices or {}
    layers = slim_layers(model)
    if not layers:
        raise ValueError('no slimmable conv/linear layer has a gradient; call this '
                         'after backward and before zero_grad')

    def clamp(value: float) -> float:
        return min(value, max_norm) if max_norm is not None else value

    per_layer, full, rest = {}, [], {w: [] for w in widths}
    for name, module in layers.items():
        grad = module.weight.grad.float()
        full_norm = clamp(grad.norm().item())
        full.append(full_norm)
        per_layer[name] = {}
        for w, (rows, cols) in fc_slices(module, widths, slices.get(name)).items():
            sub = clamp(grad[:rows, :cols].norm().item())
            per_layer[name][w] = sub
            rest[w].append(max(full_norm**2 - sub**2, 0.0)**0.5)
    norm_full = sum(full) / len(full)
    norm = {w: sum(v[w] for v in per_layer.values()) / len(per_layer) for w in widths}
    stats = dict(
        widths=widths,
        norm=norm,
        norm_full=norm_full,
        ratio={w: norm[w] / norm_full if norm_full > 0 else 0.0 for w in widths},
        rest={w: sum(v) / len(v) for w, v in rest.items()},
        layers=per_layer,
        fc_name=None,
        fc_sv={})

    fc_name = find_fc(layers, fc_name)
    if fc_name is not None:
        grad = layers[fc_name].weight.grad.float().flatten(1)
        stats['fc_name'] = fc_name
        for w, (rows, cols) in fc_slices(layers[fc_name], widths,
                                         slices.get(fc_name)).items():
            sv = torch.linalg.svdvals(grad[:rows, :cols])
            stats['fc_sv'][w] = [float(s) for s in sv[:2]]
    return stats


def stats_to_record(stats: dict) -> dict:
    """The JSON-friendly form of :func:`slim_grad_stats` (widths as text keys,
    without the per-layer norms)."""
    record = {key: {width_key(w): v for w, v in stats[key].items()}
              for key in ('norm', 'ratio', 'rest', 'fc_sv')}
    record.update(norm_full=stats['norm_full'], fc_name=stats['fc_name'],
                  widths=[width_key(w) for w in stats['widths']])
    return record
