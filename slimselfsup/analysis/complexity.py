"""Parameters and MACs of each sub-network of a slimmable model.

Every width of a slimmable network (SlimCLR, `arXiv 2209.15525
<https://arxiv.org/abs/2209.15525>`_) runs on leading slices of shared weights plus a
private BatchNorm, so counting the module's parameters over-counts every width but
the widest. Here each width is run once on a dummy image while a
:class:`~slimselfsup.analysis.grad_stats.SliceRecorder` notes what every layer really
computed: a conv/linear layer counts the weight (and bias) slice it used, any other
called leaf module (the active BN of a switchable BN, ...) counts its own
parameters, and MACs are ``rows * cols * kernel`` per output position of the
conv/linear layers (the usual "FLOPs" convention: BN, activations and pooling are
not counted).
"""
import copy
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn

from slimselfsup.models.slimmable import set_width
from .grad_stats import SliceRecorder, width_key


def _leaf_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters(recurse=False))


@torch.no_grad()
def slim_complexity(model: nn.Module,
                    widths: Sequence[float],
                    img_size: int = 224,
                    num_classes: Optional[int] = 1000,
                    in_channels: int = 3,
                    on_meta: bool = True) -> List[Dict[str, float]]:
    """Count what each width of ``model`` uses.

    Args:
        model (nn.Module): A backbone taking ``(1, C, H, W)`` images (its output, a
            tensor or a tuple whose last item is the feature map, feeds the fc).
        widths (Sequence[float]): Widths to count.
        img_size (int): Input resolution. Defaults to 224.
        num_classes (int, optional): Add a ``num_classes``-way linear classifier
            (with bias) on the globally pooled last feature. Defaults to 1000;
            None for none.
        in_channels (int): Image channels. Defaults to 3.
        on_meta (bool): Count on a copy of the model on the ``meta`` device, where
            only shapes are computed (instant even for ResNet-50 at 224 px).
            Defaults to True; False runs ``model`` itself on its device.

    Returns:
        list[dict]: One dict per width: ``width``, ``feat_dim``, ``params``
        (backbone), ``params_fc`` (with the classifier), ``macs`` (backbone) and
        ``macs_fc`` (with the classifier).
    """
    if on_meta:
        model = copy.deepcopy(model).to('meta')
    was_training = model.training
    model.eval()
    leaves = [(n, m) for n, m in model.named_modules()
              if not list(m.children()) and _leaf_params(m)
              and not isinstance(m, (nn.Conv2d, nn.Linear))]
    called: set = set()
    handles = [m.register_forward_hook(lambda mod, i, o, n=n: called.add(n))
               for n, m in leaves]
    leaf_by_name = dict(leaves)
    device = next(model.parameters()).device
    rows = []
    try:
        with SliceRecorder(model) as rec:
            for width in widths:
                width = float(width)
                set_width(model, width)
                rec.width = width
                rec.calls.pop(width, None)
                called.clear()
                out = model(torch.zeros(1, in_channels, img_size, img_size,
                                        device=device))
                feat = out[-1] if isinstance(out, (tuple, list)) else out
                params = macs = 0
                seen = set()
                for name, module, r, c, positions in rec.calls.get(width, []):
                    kernel = module.weight[0, 0].numel()
                    macs += r * c * kernel * positions
                    if name not in seen:
                        seen.add(name)
                        params += r * c * kernel + (r if module.bias is not None else 0)
                params += sum(_leaf_params(leaf_by_name[n]) for n in called)
                feat_dim = feat.shape[1]
                fc = feat_dim * num_classes if num_classes else 0
                fc_bias = num_classes or 0
                rows.append(dict(width=width, feat_dim=feat_dim, params=params,
                                 params_fc=params + fc + fc_bias, macs=macs,
                                 macs_fc=macs + fc))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return rows


def format_complexity_table(rows: List[Dict[str, float]],
                            num_classes: Optional[int] = 1000,
                            img_size: int = 224) -> str:
    """A markdown table of :func:`slim_complexity` results (M params, G MACs)."""
    fc = f'incl. {num_classes}-way fc' if num_classes else 'no fc'
    lines = [
        f'| width | feature dim | Params ({fc}) | Params (backbone) | '
        f'MACs @{img_size}px ({fc}) | MACs (backbone) |',
        '|---|---|---|---|---|---|',
    ]
    for r in rows:
        lines.append(f"| {width_key(r['width'])} | {r['feat_dim']} "
                     f"| {r['params_fc'] / 1e6:.2f} M | {r['params'] / 1e6:.2f} M "
                     f"| {r['macs_fc'] / 1e9:.2f} G | {r['macs'] / 1e9:.2f} G |")
    return '\n'.join(lines)
