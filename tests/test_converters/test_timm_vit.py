"""Our ViT <-> timm's ViT: strict loads both ways and equal outputs on real images."""
import pytest
import timm
import torch
from mmpretrain.models import ImageClassifier

from slimselfsup.converters import ConversionError, convert
from slimselfsup.registry import MODELS

TINY = dict(type='VisionTransformer', arch='deit-tiny', img_size=32, patch_size=4)


def _timm_tiny(**kwargs):
    return timm.create_model('vit_tiny_patch16_224', pretrained=False, img_size=32,
                             patch_size=4, **kwargs).eval()


def _normalise(images):
    return (images - 0.5) / 0.25


def test_encoder_to_timm_loads_strictly_and_matches_on_real_images(real_images):
    torch.manual_seed(0)
    ours = MODELS.build(dict(TINY, out_type='cls_token'))
    ours.init_weights()
    ours.eval()
    state = convert('vit-to-timm', {'state_dict': {'backbone.' + k: v for k, v in
                                                   ours.state_dict().items()}})
    theirs = _timm_tiny(num_classes=0)
    theirs.load_state_dict(state, strict=True)
    x = _normalise(real_images)
    with torch.no_grad():
        torch.testing.assert_close(theirs(x), ours(x)[0], rtol=1e-5, atol=1e-5)


def test_classifier_to_timm_with_global_pool_and_head(real_images):
    torch.manual_seed(0)
    clf = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(TINY, out_type='avg_featmap', final_norm=False),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=192)))
    assert isinstance(clf, ImageClassifier)
    clf.init_weights()
    clf.eval()
    state = convert('vit-to-timm', {'state_dict': clf.state_dict()})
    assert 'head.weight' in state and 'fc_norm.weight' in state and 'norm.weight' not in state
    theirs = _timm_tiny(num_classes=10, global_pool='avg')
    theirs.load_state_dict(state, strict=True)
    x = _normalise(real_images)
    with torch.no_grad():
        torch.testing.assert_close(theirs(x), clf(x, mode='tensor'), rtol=1e-5, atol=1e-5)


def test_vit_base_layout_loads_into_timm_vit_base():
    """The brief's acceptance check, by keys and shapes only (no real ViT-B run)."""
    ours = MODELS.build(dict(type='VisionTransformer', arch='b', out_type='cls_token'))
    state = convert('vit-to-timm', {'backbone.' + k: v for k, v in ours.state_dict().items()})
    theirs = timm.create_model('vit_base_patch16_224', pretrained=False, num_classes=0)
    theirs.load_state_dict(state, strict=True)


def test_unknown_layout_names_the_keys():
    with pytest.raises(ConversionError, match='unexpected keys.*layers.0.foo'):
        convert('vit-to-timm', {'backbone.layers.0.foo.weight': torch.zeros(1)})
    with pytest.raises(ConversionError, match="no key starts with 'backbone.'"):
        convert('vit-to-timm', {'encoder.weight': torch.zeros(1)})
