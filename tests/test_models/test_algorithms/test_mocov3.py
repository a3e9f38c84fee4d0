import pytest
import torch
from mmengine.logging import MessageHub

from .common import TINY_RESNET, build, loss_on, train_steps, two_views

BN1D = dict(type='BN1d')
CFG = dict(
    type='MoCoV3', backbone=TINY_RESNET, base_momentum=0.99,
    neck=dict(type='NonLinearNeck', in_channels=128, hid_channels=64, out_channels=16,
              with_last_bn_affine=False, norm_cfg=BN1D),
    predictor=dict(type='NonLinearNeck', in_channels=16, hid_channels=64,
                   out_channels=16, with_last_bn=False, with_avg_pool=False,
                   norm_cfg=BN1D),
    head=dict(type='NCEHead',
              loss=dict(type='InfoNCELoss', temperature=0.2, loss_weight=0.4)))


def test_momentum_follows_cosine_ramp():
    model = build(CFG)
    hub = MessageHub.get_instance('test_mocov3_momentum')
    hub.update_info('max_iters', 100)
    for it, expected in [(0, 0.99), (50, 0.995), (100, 1.0)]:
        hub.update_info('iter', it)
        assert model.current_momentum() == pytest.approx(expected)


def test_symmetric_loss_trains_on_real_images(real_images):
    torch.manual_seed(0)
    model = build(CFG)
    inputs = two_views(real_images)
    loss0 = loss_on(model, inputs)
    # symmetric: two terms of 2T * InfoNCE over B candidates, at init near 2*0.4*log(16)
    assert loss0 == pytest.approx(2 * 0.4 * torch.log(torch.tensor(16.)).item(), rel=0.3)
    w0 = model.predictor.fc0.weight.detach().clone()
    train_steps(model, inputs, steps=6)
    assert not torch.equal(w0, model.predictor.fc0.weight)
    assert loss_on(model, inputs) < loss0
