"""TEC's decoder: unshuffling, shared blocks, and relation logits by hand."""
import pytest
import torch

from slimselfsup.registry import MODELS


def _decoder(**kwargs):
    torch.manual_seed(0)
    cfg = dict(type='TECDecoder', num_patches=16, embed_dims=12, num_layers=3,
               target_dims=12, target_heads=3, decoder_embed_dims=8,
               decoder_num_heads=2)
    cfg.update(kwargs)
    neck = MODELS.build(cfg)
    neck.init_weights()
    for p in neck.parameters():
        p.data.add_(torch.randn_like(p) * 0.1)
    return neck


def _inputs(B=2, visible=4):
    torch.manual_seed(1)
    layers = [torch.randn(B, 1 + visible, 12) for _ in range(3)]
    ids_restore = torch.stack([torch.randperm(16) for _ in range(B)])
    return layers, ids_restore


def test_relation_logits_by_hand():
    neck = _decoder()
    layers, ids_restore = _inputs()
    topk_idx = torch.tensor([[3, 0, 15], [7, 7, 2]])
    feat, logits = neck(layers, ids_restore, topk_idx)
    assert feat.shape == (2, 16, 12) and logits.shape == (2, 3, 4, 16)
    x = neck.decode(neck.att_branch, neck.adaptor(layers), ids_restore)
    qk = neck.att_branch.pred(x)  # (B, 17, 24): q | k, each 3 heads x 4
    for b in range(2):
        for h in range(3):
            q = qk[b, :, h * 4:(h + 1) * 4]
            k = qk[b, 1:, 12 + h * 4:12 + (h + 1) * 4]
            rows = [0] + [1 + int(j) for j in topk_idx[b]]  # cls, then the top-K patches
            expected = q[rows] @ k.T / 12**0.5  # scaled by the full target width
            torch.testing.assert_close(logits[b, h], expected)


def test_decode_unshuffles_mask_tokens_into_place():
    neck = _decoder(decoder_depth=0)  # no blocks: positions are easy to check
    layers, ids_restore = _inputs(B=1)
    latent = neck.adaptor(layers)
    branch = neck.feat_branch
    out = neck.decode(branch, latent, ids_restore)
    emb = branch.embed(latent)
    seq = torch.cat([emb[0, 1:], branch.mask_token[0].expand(12, -1)])[ids_restore[0]]
    expected = torch.cat([emb[0, :1], seq]) + neck.decoder_pos_embed[0]
    torch.testing.assert_close(out[0], branch.norm(expected))


def test_feature_only_and_errors():
    neck = _decoder(predict_relation=False)
    layers, ids_restore = _inputs()
    feat, logits = neck(layers, ids_restore)
    assert feat.shape == (2, 16, 12) and logits is None
    with pytest.raises(ValueError, match='needs topk_idx'):
        _decoder()(layers, ids_restore)
    with pytest.raises(ValueError, match='target_dims=12 is not divisible by '
                       'target_heads=5'):
        _decoder(target_heads=5)
