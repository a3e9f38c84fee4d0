"""Official MAE checkpoints (timm layout) -> our ViT, strictly."""
import pytest
import timm
import torch

from slimselfsup.converters import ConversionError, convert
from slimselfsup.registry import MODELS


def _mae_checkpoint(with_decoder: bool = True) -> dict:
    torch.manual_seed(0)
    enc = timm.create_model('vit_tiny_patch16_224', pretrained=False, img_size=32,
                            patch_size=4, num_classes=0)
    model = dict(enc.state_dict())
    if with_decoder:  # the visualisation checkpoints of MAE carry the decoder too
        model.update({'mask_token': torch.zeros(1, 1, 8),
                      'decoder_embed.weight': torch.zeros(8, 192),
                      'decoder_pred.weight': torch.zeros(48, 8)})
    return {'model': model}


def test_mae_checkpoint_loads_strictly_into_our_vit():
    ckpt = _mae_checkpoint()
    state = convert('mae', ckpt)
    assert all(k.startswith('backbone.') for k in state)
    vit = MODELS.build(dict(type='VisionTransformer', arch='deit-tiny', img_size=32,
                            patch_size=4, out_type='raw'))
    vit.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()}, strict=True)
    assert torch.equal(vit.layers[3].ffn.layers[1].weight,
                       ckpt['model']['blocks.3.mlp.fc2.weight'])
    assert torch.equal(vit.ln1.bias, ckpt['model']['norm.bias'])


def test_round_trip_through_timm_is_identity():
    ckpt = _mae_checkpoint(with_decoder=False)
    back = convert('vit-to-timm', {'state_dict': convert('mae', ckpt)})
    assert back.keys() == ckpt['model'].keys()
    for key, value in ckpt['model'].items():
        assert torch.equal(back[key], value), key


def test_missing_block_key_is_named():
    ckpt = _mae_checkpoint()
    del ckpt['model']['blocks.5.attn.qkv.bias']
    with pytest.raises(ConversionError, match=r"missing keys \['blocks.5.attn.qkv.bias'\]"):
        convert('mae', ckpt)


def test_unknown_key_is_named():
    ckpt = _mae_checkpoint()
    ckpt['model']['blocks.0.gamma_1'] = torch.ones(192)
    with pytest.raises(ConversionError, match='blocks.0.gamma_1'):
        convert('mae', ckpt)


def test_not_a_vit_fails_clearly():
    with pytest.raises(ConversionError, match='not a timm-layout ViT'):
        convert('mae', {'model': {'conv1.weight': torch.zeros(1)}})
