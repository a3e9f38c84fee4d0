"""SlimCLR-MoCo v3 on real CIFAR-10 images with a tiny slimmable ResNet-18."""
import pytest
import torch
import torch.nn.functional as F

from slimselfsup.models.slimmable import set_width
from .common import build, train_steps, two_views
from .test_slimclr_base import (SLIM_RESNET, WIDTHS, check_weighted_total, forward_losses, has_grad,
                                losses_on, set_epoch, switchable_bn_params)

T = 0.2
CFG = dict(
    type='SlimCLRMoCoV3', backbone=SLIM_RESNET, base_momentum=0.99, slim_start_epoch=-1,
    loss_weights=5,
    neck=dict(type='SlimmableMLPNeck', in_channels=128, hid_channels=64,
              out_channels=16, widths=WIDTHS, with_last_bn_affine=False),
    predictor=dict(type='SlimmableMLPNeck', in_channels=16, hid_channels=64,
                   out_channels=16, widths=WIDTHS, with_last_bn=False,
                   with_avg_pool=False),
    head=dict(type='NCEHead',
              loss=dict(type='InfoNCELoss', temperature=T, loss_weight=2 * T)))


def test_default_distillation_temperature_is_one():
    model = build(CFG)
    assert model.distill_loss.teacher_temperature == 1.0
    assert model.distill_loss.student_temperature == 1.0


def test_every_width_trains_on_real_images(real_images):
    torch.manual_seed(0)
    model = build(CFG)
    inputs = two_views(real_images)
    before = losses_on(model, inputs)
    assert set(before) == {'loss', 'ctr_w1.0', 'ctr_w0.5', 'kd_w0.5'}
    # symmetric: two terms of 2T * InfoNCE over B=16 candidates, near 2*0.4*log(16)
    for width in WIDTHS:
        assert before[f'ctr_w{width}'] == pytest.approx(
            2 * 2 * T * torch.log(torch.tensor(16.)).item(), rel=0.3)
    w0 = model.predictor.mlp[0].weight.detach().clone()
    losses = train_steps(model, inputs, steps=6)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert not torch.equal(w0, model.predictor.mlp[0].weight)
    after = losses_on(model, inputs)
    for width in WIDTHS:
        assert after[f'ctr_w{width}'] < before[f'ctr_w{width}']
    assert model.predictor.mlp[0].width == 1.0


def test_slow_start_trains_only_the_full_width(real_images):
    model = build(dict(CFG, slim_start_epoch=5))
    inputs = two_views(real_images)
    set_epoch(4.5)
    out = forward_losses(model, inputs)
    assert set(out) == {'loss', 'ctr_w1.0'}
    out['loss'].backward()
    predictor_sub_bn = model.predictor.mlp[1].bns[1]
    assert has_grad(model.backbone.bn1.bns[0].weight)
    assert all(p.grad is None for p in switchable_bn_params(model, 1))
    assert predictor_sub_bn.weight.grad is None

    model.zero_grad(set_to_none=True)
    set_epoch(5.0)
    forward_losses(model, inputs)['loss'].backward()
    assert all(p.grad is not None for p in switchable_bn_params(model, 1))
    assert has_grad(model.backbone.bn1.bns[1].weight) and has_grad(
        predictor_sub_bn.weight)


def test_distillation_reaches_the_student_not_the_teacher(real_images):
    model = build(dict(CFG, distill_alpha=1.0, loss_weights=[0.0, 1.0]))
    out = forward_losses(model, two_views(real_images))
    out['loss'].backward()
    assert not any(has_grad(p) for p in switchable_bn_params(model, 0))
    assert not has_grad(model.predictor.mlp[1].bns[0].weight)
    grad = model.predictor.mlp[0].weight.grad  # hidden 64 -> 32 at width 0.5
    assert grad[32:].abs().sum() == 0 and grad[:32].abs().sum() > 0
    assert has_grad(model.backbone.bn1.bns[1].weight)


def test_kd_distils_temperature_scaled_logits():
    model = build(CFG)
    pos, neg = torch.randn(4, 1), torch.randn(4, 7)
    assert torch.allclose(model.kd_logits(pos, neg), torch.cat([pos, neg], 1) / T)


@pytest.mark.parametrize('mode,weights', [(5, [1.5, 1.0]), (3, [1.333, 0.667]),
                                          ([2.0, 0.5], [2.0, 0.5])])
def test_total_is_the_weighted_sum_of_width_terms(real_images, mode, weights):
    model = build(dict(CFG, loss_weights=mode))
    assert model.loss_weights == pytest.approx(weights)
    check_weighted_total(model, two_views(real_images), model.loss_weights, alpha=0.5)


def test_momentum_encoder_runs_at_full_width(real_images):
    model = build(CFG)
    set_width(model, 0.5)  # the generic helper narrows the momentum encoder too
    inputs = two_views(real_images)
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=None), True)
    with torch.no_grad():
        model.loss(data['inputs'], None)
    assert all(getattr(m, 'width', 1.0) == 1.0 for m in model.modules())
    with torch.no_grad():
        keys = model.momentum_encoder(data['inputs'][0])[0]
    assert keys.shape == (16, 16) and torch.isfinite(F.normalize(keys, dim=1)).all()
