"""Our ResNet-50 -> detectron2 .pkl (MoCo's layout) -> back, through the tool."""
import pickle
import re

import numpy as np
import pytest
import torch

from slimselfsup.converters import ConversionError, convert
from slimselfsup.converters.detectron2 import load_pkl
from .test_torchvision import calibrate, classifier, convert_tool, images

# detectron2's ResNet-50 (build_resnet_backbone, FrozenBN): stem + res2..res5 blocks
D2_NAME = re.compile(
    r'^(stem\.conv1\.(weight|norm\.(weight|bias|running_mean|running_var))|'
    r'res[2-5]\.\d+\.(conv[123]|shortcut)\.(weight|norm\.(weight|bias|running_mean|'
    r'running_var)))$')


def documented_r50_shapes() -> dict:
    """Parameter shapes of detectron2's R-50 (64 stem, bottleneck 64..512 x4)."""
    shapes = {'stem.conv1.weight': (64, 3, 7, 7)}
    bn = lambda c: {f'norm.{n}': (c, ) for n in  # noqa: E731
                    ('weight', 'bias', 'running_mean', 'running_var')}
    for name, shape in bn(64).items():
        shapes[f'stem.conv1.{name}'] = shape
    c_in = 64
    for s, (blocks, mid) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512)), 2):
        for b in range(blocks):
            convs = {'conv1': (mid, c_in, 1, 1), 'conv2': (mid, mid, 3, 3),
                     'conv3': (mid * 4, mid, 1, 1)}
            if b == 0:
                convs['shortcut'] = (mid * 4, c_in, 1, 1)
            for conv, shape in convs.items():
                shapes[f'res{s}.{b}.{conv}.weight'] = shape
                for name, bshape in bn(shape[0]).items():
                    shapes[f'res{s}.{b}.{conv}.{name}'] = bshape
            c_in = mid * 4
    return shapes


def test_r50_to_detectron2_pkl_layout_and_round_trip(real_images, tmp_path):
    x = images(real_images)
    ours = calibrate(classifier(50), x)
    src = tmp_path / 'ours.pth'
    torch.save({'state_dict': ours.state_dict()}, src)
    tool = convert_tool()
    assert tool.main(['to-detectron2', str(src), str(tmp_path / 'r50.pkl')]) == 0
    with open(tmp_path / 'r50.pkl', 'rb') as f:
        d2 = pickle.load(f)  # our own file: plain pickle is fine here
    assert set(d2) == {'model', '__author__', 'matching_heuristics'}
    assert d2['matching_heuristics'] is True
    model = d2['model']
    assert all(isinstance(v, np.ndarray) for v in model.values())
    assert all(D2_NAME.match(k) for k in model), [
        k for k in model if not D2_NAME.match(k)][:5]
    expected = documented_r50_shapes()
    assert {k: v.shape for k, v in model.items()} == expected
    np.testing.assert_array_equal(model['res3.0.shortcut.norm.running_var'],
                                  ours.backbone.layer2[0].downsample[1].running_var)

    # back: safe loader, our names, strict load, same features
    assert tool.main(['from-detectron2', str(tmp_path / 'r50.pkl'),
                      str(tmp_path / 'back.pth')]) == 0
    back = torch.load(tmp_path / 'back.pth', weights_only=True)['state_dict']
    fresh = classifier(50)
    fresh.backbone.load_state_dict(
        {k[len('backbone.'):]: v for k, v in back.items()}, strict=True)
    fresh.eval()
    with torch.no_grad():
        torch.testing.assert_close(fresh.extract_feat(x)[0], ours.extract_feat(x)[0])


def test_pkl_loader_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ('pwned', ))

    path = tmp_path / 'evil.pkl'
    with open(path, 'wb') as f:
        pickle.dump({'model': {'stem.conv1.weight': Evil()}}, f)
    with pytest.raises(pickle.UnpicklingError, match='refusing to unpickle builtins'):
        load_pkl(str(path))


def test_non_resnet_keys_are_named():
    with pytest.raises(ConversionError, match='roi_heads.box.weight is not a '
                       'detectron2 ResNet parameter'):
        convert('from-detectron2', {'model': {'roi_heads.box.weight': np.zeros(1)}})
