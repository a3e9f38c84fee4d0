"""SlimmableResNet: per-width sub-networks equal plain narrow ResNets."""
import pytest
import torch
from mmpretrain.models.backbones import ResNet

from slimselfsup.models.backbones import SlimmableResNet, SlimmableResNetCIFAR
from slimselfsup.models.slimmable import slim_channels


def test_feature_dims_follow_width():
    model = SlimmableResNet(depth=50, widths=(1.0, 0.5))
    x = torch.randn(1, 3, 64, 64)
    for w, c in ((1.0, 2048), (0.5, 1024)):
        model.set_width(w)
        assert model(x)[-1].shape == (1, c, 2, 2)
    with pytest.raises(ValueError, match='conv_cfg'):
        SlimmableResNet(depth=18, conv_cfg=dict(type='Conv2d'))


@pytest.mark.parametrize('width', [1.0, 0.5, 0.25])
def test_width_equals_narrow_resnet_with_copied_weights(width, real_images):
    """Slicing the shared weights gives exactly a ResNet-18 of the narrow width."""
    torch.manual_seed(0)
    widths = (1.0, 0.5, 0.25)
    slim = SlimmableResNet(depth=18, widths=widths, base_channels=16, stem_channels=16)
    slim.init_weights()
    # give the BNs distinct statistics so a wrong BN index cannot pass
    for m in slim.modules():
        if hasattr(m, 'bns'):
            for i, bn in enumerate(m.bns):
                bn.running_mean.uniform_(-0.1, 0.1)
                bn.running_var.uniform_(0.5, 1.5)
                bn.weight.data.uniform_(0.5, 1.5)
    slim.eval()
    slim.set_width(width)
    narrow = ResNet(depth=18, base_channels=slim_channels(16, width),
                    stem_channels=slim_channels(16, width))
    narrow.eval()  # mmpretrain's ResNet.train() returns None, so no chaining
    idx = widths.index(width)
    src = slim.state_dict()
    state = {}
    for key, ref in narrow.state_dict().items():
        module, name = key.rsplit('.', 1)
        bn_key = f'{module}.bns.{idx}.{name}'
        value = src[bn_key] if bn_key in src else src[key]
        if value.dim() >= 1:
            value = value[tuple(slice(0, s) for s in ref.shape)]
        state[key] = value
    narrow.load_state_dict(state)
    x = real_images[:4]
    assert torch.allclose(slim(x)[-1], narrow(x)[-1], atol=1e-5)


def test_zero_init_residual_reaches_every_width():
    model = SlimmableResNetCIFAR(depth=18, widths=(1.0, 0.5), zero_init_residual=True)
    model.init_weights()
    for bn in model.layer1[0].bn2.bns:
        assert bn.weight.abs().sum() == 0
    assert model.layer1[0].bn1.bns[1].weight.abs().sum() > 0
