import torch

from slimselfsup.models.algorithms.simclr import split_pos_neg
from .common import TINY_RESNET, build, loss_on, train_steps, two_views

NECK = dict(type='NonLinearNeck', in_channels=128, hid_channels=64, out_channels=16,
            norm_cfg=dict(type='BN1d'))


def cfg(loss):
    return dict(type='SimCLR', backbone=TINY_RESNET, neck=NECK,
                head=dict(type='NCEHead', loss=loss))


def test_split_pos_neg_by_hand():
    sim = torch.arange(16.).view(4, 4)
    pos, neg = split_pos_neg(sim, torch.tensor([2, 3, 0, 1]), torch.arange(4))
    assert pos.flatten().tolist() == [2., 7., 8., 13.]
    assert neg.tolist() == [[1., 3.], [4., 6.], [9., 11.], [12., 14.]]


def test_loss_matches_plain_ntxent(real_images):
    """Our gathered/masked implementation equals NT-Xent written out directly."""
    model = build(cfg(dict(type='InfoNCELoss', temperature=0.5)))
    model.eval()
    inputs = two_views(real_images[:6])
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=None), True)
    loss = model.loss(data['inputs'], None)['loss']
    z = torch.nn.functional.normalize(
        model.neck(model.backbone(torch.cat(data['inputs'])))[0], dim=1)
    n = z.shape[0]
    sim = z @ z.t() / 0.5
    sim.fill_diagonal_(float('-inf'))
    target = (torch.arange(n) + n // 2) % n
    ref = torch.nn.functional.cross_entropy(sim, target)
    assert torch.allclose(loss, ref, atol=1e-5)


def test_simclr_and_flatclr_train_on_real_images(real_images):
    for loss in (dict(type='InfoNCELoss', temperature=0.2),
                 dict(type='FlatNCELoss', temperature=0.2)):
        torch.manual_seed(0)
        model = build(cfg(loss))
        inputs = two_views(real_images)
        loss0 = loss_on(model, inputs)
        w0 = model.backbone.conv1.weight.detach().clone()
        logs = model.train_step(dict(inputs=inputs, data_samples=None),
                                _sgd(model))
        if loss['type'] == 'FlatNCELoss':
            assert 'infonce' in logs
        train_steps(model, inputs, steps=5)
        assert not torch.equal(w0, model.backbone.conv1.weight)
        assert loss_on(model, inputs) < loss0


def _sgd(model):
    from mmengine.optim import build_optim_wrapper
    return build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.05)))
