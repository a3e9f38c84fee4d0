"""Slimmable layers against freshly built narrow layers."""
import pytest
import torch
from torch import nn

from slimselfsup.models.slimmable import (SlimmableConv2d, SlimmableLinear, SwitchableBatchNorm2d,
                                          set_width, slim_channels)


def test_channel_rule_truncates_like_the_reference():
    assert [slim_channels(64, w) for w in (1.0, 0.75, 0.5, 0.25)] == [64, 48, 32, 16]
    assert slim_channels(10, 0.33) == 3


@pytest.mark.parametrize('width', [1.0, 0.75, 0.5, 0.25])
def test_conv_slice_equals_narrow_conv(width):
    torch.manual_seed(0)
    conv = SlimmableConv2d(32, 64, 3, stride=2, padding=1, bias=True)
    conv.set_width(width)
    c_in, c_out = slim_channels(32, width), slim_channels(64, width)
    narrow = nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=True)
    narrow.weight.data.copy_(conv.weight[:c_out, :c_in])
    narrow.bias.data.copy_(conv.bias[:c_out])
    x = torch.randn(2, c_in, 9, 9)
    assert torch.allclose(conv(x), narrow(x), atol=1e-6)


@pytest.mark.parametrize('width', [1.0, 0.5])
def test_linear_slice_and_fixed_output(width):
    lin = SlimmableLinear(16, 8)
    fixed = SlimmableLinear(16, 8, slim_out=False)
    set_width(nn.Sequential(lin, fixed), width)
    x = torch.randn(3, slim_channels(16, width))
    out = lin(x)
    assert out.shape == (3, slim_channels(8, width))
    ref = x @ lin.weight[:out.shape[1], :x.shape[1]].t() + lin.bias[:out.shape[1]]
    assert torch.allclose(out, ref, atol=1e-6)
    assert fixed(x).shape == (3, 8)


def test_gradient_reaches_only_the_slice():
    conv = SlimmableConv2d(8, 8, 1, bias=False)
    conv.set_width(0.5)
    conv(torch.randn(2, 4, 3, 3)).sum().backward()
    assert conv.weight.grad[:4, :4].abs().sum() > 0
    assert conv.weight.grad[4:].abs().sum() == 0
    assert conv.weight.grad[:, 4:].abs().sum() == 0


def test_switchable_bn_keeps_statistics_per_width():
    bn = SwitchableBatchNorm2d(8, widths=(1.0, 0.5))
    bn.train()
    bn.set_width(1.0)
    bn(torch.randn(4, 8, 5, 5) + 3.0)
    bn.set_width(0.5)
    bn(torch.randn(4, 4, 5, 5) - 2.0)
    full, half = bn.bns
    assert full.running_mean.shape == (8, ) and half.running_mean.shape == (4, )
    assert (full.running_mean > 0.2).all() and (half.running_mean < -0.1).all()
    assert full.num_batches_tracked == 1 and half.num_batches_tracked == 1


def test_width_not_in_list_is_a_clear_error():
    bn = SwitchableBatchNorm2d(8, widths=(1.0, 0.5))
    with pytest.raises(ValueError, match=r'width 0.3 is not in the slimmable width list'):
        set_width(nn.Sequential(bn), 0.3)
    with pytest.raises(ValueError, match='descending'):
        SwitchableBatchNorm2d(8, widths=(0.5, 1.0))
