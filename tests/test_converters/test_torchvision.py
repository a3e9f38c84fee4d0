"""Our ResNet -> torchvision: strict load into torchvision.models.resnet* and equal
outputs on real images, through ``tools/convert_ckpt.py`` on real files."""
import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import torchvision

from slimselfsup.converters import ConversionError, convert
from slimselfsup.registry import MODELS

REPO = Path(__file__).resolve().parents[2]


def convert_tool():
    spec = importlib.util.spec_from_file_location(
        'convert_ckpt', REPO / 'tools' / 'convert_ckpt.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def classifier(depth: int = 50, backbone: dict = None, num_classes: int = 10):
    """Our ImageClassifier with BN statistics from real images (not the init)."""
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=backbone or dict(type='ResNet', depth=depth),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes,
                  in_channels=2048 if depth >= 50 else 512)))
    model.init_weights()
    return model


def calibrate(model, images):
    model.train()
    with torch.no_grad():
        model(images, mode='tensor')
    return model.eval()


def images(real_images):
    return F.interpolate((real_images - 0.45) / 0.25, size=64, mode='bilinear')


@pytest.mark.parametrize('depth', [18, 50])
def test_classifier_to_torchvision_strict_and_same_logits(real_images, tmp_path, depth):
    x = images(real_images)
    ours = calibrate(classifier(depth), x)
    src = tmp_path / 'ours.pth'
    torch.save({'state_dict': ours.state_dict(), 'meta': {'epoch': 1}}, src)
    dst = tmp_path / 'tv.pth'
    assert convert_tool().main(['to-torchvision', str(src), str(dst)]) == 0
    state = torch.load(dst, weights_only=True)['state_dict']
    tv = getattr(torchvision.models, f'resnet{depth}')(num_classes=10).eval()
    tv.load_state_dict(state, strict=True)
    with torch.no_grad():
        torch.testing.assert_close(tv(x), ours(x, mode='tensor'), rtol=1e-4, atol=1e-5)


def test_backbone_only_checkpoint_gives_features(real_images):
    x = images(real_images)
    ours = calibrate(classifier(50), x)
    ckpt = {'state_dict': {k: v for k, v in ours.state_dict().items()
                           if k.startswith('backbone.')}}
    state = convert('to-torchvision', ckpt)
    assert not any(k.startswith('fc.') for k in state)
    tv = torchvision.models.resnet50()
    tv.fc = torch.nn.Identity()
    tv.load_state_dict(state, strict=True)
    tv.eval()
    with torch.no_grad():
        torch.testing.assert_close(tv(x), ours.extract_feat(x)[0], rtol=1e-4,
                                   atol=1e-5)


def test_round_trip_back_into_our_backbone(real_images):
    x = images(real_images)
    ours = calibrate(classifier(18), x)
    state = convert('to-torchvision', {'state_dict': ours.state_dict()})
    back = classifier(18)
    back.backbone.load_state_dict({k: v for k, v in state.items()
                                   if not k.startswith('fc.')}, strict=True)
    back.head.fc.load_state_dict({'weight': state['fc.weight'],
                                  'bias': state['fc.bias']}, strict=True)
    back.eval()
    with torch.no_grad():
        torch.testing.assert_close(back(x, mode='tensor'), ours(x, mode='tensor'))


def test_foreign_architectures_are_named():
    cifar = classifier(backbone=dict(type='ResNet_CIFAR', depth=18))
    with pytest.raises(ConversionError, match='CIFAR stem'):
        convert('to-torchvision', {'state_dict': cifar.state_dict()})
    with pytest.raises(ConversionError, match=r"no key starts with 'backbone.'"):
        convert('to-torchvision', {'state_dict': {'encoder.w': torch.zeros(1)}})
    slim = MODELS.build(dict(type='SlimmableResNet', depth=18, widths=(1.0, 0.5)))
    with pytest.raises(ConversionError, match='slimmable ResNet'):
        convert('to-torchvision', {'state_dict': {'backbone.' + k: v for k, v in
                                                  slim.state_dict().items()}})


def test_tool_refuses_pickle_output_to_pth(tmp_path, capsys):
    ours = classifier(18)
    src = tmp_path / 'ours.pth'
    torch.save({'state_dict': ours.state_dict()}, src)
    assert convert_tool().main(['to-detectron2', str(src), str(tmp_path / 'x.pth')]) \
        == 2
    assert 'OUT ending in .pkl' in capsys.readouterr().err
    assert not (tmp_path / 'x.pth').exists()
