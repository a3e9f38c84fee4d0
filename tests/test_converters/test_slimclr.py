"""Official SlimCLR checkpoints -> our SlimmableResNet: strict load, same outputs
at every width; ``width=W`` gives the plain ResNet of that width.

The official file is rebuilt here from a real SlimmableResNet in the layout of
mzhaoshuai/SlimCLR (seed_facts 1.10): DDP ``module.encoder_q.`` prefix, blocks
flattened as ``features.0..15``, ``bn.{i}`` per width, ``shortcut.{0,1}``, MLP
``fc.{0,2}``, MoCo ``encoder_k`` and ``queue``.
"""
import re

import pytest
import torch

from slimselfsup.converters import ConversionError, convert
from slimselfsup.models.slimmable import set_width
from slimselfsup.registry import MODELS

WIDTHS = (1.0, 0.75, 0.5, 0.25)
SLIM = dict(type='SlimmableResNet', depth=50, widths=WIDTHS, stem_channels=16,
            base_channels=16)


def official_name(key: str) -> str:
    m = re.match(r'^layer(\d)\.(\d+)\.(.+)$', key)
    if m:
        start = {1: 0, 2: 3, 3: 7, 4: 13}[int(m.group(1))]
        key = f'features.{start + int(m.group(2))}.{m.group(3)}'
    key = key.replace('downsample.0.', 'shortcut.0.').replace(
        'downsample.1.bns.', 'shortcut.1.bn.')
    return re.sub(r'\.(bn\d)\.bns\.', r'.\1.bn.', '.' + key)[1:]


@pytest.fixture(scope='module')
def slim_net():
    torch.manual_seed(0)
    net = MODELS.build(SLIM)
    net.init_weights()
    x = torch.rand(8, 3, 64, 64)
    net.train()
    with torch.no_grad():
        for w in WIDTHS:  # private BN statistics for every width
            set_width(net, w)
            net(x)
    net.eval()
    return net


def official_checkpoint(net, kind: str = 'mocov2') -> dict:
    enc = {'mocov2': 'module.encoder_q.', 'mocov3': 'module.base_encoder.',
           'lincls': 'module.'}[kind]
    state = {enc + official_name(k): v for k, v in net.state_dict().items()}
    if kind == 'mocov2':
        state.update({'module.encoder_q.fc.0.weight': torch.zeros(4, 4),
                      'module.encoder_k.conv1.weight': torch.zeros(1),
                      'module.queue': torch.zeros(128, 8),
                      'module.queue_ptr': torch.zeros(1, dtype=torch.long)})
    if kind == 'lincls':
        for i, w in enumerate(WIDTHS):
            state[f'module.fc.linears.{i}.weight'] = torch.randn(10, int(512 * w))
            state[f'module.fc.linears.{i}.bias'] = torch.randn(10)
    return {'epoch': 200, 'arch': 'resnet50', 'state_dict': state,
            'optimizer': {}, 'best_acc1': 0}


def test_official_layout_names():
    assert official_name('layer3.0.downsample.1.bns.2.running_var') == \
        'features.7.shortcut.1.bn.2.running_var'
    assert official_name('bn1.bns.0.weight') == 'bn1.bn.0.weight'


@pytest.mark.parametrize('kind', ['mocov2', 'mocov3'])
def test_official_to_slimmable_resnet_all_widths(slim_net, real_images, kind):
    state = convert('slimclr', official_checkpoint(slim_net, kind))
    assert all(k.startswith('backbone.') for k in state)
    fresh = MODELS.build(SLIM)
    fresh.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()},
                          strict=True)
    fresh.eval()
    x = torch.nn.functional.interpolate(real_images, size=64)
    with torch.no_grad():
        for w in WIDTHS:
            set_width(fresh, w)
            set_width(slim_net, w)
            torch.testing.assert_close(fresh(x)[-1], slim_net(x)[-1], rtol=0, atol=0)


def test_width_cut_gives_plain_resnet(slim_net, real_images):
    state = convert('slimclr', official_checkpoint(slim_net, 'lincls'), width=0.5)
    plain = MODELS.build(dict(type='ResNet', depth=50, stem_channels=8,
                              base_channels=8))
    plain.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()
                           if k.startswith('backbone.')}, strict=True)
    assert state['head.fc.weight'].shape == (10, 256)
    plain.eval()
    set_width(slim_net, 0.5)
    x = torch.nn.functional.interpolate(real_images, size=64)
    with torch.no_grad():
        torch.testing.assert_close(plain(x)[-1], slim_net(x)[-1], rtol=1e-5, atol=1e-6)


def test_bad_inputs_are_named(slim_net):
    with pytest.raises(ConversionError, match='not an official SlimCLR checkpoint'):
        convert('slimclr', {'state_dict': {'backbone.conv1.weight': torch.zeros(1)}})
    with pytest.raises(ConversionError, match=r'width 0.3 is not in this checkpoint'):
        convert('slimclr', official_checkpoint(slim_net), width=0.3)
