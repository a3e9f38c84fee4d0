"""SEEDHead with SEEDLoss: the soft cross-entropy of SEED against a hand-computed
reference."""
import math

import pytest
import torch
from torch.nn import functional as F

from slimselfsup.models.heads import SEEDHead
from slimselfsup.models.losses import SEEDLoss


def unit(rows):
    t = torch.tensor(rows, dtype=torch.float64)
    return t / t.norm(dim=1, keepdim=True)


S = unit([[1.0, 0.0], [0.6, 0.8]])
T = unit([[0.8, 0.6], [0.0, 1.0]])
Q = unit([[1.0, 1.0], [-1.0, 0.5], [0.3, -1.0]])


def reference(s, t, q, tau_s, tau_t):
    """Loop form of the paper's loss: candidates [t, q_1..q_K] for both sides."""
    def dot(a, b):
        return sum(x * y for x, y in zip(a, b))

    total = 0.0
    for sn, tn in zip(s.tolist(), t.tolist()):
        cands = [tn] + q.tolist()
        zs = [dot(sn, c) / tau_s for c in cands]
        zt = [dot(tn, c) / tau_t for c in cands]
        log_norm_s = math.log(sum(math.exp(z) for z in zs))
        norm_t = sum(math.exp(z) for z in zt)
        total -= sum(math.exp(b) / norm_t * (a - log_norm_s) for a, b in zip(zs, zt))
    return total / len(s)


@pytest.mark.parametrize('tau_s,tau_t', [(0.2, 0.5), (0.2, 1.0), (1.0, 0.07)])
def test_loss_equals_hand_computed_reference(tau_s, tau_t):
    head = SEEDHead(loss=dict(type='SEEDLoss', student_temperature=tau_s,
                              teacher_temperature=tau_t))
    out = head.loss(S.float(), T.float(), Q.float())
    assert out['loss'].item() == pytest.approx(reference(S, T, Q, tau_s, tau_t), rel=1e-5)


def test_default_teacher_temperature_is_infonce_with_teacher_positive():
    """tau_T = 1e-4 makes the target one-hot on the current teacher embedding."""
    out = SEEDHead().loss(S.float(), T.float(), Q.float())
    logits = torch.cat([(S * T).sum(1, keepdim=True), S @ Q.t()], 1) / 0.2
    infonce = F.cross_entropy(logits, torch.zeros(2, dtype=torch.long))
    assert out['loss'].item() == pytest.approx(infonce.item(), rel=1e-5)
    # the student's row 1 peaks at q_1, not at t
    assert out['agree'].item() == pytest.approx(0.5)


def test_gradient_reaches_student_only_and_half_precision_is_safe():
    s = S.half().requires_grad_()
    t = T.half().requires_grad_()
    loss = SEEDHead(loss=dict(type='SEEDLoss', teacher_temperature=1e-4)).loss(
        s, t, Q.half())['loss']
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert t.grad is None
    assert s.grad is not None and torch.isfinite(s.grad).all() and s.grad.abs().sum() > 0


def test_bad_shapes_and_temperatures_are_rejected():
    with pytest.raises(ValueError, match='shape'):
        SEEDHead().loss(S.float(), T.float()[:1], Q.float())
    with pytest.raises(ValueError, match='temperatures must be > 0'):
        SEEDLoss(teacher_temperature=0)


def test_loss_weight_scales_and_logits_must_match():
    s_logits, t_logits = S.float() @ Q.float().t(), T.float() @ Q.float().t()
    one = SEEDLoss(0.2, 0.5)(s_logits, t_logits)
    assert SEEDLoss(0.2, 0.5, loss_weight=3.0)(s_logits, t_logits).item() == \
        pytest.approx(3 * one.item(), rel=1e-6)
    with pytest.raises(ValueError, match='one shape'):
        SEEDLoss()(s_logits, t_logits[:, :2])
