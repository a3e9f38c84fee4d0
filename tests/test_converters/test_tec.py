"""Official TEC checkpoints -> our TEC, and pretraining -> fine-tuning weights."""
import pytest
import timm
import torch

from slimselfsup.converters import ConversionError, convert
from slimselfsup.registry import MODELS

ARCH = dict(embed_dims=48, num_layers=3, num_heads=3, feedforward_channels=192)
VIT = dict(type='VisionTransformer', arch=ARCH, img_size=32, patch_size=8)


def tiny_tec() -> torch.nn.Module:
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='TEC',
        backbone=dict(type='TECViT', arch=ARCH, img_size=32, patch_size=8),
        neck=dict(type='TECDecoder', num_patches=16, embed_dims=48, num_layers=3,
                  target_heads=3, decoder_embed_dims=32, decoder_num_heads=4),
        head=dict(type='TECHead', feat_loss=dict(type='TokenNormMSELoss'),
                  att_loss=dict(type='RelationSoftCELoss')),
        target_generator=dict(type='TECTargetGenerator',
                              base_model=dict(VIT, out_type='raw'), topk=4)))
    model.init_weights()
    for p in model.parameters():  # no zero biases/constant norms: every key matters
        p.data.add_(torch.randn_like(p) * 0.1)
    return model.eval()


# The published names (sail-sg/TEC models_tec_vit.py / models_layers.py, timm blocks).
_BLOCK = {'ln1': 'norm1', 'attn.qkv': 'attn.qkv', 'attn.proj': 'attn.proj',
          'ln2': 'norm2', 'ffn.layers.0.0': 'mlp.fc1', 'ffn.layers.1': 'mlp.fc2'}
_NECK = {'adaptor.norm_in': 'encoder_adaptor.adap_before',
         'adaptor.norm_out': 'encoder_adaptor.adap_after',
         'decoder_pos_embed': 'decoder_pos_embed'}
_BRANCH = {'embed': 'decoder_embed', 'mask_token': 'mask_token', 'norm': 'decoder_norm'}


def official_layout(ours: dict) -> dict:
    """Write our TEC state dict under the reference's names, by hand."""
    out = {}
    for key, value in ours.items():
        part, rest = key.split('.', 1)
        name = None
        if part == 'backbone':
            for a, b in (('patch_embed.projection', 'patch_embed.proj'), ('ln1', 'norm')):
                if rest.startswith(a + '.'):
                    name = b + rest[len(a):]
            if rest.startswith('layers.'):
                _, i, sub = rest.split('.', 2)
                mod, p = sub.rsplit('.', 1)
                name = f'blocks.{i}.{_BLOCK[mod]}.{p}'
            name = name or rest  # cls_token, pos_embed, cls_token_mlp.*
        else:
            if rest.startswith('decoder_blocks.'):
                _, i, sub = rest.split('.', 2)
                mod, p = sub.rsplit('.', 1)
                name = f'decoder_blocks.{i}.{_BLOCK[mod]}.{p}'
            elif rest.startswith(('adaptor.fuse.', 'adaptor.mlps.')):
                _, kind, sub = rest.split('.', 2)
                name = {'fuse': 'encoder_adaptor.fuse_fcs.',
                        'mlps': 'encoder_adaptor.adap_mlps.'}[kind] + sub
            elif rest.startswith(('feat_branch.', 'att_branch.')):
                branch, sub = rest.split('.', 1)
                mod = sub.split('.')[0]
                last = {'feat_branch': 'decoder_pred', 'att_branch': 'decoder_qk'}[branch]
                new = _BRANCH.get(mod, last if mod == 'pred' else None)
                head = {'feat_branch': 'forward_fea_decoder',
                        'att_branch': 'forward_att_decoder'}[branch]
                name = f'{head}.{new}{sub[len(mod):]}'
            else:
                for a, b in _NECK.items():
                    if rest.startswith(a):
                        name = b + rest[len(a):]
        assert name is not None, key
        out[name] = value
    return out


def test_official_tec_loads_strictly_into_our_model():
    model = tiny_tec()
    ours = model.state_dict()
    official = official_layout(ours)
    assert 'encoder_adaptor.adap_mlps.0.fc1.weight' in official
    assert 'forward_att_decoder.decoder_qk.weight' in official
    converted = convert('tec', {'model': official, 'epoch': 299})
    assert converted.keys() == ours.keys()
    for key, value in ours.items():
        assert torch.equal(converted[key], value), key
    model.load_state_dict(converted, strict=True)


def test_official_tec_with_unknown_key_fails():
    official = official_layout(tiny_tec().state_dict())
    official['forward_fea_decoder.extra.weight'] = torch.zeros(1)
    with pytest.raises(ConversionError, match='forward_fea_decoder.extra.weight'):
        convert('tec', {'model': official})
    with pytest.raises(ConversionError, match='not an official TEC checkpoint'):
        convert('tec', {'model': {'layers.0.weight': torch.zeros(1)}})


def test_finetune_conversion_folds_the_mlp_cls_token(real_images):
    """The converted plain ViT computes exactly what the TEC encoder computes."""
    model = tiny_tec()
    state = convert('tec-finetune', {'state_dict': model.state_dict()}, keep_norm=True)
    assert not any('cls_token_mlp' in k or k.startswith(('neck.', 'head.')) for k in state)
    vit = MODELS.build(dict(VIT, out_type='cls_token'))
    vit.eval()
    vit.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()}, strict=True)
    x = (real_images - 0.5) / 0.25
    with torch.no_grad():
        torch.testing.assert_close(vit(x)[0], model.extract_feat(x)[0])
        assert not torch.allclose(vit.cls_token, model.backbone.cls_token)


def test_finetune_conversion_like_weight_convert():
    """Default: final norm dropped (global-pool fine-tuning), as the reference."""
    model = tiny_tec()
    ours = convert('tec-finetune', {'state_dict': model.state_dict()})
    official = convert('tec-finetune', {'model': official_layout(model.state_dict())})
    assert ours.keys() == official.keys()
    for key in ours:
        assert torch.equal(ours[key], official[key]), key
    vit = MODELS.build(dict(VIT, out_type='avg_featmap', final_norm=False))
    result = vit.load_state_dict({k[len('backbone.'):]: v for k, v in ours.items()},
                                 strict=False)
    assert sorted(result.missing_keys) == ['ln2.bias', 'ln2.weight']  # fresh fc_norm
    assert result.unexpected_keys == []
    # the reference's bare timm dict: everything but the fresh fc_norm and head
    bare = convert('tec-finetune', {'model': official_layout(model.state_dict())}, to='timm')
    theirs = timm.create_model('vit_tiny_patch16_224', pretrained=False, img_size=32,
                               patch_size=8, embed_dim=48, depth=3, num_heads=3,
                               global_pool='avg', num_classes=0)
    result = theirs.load_state_dict(bare, strict=False)
    assert sorted(result.missing_keys) == ['fc_norm.bias', 'fc_norm.weight']
    assert result.unexpected_keys == []
    with pytest.raises(ConversionError, match="to must be 'mmpretrain' or 'timm'"):
        convert('tec-finetune', {'model': official_layout(model.state_dict())}, to='d2')
