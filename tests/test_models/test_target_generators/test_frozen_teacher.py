"""FrozenTeacher: its weights are in the owner's checkpoint or not, as configured,
and load strictly either way; it stays frozen and follows the module."""
import re

import pytest
import torch
from torch import nn

from slimselfsup.converters import ConversionError
from slimselfsup.registry import MODELS

TINY = dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
            norm_cfg=dict(type='SyncBN'))
PARTS = dict(backbone=TINY, neck=dict(type='MoCoV2Neck', in_channels=64,
                                      hid_channels=16, out_channels=8))


class Owner(nn.Module):
    """A model holding a frozen teacher next to a trained layer."""

    def __init__(self, **kwargs) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.teacher = MODELS.build(dict(type='FrozenTeacher', model=PARTS, **kwargs))


def test_in_checkpoint_round_trip_and_strict_keys():
    torch.manual_seed(0)
    src, dst = Owner(in_checkpoint=True), Owner(in_checkpoint=True)
    state = src.state_dict()
    net_keys = {'teacher.' + k for k in src.teacher.model.state_dict()}
    assert net_keys and net_keys | {'fc.weight', 'fc.bias'} == set(state)
    dst.load_state_dict(state, strict=True)
    for key, value in dst.teacher.model.state_dict().items():
        assert torch.equal(value, src.teacher.model.state_dict()[key]), key

    extra = dict(state, **{'teacher.neck.extra.weight': torch.zeros(1)})
    missing = {k: v for k, v in state.items() if k != 'teacher.backbone.conv1.weight'}
    with pytest.raises(RuntimeError, match="Unexpected key.*teacher.neck.extra.weight"):
        dst.load_state_dict(extra, strict=True)
    with pytest.raises(RuntimeError, match="Missing key.*teacher.backbone.conv1.weight"):
        dst.load_state_dict(missing, strict=True)
    wrong = dict(state, **{'teacher.backbone.conv1.weight': torch.zeros(1, 3, 3, 3)})
    with pytest.raises(RuntimeError, match='size mismatch for teacher.backbone.conv1.weight'):
        dst.load_state_dict(wrong, strict=True)


def test_out_of_checkpoint_weights_are_unexpected_in_one():
    owner = Owner(in_checkpoint=False)
    assert set(owner.state_dict()) == {'fc.weight', 'fc.bias'}
    with pytest.raises(RuntimeError, match="Unexpected key.*teacher.backbone.conv1.weight"):
        owner.load_state_dict(Owner(in_checkpoint=True).state_dict(), strict=True)


def test_frozen_eval_follows_the_module_and_runs_parts_in_order(real_images):
    owner = Owner()
    net = owner.teacher.model
    assert [name for name, _ in owner.named_parameters()] == ['fc.weight', 'fc.bias']
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in net.modules())  # reverted
    owner.train()
    assert owner.fc.training and not owner.teacher.training
    assert not any(m.training for m in net.modules())
    x = (real_images[:2] * 255).requires_grad_()
    out = owner.teacher(x)
    assert not out[0].requires_grad
    assert torch.equal(out[0], net['neck'](net['backbone'](x))[0])
    owner.to(torch.float64)
    assert net['backbone'].conv1.weight.dtype == torch.float64


def test_checkpoint_keys_under_prefix_and_errors(tmp_path):
    src = MODELS.build(dict(type='FrozenTeacher', model=TINY))
    run = {'backbone.' + k: v + 1 for k, v in src.model.state_dict().items()
           if v.is_floating_point()}
    run['neck.fc.weight'] = torch.zeros(1)  # another part of that run: dropped
    torch.save(dict(state_dict=run), tmp_path / 'run.pth')
    teacher = MODELS.build(dict(type='FrozenTeacher', model=TINY, prefix='backbone.',
                                checkpoint=str(tmp_path / 'run.pth')))
    with pytest.raises(ConversionError, match=r"missing keys \['bn1.num_batches_tracked'"
                       r".*unexpected keys \[\].*Train one first"):
        teacher.hint = 'Train one first.'
        teacher.init_weights()
    run.update({'backbone.' + k: v for k, v in src.model.state_dict().items()
                if not v.is_floating_point()})
    torch.save(dict(state_dict=run), tmp_path / 'run.pth')
    teacher.init_weights()
    assert torch.equal(teacher.model.conv1.weight, src.model.conv1.weight + 1)

    with pytest.raises(FileNotFoundError, match=r"net checkpoint 'nope.pth' \(model.ckpt\)"):
        MODELS.build(dict(type='FrozenTeacher', model=TINY, checkpoint='nope.pth',
                          name='net', given_as='model.ckpt')).init_weights()
    with pytest.raises(ValueError, match='net needs pretrained weights: set `model.ckpt`'):
        MODELS.build(dict(type='FrozenTeacher', model=TINY, required=True, name='net',
                          given_as='model.ckpt')).init_weights()


def test_a_network_of_other_settings_is_named_with_the_fix(tmp_path):
    """The fix names the config settings in which the checkpoint's network differs."""
    other = dict(TINY, depth=34, base_channels=16)
    torch.save(dict(state_dict=MODELS.build(dict(type='FrozenTeacher', model=other))
                    .model.state_dict()), tmp_path / 'r34.pth')
    teacher = MODELS.build(dict(type='FrozenTeacher', model=TINY, name='net',
                                given_as='model.ckpt', model_given_as='model.net',
                                checkpoint=str(tmp_path / 'r34.pth')))
    with pytest.raises(ConversionError, match=re.escape(
            'Fix: set depth=34 (the config has 18), base_channels=16 (the config has 8) '
            "in `model.net` to build the checkpoint's network, or point `model.ckpt` at a "
            'checkpoint of the network the config builds.')):
        teacher.init_weights()
