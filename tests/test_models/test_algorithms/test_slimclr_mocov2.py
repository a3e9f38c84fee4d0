"""SlimCLR-MoCo v2 on real CIFAR-10 images with a tiny slimmable ResNet-18."""
import copy

import pytest
import torch
from torch import nn

from slimselfsup.models.slimmable import set_width
from .common import build, train_steps, two_views
from .test_slimclr_base import (SLIM_RESNET, WIDTHS, check_weighted_total, forward_losses, has_grad,
                                losses_on, set_epoch, switchable_bn_params)

CFG = dict(
    type='SlimCLRMoCoV2', backbone=SLIM_RESNET, queue_len=64, feat_dim=16,
    momentum=0.99, slim_start_epoch=-1, loss_weights=5,
    neck=dict(type='SlimmableMLPNeck', in_channels=128, hid_channels=64,
              out_channels=16, widths=WIDTHS, with_bias=True, with_hidden_bn=False,
              with_last_bias=True, with_last_bn=False),
    head=dict(type='NCEHead', loss=dict(type='InfoNCELoss', temperature=0.2)))


def test_every_width_trains_on_real_images(real_images):
    torch.manual_seed(0)
    model = build(CFG)
    inputs = two_views(real_images)
    queue0 = model.queue.queue.clone()

    def same_queue(m):
        m.queue.queue.copy_(queue0)

    before = losses_on(model, inputs, same_queue)
    assert set(before) == {'loss', 'ctr_w1.0', 'ctr_w0.5', 'kd_w0.5'}
    assert all(torch.isfinite(torch.tensor(v)) for v in before.values())
    losses = train_steps(model, inputs, steps=6)
    assert all(torch.isfinite(torch.tensor(losses)))
    after = losses_on(model, inputs, same_queue)
    # same batch, same negatives: every width's query encoder must score lower
    for width in WIDTHS:
        assert after[f'ctr_w{width}'] < before[f'ctr_w{width}']
    assert model.backbone.width == 1.0  # left at full width for kNN / inference


def test_slow_start_trains_only_the_full_width(real_images):
    model = build(dict(CFG, slim_start_epoch=3))
    inputs = two_views(real_images)
    set_epoch(2.9)
    out = forward_losses(model, inputs)
    assert set(out) == {'loss', 'ctr_w1.0'}  # sub-width terms are absent
    assert torch.equal(out['loss'], out['ctr_w1.0'])  # weight 1 before slow start
    out['loss'].backward()
    assert has_grad(model.backbone.bn1.bns[0].weight)
    assert all(p.grad is None for p in switchable_bn_params(model, 1))

    model.zero_grad(set_to_none=True)
    set_epoch(3.0)
    out = forward_losses(model, inputs)
    assert set(out) == {'loss', 'ctr_w1.0', 'ctr_w0.5', 'kd_w0.5'}
    out['loss'].backward()
    for index in (0, 1):
        assert all(p.grad is not None for p in switchable_bn_params(model, index))
        assert has_grad(model.backbone.bn1.bns[index].weight)


def test_distillation_reaches_the_student_not_the_teacher(real_images):
    # total = 0 * L(full) + 1 * (0 * L_ctr(0.5) + 1 * L_kd(0.5)): only the KD term
    model = build(dict(CFG, distill_alpha=1.0, loss_weights=[0.0, 1.0]))
    out = forward_losses(model, two_views(real_images))
    assert out['kd_w0.5'] > 0
    out['loss'].backward()
    # the full-width-only parameters (its BNs, the channels beyond the 0.5 slice)
    # are only on the teacher's path: no gradient from the KD term
    assert not any(has_grad(p) for p in switchable_bn_params(model, 0))
    grad = model.backbone.conv1.weight.grad
    assert grad[8:].abs().sum() == 0 and grad[:8].abs().sum() > 0
    assert has_grad(model.backbone.bn1.bns[1].weight)


@pytest.mark.parametrize('mode,weights', [(5, [1.5, 1.0]), (0, [1.0, 1.0]),
                                          (2, [1.0, 0.5]), (7, [1.5, 1.0]),
                                          ([0.3, 2.0], [0.3, 2.0])])
@pytest.mark.parametrize('distill', [True, False])
def test_total_is_the_weighted_sum_of_width_terms(real_images, mode, weights, distill):
    model = build(dict(CFG, loss_weights=mode, distill=distill))
    assert model.loss_weights == weights
    check_weighted_total(model, two_views(real_images), weights, alpha=0.5)


def test_queue_holds_full_width_keys_only(real_images):
    model = build(CFG)
    inputs = two_views(real_images)
    set_width(model, 0.5)  # even if someone narrowed the whole model
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=None), True)
    key_encoder = copy.deepcopy(model.momentum_encoder)
    key_encoder.update(nn.Sequential(model.backbone, model.neck), model.momentum)
    set_width(key_encoder, 1.0)
    with torch.no_grad():
        keys = nn.functional.normalize(key_encoder(data['inputs'][1])[0], dim=1)
        model.loss(data['inputs'], None)
    assert int(model.queue.ptr) == 16
    assert torch.allclose(model.queue.queue[:16], keys, atol=1e-5)
    assert all(getattr(m, 'width', 1.0) == 1.0
               for m in model.momentum_encoder.modules())


def test_widths_must_include_the_full_width():
    with pytest.raises(ValueError, match='including the full width'):
        build(dict(CFG, widths=(0.5, )))
