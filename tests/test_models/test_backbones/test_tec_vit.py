"""TECViT: masked forward with every layer's output; the MLP cls token is used."""
import pytest
import torch

from slimselfsup.registry import MODELS

ARCH = dict(embed_dims=12, num_layers=3, num_heads=3, feedforward_channels=24)


def _vit(**kwargs):
    torch.manual_seed(0)
    vit = MODELS.build(dict(type='TECViT', arch=ARCH, img_size=32, patch_size=8, **kwargs))
    vit.init_weights()
    return vit


def test_masked_forward_returns_every_layer(real_images):
    vit = _vit()
    layers, mask, ids_restore = vit(real_images[:2])
    assert len(layers) == 3 and all(x.shape == (2, 1 + 4, 12) for x in layers)
    assert mask.shape == (2, 16) and mask.sum(1).tolist() == [12, 12]
    # the last output is normalised by the final LayerNorm
    torch.testing.assert_close(layers[-1].mean(-1), torch.zeros(2, 5) +
                               vit.ln1.bias.mean(), atol=1e-5, rtol=0)


def test_cls_token_goes_through_the_mlp_in_both_forwards(real_images):
    vit = _vit()
    plain = _vit(mlp_token=False)
    plain.load_state_dict({k: v for k, v in vit.state_dict().items()
                           if 'cls_token_mlp' not in k})
    x = real_images[:2]
    assert not torch.allclose(vit(x, mask=False)[0], plain(x, mask=False)[0])
    plain.cls_token.data = vit.cls_token_mlp(vit.cls_token).detach()
    torch.testing.assert_close(vit(x, mask=False)[0], plain(x, mask=False)[0])
    torch.manual_seed(3)
    a = vit(x)[0][-1]
    torch.manual_seed(3)
    torch.testing.assert_close(a, plain(x)[0][-1])


def test_avg_featmap_is_refused():
    with pytest.raises(ValueError, match="out_type='avg_featmap'"):
        _vit(out_type='avg_featmap')
