"""TIMMPreLogits: timm students of SEED give timm's pooled pre-logits features."""
import pytest
import timm
import torch

from slimselfsup.models.backbones import TIMMPreLogits


@pytest.mark.parametrize('name,dim', [('efficientnet_b0', 1280),
                                      ('mobilenetv3_large_100', 1280)])
def test_pooled_prelogits_match_timm(name, dim, real_images):
    torch.manual_seed(0)
    ours = TIMMPreLogits(model_name=name).eval()
    ref = timm.create_model(name).eval()
    ref.load_state_dict(ours.timm_model.state_dict(), strict=False)
    x = torch.nn.functional.interpolate(real_images[:2], size=64)
    with torch.no_grad():
        out = ours(x)
        expected = ref.forward_head(ref.forward_features(x), pre_logits=True)
    assert ours.feat_dim == dim and len(out) == 1 and out[0].shape == (2, dim)
    assert torch.allclose(out[0], expected, atol=1e-5)
    # MobileNetV3: 960-channel map, head layer applied after pooling
    if name.startswith('mobilenet'):
        assert ours.timm_model.forward_features(x).shape[1] == 960


def test_feature_maps_are_refused():
    with pytest.raises(ValueError, match='features_only'):
        TIMMPreLogits(model_name='efficientnet_b0', features_only=True)
