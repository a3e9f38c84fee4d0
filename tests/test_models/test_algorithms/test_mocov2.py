import pytest
import torch

from slimselfsup.models.algorithms import MoCoV2
from .common import TINY_RESNET, build, loss_on, train_steps, two_views

CFG = dict(type='MoCoV2', backbone=TINY_RESNET, queue_len=64, feat_dim=16, momentum=0.99,
           neck=dict(type='MoCoV2Neck', in_channels=128, hid_channels=64, out_channels=16),
           head=dict(type='NCEHead', loss=dict(type='InfoNCELoss', temperature=0.2)))


def test_key_encoder_starts_equal_and_follows_by_ema(real_images):
    model = build(CFG)
    online = torch.nn.Sequential(model.backbone, model.neck)
    for p, q in zip(online.parameters(), model.momentum_encoder.parameters()):
        assert torch.equal(p, q)
        assert not q.requires_grad
    before = [p.detach().clone() for p in model.momentum_encoder.parameters()]
    # step 1: the EMA runs before the SGD step, while query == key, so keys stay put
    train_steps(model, two_views(real_images), steps=1)
    assert all(torch.equal(a, b)
               for a, b in zip(before, model.momentum_encoder.parameters()))
    # step 2: keys move 1% of the way towards the (now different) query weights
    query = [p.detach().clone() for p in online.parameters()]
    train_steps(model, two_views(real_images), steps=1)
    for b, q, k in zip(before, query, model.momentum_encoder.parameters()):
        assert torch.allclose(k, 0.99 * b + 0.01 * q, atol=1e-6)
    assert any(not torch.equal(b, k)
               for b, k in zip(before, model.momentum_encoder.parameters()))


def test_train_step_changes_weights_and_lowers_loss(real_images):
    torch.manual_seed(0)
    model = build(CFG)
    inputs = two_views(real_images)
    queue0 = model.queue.queue.clone()

    def same_queue(m):
        m.queue.queue.copy_(queue0)

    loss0 = loss_on(model, inputs, same_queue)
    w0 = model.backbone.conv1.weight.detach().clone()
    losses = train_steps(model, inputs, steps=6)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert not torch.equal(w0, model.backbone.conv1.weight)
    # same batch, same negatives: the trained query encoder must score lower
    assert loss_on(model, inputs, same_queue) < loss0


def test_queue_receives_keys_in_order(real_images):
    model = build(CFG)
    train_steps(model, two_views(real_images), steps=1)
    assert int(model.queue.ptr) == 16
    keys = model.queue.queue[:16]
    assert torch.allclose(keys.norm(dim=1), torch.ones(16), atol=1e-5)
    assert 'queue.queue' in model.state_dict() and 'queue.ptr' in model.state_dict()
    assert any(k.startswith('momentum_encoder.') for k in model.state_dict())


def test_queue_length_must_divide_batch(real_images):
    model = build(dict(CFG, queue_len=50))
    with pytest.raises(ValueError, match='multiple of the global batch size'):
        train_steps(model, two_views(real_images), steps=1)


def test_mmpretrain_momentum_convention_is_rejected():
    with pytest.raises(ValueError, match='momentum=0.999'):
        MoCoV2(**{k: v for k, v in CFG.items() if k != 'type'} | dict(momentum=0.001))
