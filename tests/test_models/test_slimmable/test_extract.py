"""models/slimmable/extract.py: one width of a slimmable network's state dict, the
function behind the slimclr_extract tool, the slimclr converter and
DetSlimmableResNet (SlimCLR, arXiv 2209.15525)."""
import importlib.util
from pathlib import Path

import pytest
import torch
from mmengine.registry import init_default_scope

from slimselfsup.converters.resnet_keys import resnet_layout
from slimselfsup.models.backbones import SlimmableResNet
from slimselfsup.models.backbones.det_slimmable_resnet import DetSlimmableResNet, slice_state_dict
from slimselfsup.models.slimmable.extract import (extract_head_width, extract_resnet, extract_width,
                                                  infer_widths)

REPO = Path(__file__).resolve().parents[3]
WIDTHS = (1.0, 0.75, 0.5, 0.25)


@pytest.fixture(scope='module')
def state():
    """A SlimmableResNet-18 with distinct statistics per width's BN."""
    init_default_scope('slimselfsup')
    torch.manual_seed(0)
    net = SlimmableResNet(depth=18, widths=WIDTHS)
    net.init_weights()
    for m in net.modules():
        if hasattr(m, 'bns'):
            for bn in m.bns:
                bn.running_mean.uniform_(-1, 1)
                bn.weight.data.uniform_(0.5, 1.5)
    return net.state_dict()


def test_width_0_25_by_hand(state):
    out = extract_width(state, 0.25, WIDTHS)
    # ResNet-18 at width 0.25: stem 16 channels from the 3 image channels, layer2 32
    assert out['conv1.weight'].shape == (16, 3, 7, 7)
    assert torch.equal(out['conv1.weight'], state['conv1.weight'][:16])
    assert torch.equal(out['layer2.0.conv1.weight'], state['layer2.0.conv1.weight'][:32, :16])
    assert torch.equal(out['layer3.0.downsample.1.running_mean'],
                       state['layer3.0.downsample.1.bns.3.running_mean'])
    assert torch.equal(out['bn1.weight'], state['bn1.bns.3.weight'])
    assert not any('.bns.' in k for k in out)
    # exactly the keys and shapes of a plain ResNet-18 with 16 base channels
    from mmpretrain.models.backbones import ResNet
    plain = ResNet(depth=18, stem_channels=16, base_channels=16).state_dict()
    assert {k: tuple(v.shape) for k, v in out.items()} == \
        {k: tuple(v.shape) for k, v in plain.items()}
    # copies: changing the cut leaves the checkpoint alone
    out['conv1.weight'].zero_()
    assert state['conv1.weight'].abs().sum() > 0


def test_widths_inferred_from_bn_sizes(state):
    assert infer_widths(state) == WIDTHS
    assert all(torch.equal(a, b) for a, b in zip(extract_width(state, 0.5).values(),
                                                 extract_width(state, 0.5, WIDTHS).values()))


def test_the_three_callers_give_the_same_tensors(state, tmp_path):
    """The tool, the converter's plain-ResNet cut and the mmdet backbone all return
    extract_width's tensors."""
    spec = importlib.util.spec_from_file_location(
        'slimclr_extract', REPO / 'tools' / 'model_converters' / 'slimclr_extract.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in state.items()}},
               tmp_path / 'slim.pth')
    for width in WIDTHS:
        ref = extract_width(state, width, WIDTHS)
        tool.main([str(tmp_path / 'slim.pth'), '--width', str(width), '--out',
                   str(tmp_path / 'w.pth')])
        from_tool = {k[len('backbone.'):]: v for k, v in
                     torch.load(tmp_path / 'w.pth')['state_dict'].items()}
        from_resnet, _, arch = extract_resnet(state, width, WIDTHS, resnet_layout(state))
        det = DetSlimmableResNet(depth=18, width=width).state_dict()
        from_det = slice_state_dict(state, det, width)
        assert arch['base_channels'] == int(64 * width)
        for other in (from_tool, from_resnet, from_det):
            assert set(other) <= set(ref)
            assert all(torch.equal(other[k], ref[k]) for k in other)
        assert set(from_tool) == set(from_resnet)


def test_head_widths():
    head = {f'fcs.{i}.{n}': torch.randn(10, int(64 * w)) if n == 'weight' else torch.randn(10)
            for i, w in enumerate(WIDTHS) for n in ('weight', 'bias')}
    out = extract_head_width(head, 0.5, WIDTHS)
    assert torch.equal(out['fc.weight'], head['fcs.2.weight'])
    assert torch.equal(out['fc.bias'], head['fcs.2.bias'])
    shared = {'fc.weight': torch.randn(10, 64), 'fc.bias': torch.randn(10)}
    out = extract_head_width(shared, 0.25, WIDTHS)
    assert torch.equal(out['fc.weight'], shared['fc.weight'][:, :16])
    assert extract_head_width({}, 0.25, WIDTHS) == {}


def test_bad_widths_are_named(state):
    with pytest.raises(ValueError, match=r'width 0.3 is not in this checkpoint; available '
                       r'widths: \[1.0, 0.75, 0.5, 0.25\]'):
        extract_width(state, 0.3, WIDTHS)
    with pytest.raises(ValueError, match=r'4 BNs per layer but widths \[1.0, 0.5\] has 2'):
        extract_width(state, 0.5, (1.0, 0.5))
    with pytest.raises(ValueError, match='not a slimmable network'):
        infer_widths({'conv1.weight': torch.zeros(8, 3, 7, 7)})
