"""Slimmable SimCLR on real CIFAR-10 images with a tiny slimmable ResNet-18."""
import copy

import pytest
import torch
import torch.nn.functional as F

from slimselfsup.models.losses import SoftDistillLoss
from .common import build, train_steps, two_views
from .test_slimclr_base import (SLIM_RESNET, WIDTHS, check_weighted_total, forward_losses, has_grad,
                                losses_on, set_epoch, switchable_bn_params)

CFG = dict(
    type='SlimCLRSimCLR', backbone=SLIM_RESNET, slim_start_epoch=-1, loss_weights=5,
    neck=dict(type='SlimmableMLPNeck', in_channels=128, hid_channels=64,
              out_channels=16, widths=WIDTHS, with_bias=True),
    head=dict(type='NCEHead', loss=dict(type='InfoNCELoss', temperature=0.1)))


def test_matches_the_reference_formulation(real_images):
    """Per width: CE over the 2N x (2N-1) cosine matrix without its diagonal,
    positives at N+i-1 (first view) and i (second view); KD of the raw matrix."""
    model = build(CFG)
    inputs = two_views(real_images)
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=None), True)
    probe = copy.deepcopy(model)
    with torch.no_grad():
        out = model.loss(data['inputs'], None)
        matrices = {}
        for width in WIDTHS:
            probe.set_width(width)
            z = torch.cat([probe.neck(probe.backbone(v))[0] for v in data['inputs']])
            z = F.normalize(z, dim=1)
            n2 = z.shape[0]
            sim = (z @ z.t())[~torch.eye(n2, dtype=torch.bool)].view(n2, n2 - 1)
            n = n2 // 2
            labels = torch.cat([torch.arange(n) + n - 1, torch.arange(n)])
            assert out[f'ctr_w{width}'] == pytest.approx(
                F.cross_entropy(sim / 0.1, labels).item(), rel=1e-4)
            matrices[width] = sim
    kd = SoftDistillLoss(5.0, 5.0)(matrices[0.5], matrices[1.0])
    assert out['kd_w0.5'] == pytest.approx(kd.item(), rel=1e-4)


def test_every_width_trains_on_real_images(real_images):
    torch.manual_seed(0)
    model = build(CFG)
    inputs = two_views(real_images)
    before = losses_on(model, inputs)
    assert all(torch.isfinite(torch.tensor(v)) for v in before.values())
    losses = train_steps(model, inputs, steps=6)
    assert all(torch.isfinite(torch.tensor(losses)))
    after = losses_on(model, inputs)
    for width in WIDTHS:
        assert after[f'ctr_w{width}'] < before[f'ctr_w{width}']
    assert after['loss'] < before['loss']


def test_slow_start_trains_only_the_full_width(real_images):
    model = build(dict(CFG, slim_start_epoch=1.5))
    inputs = two_views(real_images)
    set_epoch(1.4)
    out = forward_losses(model, inputs)
    assert set(out) == {'loss', 'ctr_w1.0'}
    out['loss'].backward()
    assert has_grad(model.neck.mlp[1].bns[0].weight)
    assert all(p.grad is None for p in switchable_bn_params(model, 1))

    model.zero_grad(set_to_none=True)
    set_epoch(1.5)
    out = forward_losses(model, inputs)
    assert set(out) == {'loss', 'ctr_w1.0', 'ctr_w0.5', 'kd_w0.5'}
    out['loss'].backward()
    assert all(p.grad is not None for p in switchable_bn_params(model, 1))
    assert has_grad(model.neck.mlp[1].bns[1].weight)


def test_distillation_reaches_the_student_not_the_teacher(real_images):
    model = build(dict(CFG, distill_alpha=1.0, loss_weights=[0.0, 1.0]))
    forward_losses(model, two_views(real_images))['loss'].backward()
    assert not any(has_grad(p) for p in switchable_bn_params(model, 0))
    assert has_grad(model.neck.mlp[1].bns[1].weight)
    grad = model.neck.mlp[0].weight.grad
    assert grad[32:].abs().sum() == 0 and grad[:32].abs().sum() > 0


@pytest.mark.parametrize('mode', [5, 1, 6])
@pytest.mark.parametrize('distill', [True, False])
def test_total_is_the_weighted_sum_of_width_terms(real_images, mode, distill):
    model = build(dict(CFG, loss_weights=mode, distill=distill, distill_alpha=0.3))
    alpha = 0.3 if distill else 0.0
    assert model.distill_alpha == alpha
    check_weighted_total(model, two_views(real_images), model.loss_weights, alpha)
