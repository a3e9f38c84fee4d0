"""InfoNCE and FlatNCE against hand-written references."""
import pytest
import torch
import torch.nn.functional as F

from slimselfsup.models.losses import FlatNCELoss, InfoNCELoss


def _sims(n=6, k=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = F.normalize(torch.randn(n, 8, generator=g), dim=1)
    cand = F.normalize(torch.randn(k + 1, 8, generator=g), dim=1)
    sim = z @ cand.t()
    return sim[:, :1].clone(), sim[:, 1:].clone()


def test_infonce_equals_cross_entropy():
    pos, neg = _sims()
    loss = InfoNCELoss(temperature=0.2, loss_weight=0.4)(pos, neg)
    logits = torch.cat([pos, neg], 1) / 0.2
    ref = F.cross_entropy(logits, torch.zeros(6, dtype=torch.long)) * 0.4
    assert torch.allclose(loss, ref, atol=1e-6)


def test_flatnce_gradient_matches_reference_forms():
    """Our loss has the gradient of the reference's exp(v - sg(v)) and of the
    objective xi / sg(xi) written directly."""
    pos, neg = _sims()
    t = 0.1
    ours_in = [pos.clone().requires_grad_(), neg.clone().requires_grad_()]
    out = FlatNCELoss(temperature=t)(*ours_in)
    out['loss'].backward()

    # the FlatCLR reference: logits = (neg - pos) / T, v = logsumexp, exp(v - v.detach())
    ref_in = [pos.clone().requires_grad_(), neg.clone().requires_grad_()]
    v = torch.logsumexp((ref_in[1] - ref_in[0]) / t, dim=1)
    (torch.exp(v - v.detach()).mean() - 1).backward()

    # the paper's objective written as a ratio: xi / stopgrad(xi)
    dir_in = [pos.clone().requires_grad_(), neg.clone().requires_grad_()]
    xi = torch.exp((dir_in[1] - dir_in[0]) / t).sum(1)
    (xi / xi.detach()).mean().backward()

    for a, b, c in zip(ours_in, ref_in, dir_in):
        assert torch.allclose(a.grad, b.grad, atol=1e-6)
        assert torch.allclose(a.grad, c.grad, atol=1e-6)
    assert a.grad.abs().sum() > 0


def test_flatnce_logs_infonce_and_value_is_log_xi():
    pos, neg = _sims(seed=1)
    out = FlatNCELoss(temperature=0.5)(pos, neg)
    ref_info = InfoNCELoss(temperature=0.5)(pos, neg)
    assert torch.allclose(out['infonce'], ref_info, atol=1e-6)
    assert not out['infonce'].requires_grad
    log_xi = torch.log(torch.exp((neg - pos) / 0.5).sum(1)).mean()
    assert torch.allclose(out['loss'], log_xi, atol=1e-5)
    # InfoNCE = log(1 + xi) > log(xi) = FlatNCE value
    assert out['infonce'] > out['loss']


def test_flatnce_gradient_does_not_vanish_when_infonce_does():
    """Easy negatives (small batch regime): InfoNCE's gradient is tiny, FlatNCE's
    stays O(1) -- the point of the paper."""
    pos = torch.full((4, 1), 0.9, requires_grad=True)
    neg = torch.full((4, 3), -0.9, requires_grad=True)
    InfoNCELoss(temperature=0.1)(pos, neg).backward()
    g_info = pos.grad.abs().mean()
    pos.grad = None
    FlatNCELoss(temperature=0.1)(pos, neg)['loss'].backward()
    g_flat = pos.grad.abs().mean()
    assert g_info < 1e-6 < g_flat


@pytest.mark.parametrize('loss_cls', [InfoNCELoss, FlatNCELoss])
def test_bad_input_errors(loss_cls):
    with pytest.raises(ValueError, match='temperature'):
        loss_cls(temperature=0)
    with pytest.raises(ValueError):
        loss_cls()(torch.zeros(3, 2), torch.zeros(3, 4))
