"""DetSlimmableResNet: one width of a slimmable ResNet as an mmdet backbone."""
import pytest
import torch
from mmengine.registry import init_default_scope

from slimselfsup.models.backbones import SlimmableResNet
from slimselfsup.models.backbones.det_slimmable_resnet import DetSlimmableResNet, slice_state_dict

WIDTHS = (1.0, 0.75, 0.5, 0.25)


def _slimmable_checkpoint(tmp_path, depth: int = 18) -> tuple:
    """A SlimmableResNet with distinct per-width BN statistics, saved the way our
    pretraining saves it (``state_dict`` with ``backbone.`` keys)."""
    init_default_scope('slimselfsup')
    torch.manual_seed(0)
    slim = SlimmableResNet(depth=depth, widths=WIDTHS, out_indices=(0, 1, 2, 3))
    slim.init_weights()
    for m in slim.modules():
        if hasattr(m, 'bns'):  # a wrong BN index cannot pass
            for bn in m.bns:
                bn.running_mean.uniform_(-0.2, 0.2)
                bn.running_var.uniform_(0.5, 1.5)
                bn.weight.data.uniform_(0.5, 1.5)
                bn.bias.data.uniform_(-0.2, 0.2)
    path = str(tmp_path / 'slim.pth')
    torch.save({'state_dict': {'backbone.' + k: v for k, v in slim.state_dict().items()},
                'meta': {}}, path)
    slim.eval()  # mmpretrain's ResNet.train() returns None, so no chaining
    return slim, path


@pytest.mark.parametrize('width', WIDTHS)
def test_width_outputs_equal_slimmable_resnet(width, tmp_path, real_images):
    slim, path = _slimmable_checkpoint(tmp_path)
    det = DetSlimmableResNet(
        depth=18, width=width, out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    det.init_weights()
    det.eval()
    slim.set_width(width)
    x = torch.nn.functional.interpolate(real_images[:4], size=64, mode='bilinear')
    with torch.no_grad():
        ours, ref = det(x), slim(x)
    assert [o.shape[1] for o in ours] == det.out_channels == \
        [int(c * width) for c in (64, 128, 256, 512)]
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_bottleneck_width_and_own_checkpoint_round_trip(tmp_path):
    slim, path = _slimmable_checkpoint(tmp_path, depth=50)
    det = DetSlimmableResNet(depth=50, width=0.25, init_cfg=dict(
        type='Pretrained', checkpoint=path, prefix='backbone.'))
    det.init_weights()
    assert det.out_channels == [64, 128, 256, 512]
    idx = WIDTHS.index(0.25)
    src = slim.state_dict()
    torch.testing.assert_close(det.state_dict()['layer3.2.bn2.running_var'],
                               src[f'layer3.2.bn2.bns.{idx}.running_var'])
    torch.testing.assert_close(det.layer4[0].conv3.weight,
                               src['layer4.0.conv3.weight'][:512, :128])
    # a checkpoint of the narrow network itself loads unchanged
    own = {k: v for k, v in det.state_dict().items()}
    again = slice_state_dict(own, DetSlimmableResNet(depth=50, width=0.25).state_dict())
    assert all(torch.equal(again[k], v) for k, v in own.items())


def test_frozen_stages_and_norm_eval():
    det = DetSlimmableResNet(depth=18, width=0.5, frozen_stages=1, norm_eval=True)
    det.train()
    assert not any(p.requires_grad for p in det.layer1.parameters())
    assert all(p.requires_grad for p in det.layer2.parameters())
    assert all(not m.training for m in det.modules()
               if isinstance(m, torch.nn.BatchNorm2d))


def test_bad_width_and_checkpoints_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match='multiple of 1/64'):
        DetSlimmableResNet(depth=50, width=0.3)
    with pytest.raises(ValueError, match='base_channels'):
        DetSlimmableResNet(depth=18, base_channels=32)
    _, path = _slimmable_checkpoint(tmp_path)
    narrow = DetSlimmableResNet(depth=18, width=0.125, init_cfg=dict(
        type='Pretrained', checkpoint=path, prefix='backbone.'))
    with pytest.raises(ValueError, match='widths the network was pretrained at'):
        narrow.init_weights()
    wrong_prefix = DetSlimmableResNet(depth=18, width=0.5, init_cfg=dict(
        type='Pretrained', checkpoint=path, prefix='backbone.layer1.'))
    with pytest.raises(KeyError, match='prefix'):
        wrong_prefix.init_weights()
    plain = DetSlimmableResNet(depth=18, width=1.0).state_dict()
    with pytest.raises(ValueError, match='not slimmable'):
        slice_state_dict(plain, DetSlimmableResNet(depth=18, width=0.5).state_dict())
