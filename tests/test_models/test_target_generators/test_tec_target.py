"""TEC targets against a hand-written ViT forward; the base model stays frozen."""
import pytest
import torch
import torch.nn.functional as F

from slimselfsup.converters import ConversionError
from slimselfsup.registry import MODELS

ARCH = dict(embed_dims=8, num_layers=3, num_heads=2, feedforward_channels=16)
BASE = dict(type='VisionTransformer', arch=ARCH, img_size=8, patch_size=2, out_type='raw')


def _generator(**kwargs):
    torch.manual_seed(0)
    gen = MODELS.build(dict(type='TECTargetGenerator', base_model=BASE, **kwargs))
    gen.init_weights()
    for p in gen.base_model.parameters():  # break symmetries of the default init
        p.data.add_(torch.randn_like(p) * 0.3)
    return gen


def _reference(m, images, last_layers, topk):
    """The TEC targets, written out with plain tensor ops from the weights."""
    W = m.patch_embed.projection
    x = F.conv2d(images, W.weight, W.bias, stride=2).flatten(2).transpose(1, 2)
    x = torch.cat([m.cls_token.expand(len(x), -1, -1), x], 1) + m.pos_embed
    outs, logits = [], None
    for layer in m.layers:
        h = F.layer_norm(x, (8, ), layer.ln1.weight, layer.ln1.bias, 1e-6)
        q, k, v = F.linear(h, layer.attn.qkv.weight, layer.attn.qkv.bias).chunk(3, -1)
        heads = [t.reshape(*t.shape[:2], 2, 4).transpose(1, 2) for t in (q, k, v)]
        logits = heads[0] @ heads[1].transpose(-1, -2) / 2.0  # sqrt(head_dim = 4)
        a = (logits.softmax(-1) @ heads[2]).transpose(1, 2).reshape(x.shape)
        x = x + F.linear(a, layer.attn.proj.weight, layer.attn.proj.bias)
        h = F.layer_norm(x, (8, ), layer.ln2.weight, layer.ln2.bias, 1e-6)
        fc1, fc2 = layer.ffn.layers[0][0], layer.ffn.layers[1]
        x = x + F.linear(F.gelu(F.linear(h, fc1.weight, fc1.bias)), fc2.weight, fc2.bias)
        outs.append(x[:, 1:])
    feats = sum(outs[-last_layers:]) / last_layers
    rows, idx = [], []
    for b in range(len(images)):
        rank = logits[b, :, 0, 1:].mean(0)
        top = sorted(range(16), key=lambda j: -float(rank[j]))[:topk]
        idx.append(top)
        rows.append(torch.stack([logits[b, :, 0, 1:]] +
                                [logits[b, :, 1 + j, 1:] for j in top], dim=1))
    return feats, torch.stack(rows), torch.tensor(idx)


@pytest.mark.parametrize('last_layers,topk', [(2, 3), (1, 5)])
def test_targets_match_hand_computation(real_images, last_layers, topk):
    gen = _generator(last_layers=last_layers, topk=topk)
    images = F.interpolate(real_images[:4], size=8, mode='bilinear')
    feats, rel, idx = gen(images)
    ref_feats, ref_rel, ref_idx = _reference(gen.base_model, images, last_layers, topk)
    assert feats.shape == (4, 16, 8) and rel.shape == (4, 2, 1 + topk, 16)
    torch.testing.assert_close(feats, ref_feats)
    assert torch.equal(idx, ref_idx)
    torch.testing.assert_close(rel, ref_rel)


def test_without_relation_only_features(real_images):
    feats, rel, idx = _generator(with_relation=False)(
        F.interpolate(real_images[:2], size=8))
    assert feats.shape == (2, 16, 8) and rel is None and idx is None


def test_base_model_is_frozen_hidden_and_follows_the_module():
    gen = _generator()
    base = gen.base_model
    assert list(gen.parameters()) == [] and gen.state_dict() == {}
    assert not any(p.requires_grad for p in base.parameters())
    gen.train()
    assert gen.training and not base.training
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    assert not gen(x)[0].requires_grad  # no graph through the base model
    gen.to(torch.float64)
    assert base.cls_token.dtype == torch.float64


def test_strict_checkpoint_loading(tmp_path):
    src = _generator()
    ckpt = {'state_dict': {'backbone.' + k: v for k, v in src.base_model.state_dict().items()}}
    ckpt['state_dict']['neck.decoder_embed.weight'] = torch.zeros(1)  # an MAE run's neck
    torch.save(ckpt, tmp_path / 'mae.pth')
    gen = MODELS.build(dict(type='TECTargetGenerator', base_model=BASE,
                            checkpoint=str(tmp_path / 'mae.pth')))
    gen.init_weights()
    assert torch.equal(gen.base_model.layers[2].attn.qkv.weight,
                       src.base_model.layers[2].attn.qkv.weight)

    del ckpt['state_dict']['backbone.layers.1.ln2.bias']
    ckpt['state_dict']['backbone.cls_token_mlp.fc1.weight'] = torch.zeros(1)
    torch.save(ckpt, tmp_path / 'bad.pth')
    with pytest.raises(ConversionError, match=r"missing keys \['layers.1.ln2.bias'\].*"
                       r"unexpected keys \['cls_token_mlp.fc1.weight'\].*convert_ckpt"):
        gen.base.load(str(tmp_path / 'bad.pth'))


def test_bad_settings_fail_at_build():
    with pytest.raises(ValueError, match=r'topk=17 must be in \[1, 16\]'):
        MODELS.build(dict(type='TECTargetGenerator', base_model=BASE, topk=17))
    with pytest.raises(ValueError, match=r'last_layers=4 must be in \[1, 3\]'):
        MODELS.build(dict(type='TECTargetGenerator', base_model=BASE, last_layers=4))
    with pytest.raises(TypeError, match='must be a ViT'):
        MODELS.build(dict(type='TECTargetGenerator',
                          base_model=dict(type='ResNet', depth=18)))
