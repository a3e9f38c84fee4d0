"""Our ResNet / ResNetV1d -> timm resnet* / resnet*d: strict load, same outputs."""
import pytest
import timm
import torch

from slimselfsup.converters import ConversionError, convert
from .test_torchvision import calibrate, classifier, images


@pytest.mark.parametrize('backbone,name', [
    (dict(type='ResNet', depth=50), 'resnet50'),
    (dict(type='ResNetV1d', depth=50), 'resnet50d'),
    (dict(type='ResNetV1d', depth=18), 'resnet18d'),
])
def test_to_timm_strict_and_same_logits(real_images, backbone, name):
    x = images(real_images)
    ours = calibrate(classifier(backbone['depth'], backbone), x)
    state = convert('to-timm-resnet', {'state_dict': ours.state_dict()})
    theirs = timm.create_model(name, pretrained=False, num_classes=10).eval()
    theirs.load_state_dict(state, strict=True)
    with torch.no_grad():
        torch.testing.assert_close(theirs(x), ours(x, mode='tensor'), rtol=1e-4,
                                   atol=1e-5)


def test_backbone_only_loads_into_headless_timm(real_images):
    x = images(real_images)
    ours = calibrate(classifier(50, dict(type='ResNetV1d', depth=50)), x)
    state = convert('to-timm-resnet', {'state_dict': {
        k: v for k, v in ours.state_dict().items() if k.startswith('backbone.')}})
    theirs = timm.create_model('resnet50d', pretrained=False, num_classes=0).eval()
    theirs.load_state_dict(state, strict=True)
    with torch.no_grad():
        torch.testing.assert_close(theirs(x), ours.extract_feat(x)[0], rtol=1e-4,
                                   atol=1e-5)


def test_wrong_timm_model_is_named():
    ours = classifier(18)
    with pytest.raises(ConversionError, match='timm resnet50 does not match'):
        convert('to-timm-resnet', {'state_dict': ours.state_dict()},
                model_name='resnet50')
