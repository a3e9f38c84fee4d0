"""TEC's losses against hand-computed values on small tensors."""
import math

import pytest
import torch

from slimselfsup.registry import MODELS


def _head(**kwargs):
    return MODELS.build(dict(type='TECHead', feat_loss=dict(type='TokenNormMSELoss'),
                             att_loss=dict(type='RelationSoftCELoss', **kwargs)))


def test_feature_loss_normalises_over_tokens_and_averages_masked_patches():
    # one image, 3 tokens, 1 channel: target (1, 2, 3) has mean 2, unbiased var 1
    target = torch.tensor([[[1.], [2.], [3.]]])
    pred = torch.zeros(1, 3, 1)
    mask = torch.tensor([[1., 0., 1.]])
    loss = _head().feat_loss(pred, target, mask)
    z = 1 / math.sqrt(1 + 1e-6)  # normalised targets -z, 0, z
    assert loss.item() == pytest.approx((z**2 + z**2) / 2)  # tokens 0 and 2 only


def test_relation_loss_is_soft_cross_entropy_with_temperature():
    target = torch.tensor([[0., math.log(3.)]])  # softmax at tau=1: (1/4, 3/4)
    pred = torch.tensor([[math.log(1.), math.log(1.)]])  # log-probs log(1/2) each
    losses = _head(tau=1.0).loss(torch.zeros(1, 2, 1), torch.ones(1, 2, 1),
                                 torch.ones(1, 2), pred, target)
    assert losses['loss_att'].item() == pytest.approx(math.log(2.))
    assert losses['loss_feat'].item() == pytest.approx(0.)  # constant target -> 0
    # tau 2: target softmax of (0, log3 / 2) = (1, sqrt3) / (1 + sqrt3)
    pred = torch.tensor([[0., math.log(2.)]])  # log-probs log(1/3), log(2/3)
    p = torch.tensor([1., math.sqrt(3.)]) / (1 + math.sqrt(3.))
    expected = -(p[0] * math.log(1 / 3) + p[1] * math.log(2 / 3))
    loss = _head(tau=2.0).att_loss(pred, target)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_relation_loss_averages_rows_heads_and_images():
    torch.manual_seed(0)
    pred, target = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 4, 5)
    loss = _head(tau=1.8).att_loss(pred, target)
    rows = [-(torch.softmax(target[b, h, r] / 1.8, -1) *
              torch.log_softmax(pred[b, h, r], -1)).sum()
            for b in range(2) for h in range(3) for r in range(4)]
    assert loss.item() == pytest.approx(torch.stack(rows).mean().item(), rel=1e-6)


def test_bad_inputs_fail_clearly():
    head = _head()
    with pytest.raises(ValueError, match='pred .* and target .* differ'):
        head.feat_loss(torch.zeros(1, 2, 3), torch.zeros(1, 2, 4), torch.ones(1, 2))
    with pytest.raises(ValueError, match='got no relation'):
        head.loss(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), torch.ones(1, 2))
    with pytest.raises(ValueError, match='tau must be > 0'):
        MODELS.build(dict(type='RelationSoftCELoss', tau=0))
