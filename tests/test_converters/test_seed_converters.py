"""Teacher converters of SEED (moco, simclr, swav, seed, own checkpoints).

Inputs are real-format checkpoints built to the published key layouts from
torchvision's ResNet state dict (MoCo ``module.encoder_q.*``, the SimCLR PyTorch
port's ``model`` / ``module.module.module.*``, SwAV's bare ``module.*`` with
``projection_head`` and ``prototypes``, SEED's ``module.student.*`` /
``module.teacher.*``). Each is converted through ``tools/convert_ckpt.py`` and loaded
strictly into the teacher of our configs; converted teachers must compute exactly
what the original network computes.
"""
import importlib.util
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
import torchvision
from mmengine.config import Config
from torch import nn

from slimselfsup.converters import ConversionError, convert
from slimselfsup.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location('convert_ckpt',
                                               REPO / 'tools' / 'convert_ckpt.py')
convert_ckpt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(convert_ckpt)

BASE = Config.fromfile(str(REPO / 'configs' / '_base_' / 'models' / 'seed_resnet18.py'))
MOCO_V2_TEACHER = BASE.model.teacher.to_dict()
MOCO_V1_TEACHER = dict(MOCO_V2_TEACHER, neck=dict(type='LinearNeck', in_channels=2048,
                                                  out_channels=128, gap_dim=2,
                                                  norm_cfg=None))
MLP_BN_NECK = dict(type='NonLinearNeck', in_channels=2048, hid_channels=2048,
                   out_channels=128, num_layers=2, with_bias=True, with_last_bn=False,
                   with_last_bias=True, norm_cfg=dict(type='BN1d'))
SIMCLR_TEACHER = dict(MOCO_V2_TEACHER, neck=MLP_BN_NECK)


def torchvision_net(depth: int, head: nn.Module) -> nn.Module:
    """The original network: torchvision ResNet with ``head`` as its ``fc``, in eval
    mode with non-trivial BN statistics."""
    torch.manual_seed(depth)
    net = getattr(torchvision.models, f'resnet{depth}')()
    net.fc = head
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    return net.eval()


def mocov2_head(d=2048):
    return nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 128))


def mlp_bn_head(d=2048):
    return nn.Sequential(nn.Linear(d, d), nn.BatchNorm1d(d), nn.ReLU(), nn.Linear(d, 128))


def prefixed(net: nn.Module, prefix: str) -> OrderedDict:
    return OrderedDict((prefix + k, v) for k, v in net.state_dict().items())


def run_tool(name: str, checkpoint: dict, tmp_path: Path) -> Path:
    src, dst = tmp_path / f'{name}_in.pth', tmp_path / f'{name}_out.pth'
    torch.save(checkpoint, src)
    assert convert_ckpt.main([name, str(src), str(dst)]) == 0
    return dst


def load_teacher(teacher: dict, path: Path):
    """Build SEED with ``teacher`` and load ``path`` the way training does."""
    cfg = BASE.model.to_dict()
    cfg.update(teacher=teacher, teacher_ckpt=str(path))
    model = MODELS.build(cfg)
    model.target_generator.load(str(path))
    return model


def assert_same_embedding(model, net: nn.Module) -> None:
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ours = model.target_generator(x)[0]
        assert torch.allclose(ours, net(x), atol=1e-4, rtol=1e-4)


def test_moco_v2_checkpoint(tmp_path):
    net = torchvision_net(50, mocov2_head())
    sd = prefixed(net, 'module.encoder_q.')
    sd.update(prefixed(net, 'module.encoder_k.'))
    sd['module.queue'] = torch.randn(128, 1024)
    sd['module.queue_ptr'] = torch.zeros(1, dtype=torch.long)
    ckpt = dict(epoch=200, arch='resnet50', state_dict=sd, optimizer={})
    model = load_teacher(MOCO_V2_TEACHER, run_tool('moco-teacher', ckpt, tmp_path))
    assert_same_embedding(model, net)


def test_moco_v1_checkpoint_and_deeper_teachers(tmp_path):
    net = torchvision_net(50, nn.Linear(2048, 128))
    ckpt = dict(state_dict=prefixed(net, 'module.encoder_q.'))
    model = load_teacher(MOCO_V1_TEACHER, run_tool('moco-teacher', ckpt, tmp_path))
    assert_same_embedding(model, net)
    # R-101 keys convert into the depth-101 teacher of the R-101 config
    net = torchvision.models.resnet101()
    net.fc = mocov2_head()
    out = convert('moco-teacher', dict(state_dict=prefixed(net, 'module.encoder_q.')))
    cfg = Config.fromfile(str(REPO / 'configs' / 'seed' / 'seed_resnet18_8xb32-r101-'
                              'mocov2-teacher-coslr-200e_in1k.py'))
    teacher = MODELS.build(cfg.model.to_dict() | dict(teacher_ckpt=None)).target_generator.model
    assert set(out) == set(teacher.state_dict())
    teacher.load_state_dict(out, strict=True)


def test_simclr_checkpoint(tmp_path):
    net = torchvision_net(50, mlp_bn_head())
    ckpt = dict(model=prefixed(net, 'module.module.module.'), epoch=200)
    model = load_teacher(SIMCLR_TEACHER, run_tool('simclr-teacher', ckpt, tmp_path))
    assert_same_embedding(model, net)


def test_swav_checkpoint(tmp_path):
    """SwAV's stem (zero pad 1 + conv padding 2) equals torchvision's padding 3."""
    net = torchvision_net(50, mlp_bn_head())
    sd = OrderedDict((k.replace('fc.', 'projection_head.'), v)
                     for k, v in prefixed(net, 'module.').items())
    sd['module.prototypes.weight'] = torch.randn(3000, 128)
    model = load_teacher(SIMCLR_TEACHER, run_tool('swav-teacher', sd, tmp_path))
    assert_same_embedding(model, net)


def test_swav_w2_shapes_match_the_wide_teacher_config():
    """SwAV w2 widens every stage: torchvision R-50 shapes with all channel counts
    doubled (not the RGB input), head 4096 -> 8192 -> 128."""
    sd = OrderedDict()
    for k, v in torchvision.models.resnet50().state_dict().items():
        if k.startswith('fc.'):
            continue
        shape = [s * 2 if i < 2 and not (k == 'conv1.weight' and i == 1) else s
                 for i, s in enumerate(v.shape)] if v.dim() else []
        sd['module.' + k] = torch.empty(shape, dtype=v.dtype)
    head = mlp_bn_head()
    head = nn.Sequential(nn.Linear(4096, 8192), nn.BatchNorm1d(8192), nn.ReLU(),
                         nn.Linear(8192, 128))
    sd.update(OrderedDict(('module.projection_head.' + k, v)
                          for k, v in head.state_dict().items()))
    out = convert('swav-teacher', sd)
    cfg = Config.fromfile(str(REPO / 'configs' / 'seed' / 'seed_resnet18_8xb32-r50w2-'
                              'swav-teacher-coslr-200e_in1k.py'))
    teacher = MODELS.build(cfg.model.to_dict() | dict(teacher_ckpt=None)).target_generator.model
    ours = teacher.state_dict()
    assert set(out) == set(ours)
    assert all(out[k].shape == ours[k].shape for k in ours)


def test_seed_checkpoints_give_student_and_teacher(tmp_path):
    student = torchvision_net(18, mocov2_head(512))
    moco = torchvision_net(50, mocov2_head())
    sd = prefixed(student, 'module.student.')
    sd.update(prefixed(moco, 'module.teacher.'))
    sd['module.queue'] = torch.randn(128, 1024)
    ckpt = dict(epoch=200, arch='resnet18', state_dict=sd, optimizer={})
    model = load_teacher(MOCO_V2_TEACHER, run_tool('seed-teacher', ckpt, tmp_path))
    assert_same_embedding(model, moco)
    r18 = dict(backbone=dict(MOCO_V2_TEACHER['backbone'], depth=18),
               neck=dict(MOCO_V2_TEACHER['neck'], in_channels=512, hid_channels=512))
    model = load_teacher(r18, run_tool('seed-student', ckpt, tmp_path))
    assert_same_embedding(model, student)

    simclr = torchvision_net(50, mlp_bn_head())
    ckpt['state_dict'] = prefixed(simclr, 'module.teacher.module.')
    model = load_teacher(SIMCLR_TEACHER, run_tool('seed-teacher', ckpt, tmp_path))
    assert_same_embedding(model, simclr)


def test_own_checkpoint(tmp_path):
    """A slimselfsup MoCo v2 run's checkpoint: backbone/neck kept, the rest dropped."""
    cfg = Config.fromfile(
        str(REPO / 'configs' / 'mocov2' / 'mocov2_resnet18-cifar_1xb512-coslr-200e_cifar10.py'))
    moco = MODELS.build(cfg.model)
    ckpt = dict(meta=dict(epoch=200), state_dict=moco.state_dict(), message_hub={})
    out = torch.load(run_tool('slimselfsup-teacher', ckpt, tmp_path),
                     weights_only=True)['state_dict']
    assert set(out) == {k for k in moco.state_dict()
                        if k.startswith(('backbone.', 'neck.'))}
    teacher = dict(backbone=cfg.model.backbone.to_dict(), neck=cfg.model.neck.to_dict())
    model = load_teacher(teacher, tmp_path / 'slimselfsup-teacher_out.pth')
    assert torch.equal(model.target_generator.model['backbone'].conv1.weight,
                       moco.backbone.conv1.weight)


def test_mismatches_name_the_keys(tmp_path, capsys):
    net = torchvision_net(50, mocov2_head())
    sd = prefixed(net, 'module.encoder_q.')
    sd['module.encoder_q.extra.weight'] = torch.zeros(1)
    with pytest.raises(ConversionError, match=r"unexpected keys \['extra.weight'\]"):
        convert('moco-teacher', dict(state_dict=sd))
    # the tool reports it and fails
    torch.save(dict(state_dict=sd), tmp_path / 'bad.pth')
    assert convert_ckpt.main(['moco-teacher', str(tmp_path / 'bad.pth'),
                              str(tmp_path / 'out.pth')]) == 2
    assert 'extra.weight' in capsys.readouterr().err
    # a missing tensor converts, but strict loading names it
    del sd['module.encoder_q.extra.weight']
    del sd['module.encoder_q.layer4.2.bn3.running_var']
    path = run_tool('moco-teacher', dict(state_dict=sd), tmp_path)
    with pytest.raises(ConversionError,
                       match=r"missing keys \['backbone.layer4.2.bn3.running_var'\]"):
        load_teacher(MOCO_V2_TEACHER, path)
    # a MoCo v2 file loaded into a SimCLR-style teacher names the head keys
    sd = prefixed(net, 'module.encoder_q.')
    path = run_tool('moco-teacher', dict(state_dict=sd), tmp_path)
    with pytest.raises(ConversionError,
                       match=r'missing keys \[.*neck.bn0.*'
                       r"unexpected keys \['neck.mlp.0.bias'"):
        load_teacher(SIMCLR_TEACHER, path)
    # the wrong converter for a layout, and a head-less checkpoint
    with pytest.raises(ConversionError, match='module.encoder_q.'):
        convert('moco-teacher', dict(state_dict=prefixed(net, 'module.')))
    no_head = {k: v for k, v in sd.items() if '.fc.' not in k}
    with pytest.raises(ConversionError, match="missing keys \\['fc.0.weight'"):
        convert('moco-teacher', dict(state_dict=no_head))
