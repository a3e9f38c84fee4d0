"""SlimmableClassifier and SwitchableLinearClsHead (SlimCLR, arXiv 2209.15525)."""
import math

import pytest
import torch
from mmpretrain.structures import DataSample

from slimselfsup.models import SlimmableClassifier, SwitchableLinearClsHead
from slimselfsup.models.slimmable import set_width
from slimselfsup.registry import MODELS

WIDTHS = (1.0, 0.5, 0.25)


def build(switchable: bool = True, **kwargs) -> SlimmableClassifier:
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='SlimmableClassifier',
        backbone=dict(type='SlimmableResNetCIFAR', depth=18, widths=WIDTHS,
                      stem_channels=16, base_channels=16),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='SwitchableLinearClsHead', num_classes=10, in_channels=128,
                  switchable=switchable, topk=(1, 5)),
        data_preprocessor=dict(mean=[125.3, 123.0, 113.9], std=[63.0, 62.1, 66.7]),
        **kwargs))
    model.init_weights()
    return model


def samples(labels) -> list:
    return [DataSample().set_gt_label(int(y)) for y in labels]


@pytest.mark.parametrize('switchable', [True, False])
def test_per_width_logits_and_predictions(switchable, real_images):
    model = build(switchable)
    assert model.head.widths == WIDTHS  # filled from the backbone
    x = real_images[:4] * 255
    logits = model.forward_widths(x)
    assert list(logits) == list(WIDTHS)
    assert all(z.shape == (4, 10) for z in logits.values())
    assert model.width == 1.0 and model.backbone.layer1[0].conv1.width == 1.0
    if switchable:
        assert [fc.in_features for fc in model.head.fcs] == [128, 64, 32]
    else:
        assert model.head.fc.weight.shape == (10, 128)

    model.eval()
    preds = model.predict(x, samples(range(4)))
    assert preds[0].width_scores.shape == (3, 10) and preds[0].widths == WIDTHS
    with torch.no_grad():
        model.set_width(0.25)
        direct = torch.softmax(model(x), dim=1)  # mode='tensor' runs the current width
    assert torch.allclose(torch.stack([p.width_scores[2] for p in preds]), direct,
                          atol=1e-6)
    assert torch.equal(preds[1].pred_score, preds[1].width_scores[0])

    loss = model.loss(x, samples(range(4)))
    assert set(loss) >= {'loss_w1.0', 'loss_w0.5', 'loss_w0.25'}
    with pytest.raises(ValueError, match=r'not in .*\[1.0, 0.5, 0.25\]'):
        set_width(model, 0.75)


def test_switchable_head_has_independent_weights_per_width(real_images):
    model = build(switchable=True)
    before = [fc.weight.detach().clone() for fc in model.head.fcs]
    optim = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    model.set_width(0.5)
    data = model.data_preprocessor(dict(inputs=list((real_images[:8] * 255).byte()),
                                        data_samples=samples(range(8))), True)
    loss = model.head.loss(model.extract_feat(data['inputs']), data['data_samples'])
    loss['loss'].backward()
    optim.step()
    assert torch.equal(model.head.fcs[0].weight, before[0])  # width 1.0 untouched
    assert torch.equal(model.head.fcs[2].weight, before[2])
    assert not torch.equal(model.head.fcs[1].weight, before[1])


def test_shared_head_slices_one_weight(real_images):
    model = build(switchable=False)
    before = model.head.fc.weight.detach().clone()
    model.set_width(0.25)
    feats = model.extract_feat(real_images[:4] * 255)
    model.head.loss(feats, samples(range(4)))['loss'].backward()
    grad = model.head.fc.weight.grad
    assert grad[:, :32].abs().sum() > 0 and grad[:, 32:].abs().sum() == 0
    assert torch.equal(model.head.fc.weight, before)


def hand_losses(z: list, y: list, alpha: float = 0.5) -> dict:
    """The reference's losses written out with math.exp/log, z[w][n][c]."""

    def log_softmax(row):
        m = max(row)
        lse = m + math.log(sum(math.exp(v - m) for v in row))
        return [v - lse for v in row]

    def ce(logits):
        return -sum(log_softmax(r)[t] for r, t in zip(logits, y)) / len(y)

    def soft_ce(student, teacher):
        total = 0.
        for s, t in zip(student, teacher):
            p = [math.exp(v) for v in log_softmax(t)]
            total -= sum(pi * li for pi, li in zip(p, log_softmax(s)))
        return total / len(y)

    full, narrow = z[0], z[1:]
    return dict(
        ce=ce(full) + sum(ce(s) for s in narrow),
        inplace_distill=ce(full) + sum(soft_ce(s, full) for s in narrow),
        inplace_distill_mixed=ce(full) + sum(
            alpha * soft_ce(s, full) + (1 - alpha) * ce(s) for s in narrow))


@pytest.mark.parametrize('mode', ['ce', 'inplace_distill', 'inplace_distill_mixed'])
def test_loss_equals_hand_computation(mode, monkeypatch):
    model = build(switchable=True, loss_mode=mode)
    z = [[[1.0, -0.5, 2.0, 0.1], [0.3, 0.2, -1.0, 1.5]],
         [[0.5, 0.5, 0.2, -0.3], [2.0, -1.0, 0.0, 0.7]],
         [[-0.2, 1.1, 0.4, 0.0], [0.9, 0.9, -0.4, 0.1]]]
    y = [2, 0]
    logits = {w: torch.tensor(v, requires_grad=True) for w, v in zip(WIDTHS, z)}
    monkeypatch.setattr(model, 'forward_widths', lambda inputs: logits)
    losses = model.loss(None, samples(y))
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert float(total.detach()) == pytest.approx(hand_losses(z, y)[mode], abs=1e-6)

    total.backward()  # the teacher's softmax is detached: only CE(z_1.0) reaches it
    full = logits[1.0].detach().requires_grad_()
    torch.nn.functional.cross_entropy(full, torch.tensor(y)).backward()
    assert torch.allclose(logits[1.0].grad, full.grad, atol=1e-7)


def test_bad_arguments():
    with pytest.raises(ValueError, match='loss_mode'):
        build(loss_mode='kd')
    with pytest.raises(ValueError, match=r'widths \[0.75\] are not in'):
        build(widths=(1.0, 0.75))
    with pytest.raises(ValueError, match='test_width'):
        build(test_width=0.75)
    head = SwitchableLinearClsHead(num_classes=10, in_channels=128, widths=(1.0, 0.5))
    head.set_width(0.5)
    with pytest.raises(ValueError, match='expects int'):
        head((torch.zeros(2, 128), ))
