"""``strip-prefix``: bare backbone state dicts from DDP / algorithm checkpoints."""
import pytest
import torch

from slimselfsup.converters import ConversionError, convert
from slimselfsup.registry import MODELS


@pytest.fixture(scope='module')
def backbone():
    torch.manual_seed(0)
    return MODELS.build(dict(type='ResNet', depth=18, base_channels=8,
                             stem_channels=8))


def test_auto_strips_module_then_backbone_and_loads_strictly(backbone):
    ckpt = {'state_dict': {'module.backbone.' + k: v
                           for k, v in backbone.state_dict().items()}}
    ckpt['state_dict']['module.neck.fc.weight'] = torch.zeros(2, 2)
    state = convert('strip-prefix', ckpt)
    fresh = MODELS.build(dict(type='ResNet', depth=18, base_channels=8,
                              stem_channels=8))
    fresh.load_state_dict(state, strict=True)
    for key, value in backbone.state_dict().items():
        assert torch.equal(state[key], value)


def test_explicit_prefixes_in_order():
    ckpt = {'state_dict': {'module.encoder_q.conv1.weight': torch.ones(1),
                           'module.encoder_q.fc.0.weight': torch.ones(1),
                           'module.queue': torch.ones(1)}}
    state = convert('strip-prefix', ckpt, prefix='module.,encoder_q.')
    assert sorted(state) == ['conv1.weight', 'fc.0.weight']
    kept = convert('strip-prefix', ckpt, prefix=['module.'], keep_others=True)
    assert 'encoder_q.conv1.weight' in kept and 'queue' in kept


def test_missing_prefix_is_named():
    with pytest.raises(ConversionError, match="no key starts with 'backbone.'"):
        convert('strip-prefix', {'state_dict': {'encoder.w': torch.zeros(1)}})
    with pytest.raises(ConversionError, match="no key starts with 'student.'"):
        convert('strip-prefix', {'state_dict': {'encoder.w': torch.zeros(1)}},
                prefix='student.')
