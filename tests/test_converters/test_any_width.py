"""Any width through every converter: ``tools/convert_ckpt.py to-torchvision |
to-timm-resnet | to-detectron2 --width W`` on SlimCLR and Slimmable SEED checkpoints
gives that width as a plain network whose outputs equal the slimmable network's at
that width, on real images."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from slimselfsup.converters import ConversionError, convert
from slimselfsup.converters.detectron2 import detectron2_resnet_cfg
from slimselfsup.converters.resnet_keys import resnet_layout
from slimselfsup.converters.timm_resnet import timm_resnet
from slimselfsup.converters.torchvision import torchvision_resnet
from slimselfsup.models.slimmable.extract import narrow_module
from slimselfsup.registry import MODELS
from .test_detectron2 import documented_r50_shapes
from .test_torchvision import REPO, convert_tool

WIDTHS = (1.0, 0.75, 0.5, 0.25)
#: max |plain - slimmable| seen per (converter, depth, width), printed at the end
DIFFS = {}


def slimmable_checkpoint(kind: str, depth: int, path) -> torch.nn.Module:
    """A SlimCLR-MoCo v2 or Slimmable SEED model with a slimmable ResNet of ``depth``,
    each width with its own BN statistics, saved as a training run saves it (its
    config in ``meta``); returns the model's backbone in eval mode."""
    torch.manual_seed(depth)
    backbone = dict(type='SlimmableResNet', depth=depth, widths=WIDTHS)
    feat = 512 if depth < 50 else 2048
    neck = dict(type='SlimmableMLPNeck', in_channels=feat, hid_channels=64, out_channels=16,
                widths=WIDTHS, with_bias=True, with_hidden_bn=False,
                with_last_bias=True, with_last_bn=False)
    if kind == 'slimseed':
        model = dict(type='SlimSEED', backbone=backbone, neck=neck, queue_len=32,
                     feat_dim=16, head=dict(type='SEEDHead'),
                     teacher=dict(backbone=dict(type='ResNet', depth=18),
                                  neck=dict(type='MoCoV2Neck', in_channels=512,
                                            hid_channels=64, out_channels=16)),
                     teacher_ckpt='unused')
    else:
        model = dict(type='SlimCLRMoCoV2', backbone=backbone, neck=neck, queue_len=32,
                     feat_dim=16, head=dict(type='NCEHead',
                                            loss=dict(type='InfoNCELoss')))
    net = MODELS.build(model)
    for m in net.backbone.modules():
        for bn in getattr(m, 'bns', ()):
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 1.5)
            bn.weight.data.uniform_(0.5, 1.5)
            bn.bias.data.uniform_(-0.2, 0.2)
    meta = dict(epoch=200, cfg=Config(dict(model=model)).pretty_text)
    torch.save(dict(state_dict=net.state_dict(), meta=meta), path)
    net.backbone.eval()  # mmpretrain's ResNet.train returns None
    return net.backbone


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp('slim')
    out = {}
    for kind, depth in (('slimseed', 18), ('slimclr', 50)):
        path = root / f'{kind}_r{depth}.pth'
        out[depth] = (str(path), slimmable_checkpoint(kind, depth, path))
    yield out
    print('\nmax |plain - slimmable| per converter, depth, width:')
    for key, diff in sorted(DIFFS.items()):
        print(f'  {key}: {diff:.3g}')


def images(real_images):
    return F.interpolate((real_images[:8] - 0.45) / 0.25, size=64, mode='bilinear')


def slim_features(backbone, width, x):
    backbone.set_width(width)
    with torch.no_grad():
        out = backbone(x)[-1]
    backbone.set_width(1.0)
    return out


def check_close(name, depth, width, plain, slim):
    DIFFS[(name, depth, width)] = float((plain - slim).abs().max())
    torch.testing.assert_close(plain, slim, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('depth', [18, 50])
@pytest.mark.parametrize('width', WIDTHS)
def test_to_torchvision_width(checkpoints, real_images, tmp_path, depth, width):
    src, slim = checkpoints[depth]
    dst = tmp_path / 'tv.pth'
    assert convert_tool().main(['to-torchvision', src, str(dst), '--width',
                                str(width)]) == 0
    net = torchvision_resnet(depth, width)
    assert type(net).__module__ == 'torchvision.models.resnet'
    net.fc = torch.nn.Identity()
    net.load_state_dict(torch.load(dst, weights_only=True)['state_dict'], strict=True)
    x = images(real_images)
    with torch.no_grad():
        plain = net.eval()(x)
    check_close('to-torchvision', depth, width, plain,
                slim_features(slim, width, x).mean((2, 3)))


@pytest.mark.parametrize('depth', [18, 50])
@pytest.mark.parametrize('width', WIDTHS)
def test_to_timm_resnet_width(checkpoints, real_images, tmp_path, depth, width):
    src, slim = checkpoints[depth]
    dst = tmp_path / 'timm.pth'
    assert convert_tool().main(['to-timm-resnet', src, str(dst), '--width',
                                str(width)]) == 0
    net = timm_resnet(f'resnet{depth}', width)
    assert type(net).__module__ == 'timm.models.resnet'
    net.load_state_dict(torch.load(dst, weights_only=True)['state_dict'], strict=True)
    x = images(real_images)
    with torch.no_grad():
        plain = net.eval().forward_features(x)
    check_close('to-timm-resnet', depth, width, plain, slim_features(slim, width, x))
    assert net.num_features == plain.shape[1]


def d2_shapes(depth: int, stem: int, res2_out: int, width_per_group: int) -> dict:
    """The parameter shapes detectron2's ``build_resnet_backbone`` gives a ResNet
    with these ``MODEL.RESNETS`` values (FrozenBN: no counters)."""
    bottleneck = depth >= 50
    blocks = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3)}[depth]
    bn = lambda c: {f'norm.{n}': (c, ) for n in  # noqa: E731
                    ('weight', 'bias', 'running_mean', 'running_var')}
    shapes = {'stem.conv1.weight': (stem, 3, 7, 7)}
    shapes.update({f'stem.conv1.{k}': v for k, v in bn(stem).items()})
    c_in, out, mid = stem, res2_out, width_per_group
    for s, n in enumerate(blocks, 2):
        for b in range(n):
            convs = {'conv1': (mid, c_in, 1, 1), 'conv2': (mid, mid, 3, 3),
                     'conv3': (out, mid, 1, 1)} if bottleneck else {
                'conv1': (out, c_in, 3, 3), 'conv2': (out, out, 3, 3)}
            if b == 0 and c_in != out:
                convs['shortcut'] = (out, c_in, 1, 1)
            for conv, shape in convs.items():
                shapes[f'res{s}.{b}.{conv}.weight'] = shape
                shapes.update({f'res{s}.{b}.{conv}.{k}': v
                               for k, v in bn(shape[0]).items()})
            c_in = out
        out, mid = out * 2, mid * 2
    return shapes


def test_d2_shapes_are_detectron2s_documented_r50():
    assert d2_shapes(50, 64, 256, 64) == documented_r50_shapes()


@pytest.mark.parametrize('depth', [18, 50])
@pytest.mark.parametrize('width', WIDTHS)
def test_to_detectron2_width(checkpoints, real_images, tmp_path, depth, width):
    src, slim = checkpoints[depth]
    tool = convert_tool()
    assert tool.main(['to-detectron2', src, str(tmp_path / 'd2.pkl'), '--width',
                      str(width)]) == 0
    with open(tmp_path / 'd2.pkl', 'rb') as f:
        d2 = pickle.load(f)['model']  # our own file
    base = int(64 * width)
    cfg = detectron2_resnet_cfg(dict(type='ResNet', depth=depth, stem_channels=base,
                                     base_channels=base))
    assert cfg['STEM_OUT_CHANNELS'] == cfg['WIDTH_PER_GROUP'] == base
    assert {k: v.shape for k, v in d2.items()} == d2_shapes(
        depth, cfg['STEM_OUT_CHANNELS'], cfg['RES2_OUT_CHANNELS'], cfg['WIDTH_PER_GROUP'])
    # back through from-detectron2 into mmpretrain's plain ResNet of that width
    assert tool.main(['from-detectron2', str(tmp_path / 'd2.pkl'),
                      str(tmp_path / 'back.pth')]) == 0
    back = torch.load(tmp_path / 'back.pth', weights_only=True)['state_dict']
    state = {k[len('backbone.'):]: v for k, v in back.items()}
    plain = MODELS.build(dict(resnet_layout(state), out_indices=(3, )))
    plain.load_state_dict(state, strict=True)
    plain.eval()
    x = images(real_images)
    with torch.no_grad():
        out = plain(x)[-1]
    check_close('to-detectron2', depth, width, out, slim_features(slim, width, x))


@pytest.mark.parametrize('name', ['to-torchvision', 'to-timm-resnet', 'to-detectron2'])
def test_width_errors_name_both_sides(checkpoints, tmp_path, capsys, name):
    src, _ = checkpoints[18]
    dst = str(tmp_path / ('out.pkl' if name == 'to-detectron2' else 'out.pth'))
    tool = convert_tool()
    assert tool.main([name, src, dst, '--width', '0.3']) == 2
    assert ('width 0.3 is not in this checkpoint; available widths: '
            '[1.0, 0.75, 0.5, 0.25]') in capsys.readouterr().err
    assert tool.main([name, src, dst]) == 2
    assert ('slimmable ResNet (keys ...bns.<i>.*) with widths [1.0, 0.75, 0.5, 0.25]: '
            'choose one with --width W') in capsys.readouterr().err
    assert not os.path.exists(dst)
    # a plain ResNet-18 has width 1.0 only
    plain = {'backbone.' + k: v for k, v in
             MODELS.build(dict(type='ResNet', depth=18)).state_dict().items()}
    with pytest.raises(ConversionError, match=r'width 0.5 was asked for, but the '
                       r'checkpoint holds a plain ResNet \(no switchable BN\) of width 1 '):
        convert(name, {'state_dict': plain}, width=0.5)
    assert convert(name, {'state_dict': plain}, width=1.0)


def test_width_of_a_converter_without_widths_is_refused(checkpoints, tmp_path, capsys):
    src, _ = checkpoints[18]
    assert convert_tool().main(['mae', src, str(tmp_path / 'x.pth'), '--width',
                                '0.5']) == 2
    err = capsys.readouterr().err
    assert 'mae: this converter takes no --width; those that do: ' in err
    assert all(n in err for n in ('to-torchvision', 'to-timm-resnet', 'to-detectron2',
                                  'slimclr'))


def test_narrow_module_refuses_grouped_convolutions():
    net = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, groups=2))
    with pytest.raises(ValueError, match='grouped convolutions'):
        narrow_module(net, 0.5)


@pytest.mark.slow
def test_command_line_exports_a_width(checkpoints, tmp_path, real_images):
    """The command itself, in a fresh process (it used to stop at an import cycle)."""
    src, slim = checkpoints[18]
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO), os.environ.get('PYTHONPATH')) if p))
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'convert_ckpt.py'),
                           'to-torchvision', src, str(tmp_path / 'tv.pth'), '--width',
                           '0.5'], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = torch.load(tmp_path / 'tv.pth', weights_only=True)['state_dict']
    assert state['conv1.weight'].shape == (32, 3, 7, 7)
    assert np.allclose(state['layer4.1.bn2.running_var'].numpy(),
                       slim.layer4[1].bn2.bns[2].running_var[:256].numpy())
