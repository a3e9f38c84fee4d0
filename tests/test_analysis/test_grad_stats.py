"""slim_grad_stats against hand computations (SlimCLR gradient diagnostics)."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from slimselfsup.analysis.grad_stats import (SliceRecorder, slim_grad_stats, static_slice,
                                             stats_to_record)
from slimselfsup.models.backbones.slimmable_resnet import SlimmableResNetCIFAR
from slimselfsup.models.slimmable import (SlimmableConv2d, SlimmableLinear, SwitchableBatchNorm2d,
                                          set_width)

WIDTHS = (1.0, 0.5)


class TwoLayer(nn.Module):
    """Stem conv (3 -> 8, slimmed output) and an fc (8 -> 4, fixed output)."""

    def __init__(self):
        super().__init__()
        self.conv = SlimmableConv2d(3, 8, 3, padding=1, bias=False)
        self.bn = SwitchableBatchNorm2d(8, WIDTHS)
        self.fc = SlimmableLinear(8, 4, slim_out=False)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).relu().mean(dim=(2, 3)))


def sq_sum(array, rows, cols):
    """Sum of squares over array[:rows, :cols, ...] written as explicit loops."""
    total = 0.0
    for i in range(rows):
        for j in range(cols):
            total += float(np.sum(np.asarray(array[i][j], dtype=np.float64)**2))
    return total


def test_norms_match_hand_computation():
    model = TwoLayer()
    g_conv = torch.arange(8 * 3 * 3 * 3, dtype=torch.float32).view(8, 3, 3, 3) / 100
    g_fc = torch.arange(4 * 8, dtype=torch.float32).view(4, 8) / 10 - 1
    model.conv.weight.grad = g_conv.clone()
    model.fc.weight.grad = g_fc.clone()
    model.fc.bias.grad = torch.ones(4) * 1e3  # biases are not counted

    stats = slim_grad_stats(model, WIDTHS)
    conv_full, fc_full = sq_sum(g_conv, 8, 3), sq_sum(g_fc, 4, 8)
    conv_half = sq_sum(g_conv, 4, 3)  # the stem keeps its 3 input channels
    fc_half = sq_sum(g_fc, 4, 4)  # the fc keeps all its output rows
    assert stats['layers']['conv'][0.5] == pytest.approx(math.sqrt(conv_half), rel=1e-6)
    assert stats['layers']['fc'][0.5] == pytest.approx(math.sqrt(fc_half), rel=1e-6)
    assert stats['layers']['fc'][1.0] == pytest.approx(math.sqrt(fc_full), rel=1e-6)
    norm_full = (math.sqrt(conv_full) + math.sqrt(fc_full)) / 2
    norm_half = (math.sqrt(conv_half) + math.sqrt(fc_half)) / 2
    assert stats['norm_full'] == pytest.approx(norm_full, rel=1e-6)
    assert stats['norm'][1.0] == pytest.approx(norm_full, rel=1e-6)
    assert stats['norm'][0.5] == pytest.approx(norm_half, rel=1e-6)
    assert stats['ratio'][1.0] == pytest.approx(1.0)
    assert stats['ratio'][0.5] == pytest.approx(norm_half / norm_full, rel=1e-6)
    rest = (math.sqrt(conv_full - conv_half) + math.sqrt(fc_full - fc_half)) / 2
    assert stats['rest'][0.5] == pytest.approx(rest, rel=1e-6)
    assert stats['rest'][1.0] == pytest.approx(0.0, abs=1e-3)

    assert stats['fc_name'] == 'fc'
    sv = np.linalg.svd(g_fc.numpy()[:, :4].astype(np.float64), compute_uv=False)
    assert stats['fc_sv'][0.5] == pytest.approx(sv[:2].tolist(), rel=1e-5)
    record = stats_to_record(stats)
    assert set(record['norm']) == {'1.0', '0.5'} and record['widths'] == ['1.0', '0.5']


def test_clamp_and_errors():
    model = TwoLayer()
    model.conv.weight.grad = torch.full_like(model.conv.weight, 100.0)
    model.fc.weight.grad = torch.zeros_like(model.fc.weight)
    stats = slim_grad_stats(model, WIDTHS, max_norm=5.0)
    assert stats['layers']['conv'][1.0] == 5.0 and stats['layers']['conv'][0.5] == 5.0
    with pytest.raises(KeyError, match='fc_name'):
        slim_grad_stats(model, WIDTHS, fc_name='conv2')
    with pytest.raises(ValueError, match='after backward'):
        slim_grad_stats(TwoLayer(), WIDTHS)


def test_stem_and_fixed_input_on_real_backward(real_images):
    """A real summed-over-widths backward on real images through a slimmable ResNet."""
    torch.manual_seed(0)
    backbone = SlimmableResNetCIFAR(depth=18, stem_channels=8, base_channels=8,
                                    widths=(1.0, 0.5, 0.25))
    head = SlimmableLinear(64, 6, slim_out=False)
    predictor = SlimmableLinear(6, 4, slim_out=False)  # input fixed at 6
    model = nn.ModuleDict(dict(backbone=backbone, head=head, predictor=predictor))
    with SliceRecorder(model) as rec:
        loss = 0
        for w in backbone.widths:
            set_width(model, w)
            feat = backbone(real_images[:8])[-1].mean(dim=(2, 3))
            loss = loss + predictor(head(feat)).pow(2).mean()
        loss.backward()
    # the stem keeps its 3 input channels at every width
    assert static_slice(backbone.conv1, 0.25) == (2, 3)
    assert rec.slices['backbone.conv1'][0.25] == (2, 3)
    # the predictor's input is fixed: the static rule is wrong, the recorder right
    assert static_slice(predictor, 0.5) == (4, 3)
    assert rec.slices['predictor'][0.5] == (4, 6)

    stats = slim_grad_stats(model, backbone.widths, rec.slices)
    g = backbone.conv1.weight.grad
    assert stats['layers']['backbone.conv1'][0.25] == pytest.approx(
        g[:2, :3].norm().item(), rel=1e-6)
    g = backbone.layer2[0].conv1.weight.grad  # 8 -> 16 channels at full width
    assert stats['layers']['backbone.layer2.0.conv1'][0.5] == pytest.approx(
        g[:8, :4].norm().item(), rel=1e-6)
    assert stats['layers']['predictor'][0.5] == pytest.approx(
        predictor.weight.grad.norm().item(), rel=1e-6)
    assert stats['fc_name'] == 'predictor'
    # sub-blocks are nested: narrower widths never have a larger norm
    norms = [stats['norm'][w] for w in backbone.widths]
    assert norms == sorted(norms, reverse=True) and norms[-1] > 0
    # an explicit `slim_in = False` works without a recorder
    predictor.slim_in = False
    assert static_slice(predictor, 0.5) == (4, 6)
