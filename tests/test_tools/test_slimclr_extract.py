"""tools/model_converters/slimclr_extract.py: one width of a slimmable ResNet is a
plain ResNet with the same outputs (SlimCLR, arXiv 2209.15525)."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision
from mmpretrain.models import ImageClassifier
from mmpretrain.models.backbones import ResNet, ResNet_CIFAR

from slimselfsup.models.backbones import SlimmableResNet
from slimselfsup.registry import MODELS

pytestmark = pytest.mark.slow  # subprocess runs of the tool

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'tools' / 'model_converters' / 'slimclr_extract.py'
WIDTHS = (1.0, 0.5, 0.25)

_spec = importlib.util.spec_from_file_location('slimclr_extract', SCRIPT)
extract_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(extract_tool)


def main(*args) -> None:
    """The tool in this process (the CLI is covered once, by :func:`run`)."""
    extract_tool.main([str(a) for a in args])


def run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join(p for p in (str(REPO), env.get('PYTHONPATH'))
                                        if p)
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)


def randomise_bns(model: torch.nn.Module) -> None:
    """Distinct statistics per width, so a wrong BN index cannot pass."""
    for m in model.modules():
        if hasattr(m, 'bns'):
            for bn in m.bns:
                bn.running_mean.uniform_(-0.2, 0.2)
                bn.running_var.uniform_(0.5, 1.5)
                bn.weight.data.uniform_(0.5, 1.5)
                bn.bias.data.uniform_(-0.2, 0.2)


def slimmable(cls, **kwargs):
    torch.manual_seed(0)
    model = cls(widths=WIDTHS, **kwargs)
    model.init_weights()
    randomise_bns(model)
    model.eval()
    return model


def test_width_0_5_is_a_plain_resnet(tmp_path, real_images):
    model = slimmable(SlimmableResNet, depth=50, stem_channels=16, base_channels=16)
    ckpt, out = tmp_path / 'slim.pth', tmp_path / 'w05.pth'
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in
                                model.state_dict().items()}, meta={}), ckpt)
    proc = run(ckpt, '--width', 0.5, '--out', out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert ("dict(type='ResNet', depth=50, stem_channels=8, base_channels=8)"
            in proc.stdout)

    saved = torch.load(out, map_location='cpu')
    assert saved['meta']['arch'] == dict(type='ResNet', depth=50, stem_channels=8,
                                         base_channels=8)
    assert saved['meta']['width'] == 0.5 and saved['meta']['widths'] == list(WIDTHS)
    plain = ResNet(depth=50, stem_channels=8, base_channels=8)
    plain.load_state_dict({k[len('backbone.'):]: v for k, v in
                           saved['state_dict'].items()}, strict=True)
    plain.eval()
    model.set_width(0.5)
    x = real_images[:4]
    with torch.no_grad():
        assert torch.allclose(plain(x)[-1], model(x)[-1], atol=1e-5)

    with pytest.raises(ValueError, match=r'width 0.75 is not in this checkpoint; '
                       r'available widths: \[1.0, 0.5, 0.25\]'):
        main(ckpt, '--width', 0.75, '--out', tmp_path / 'bad.pth')
    with pytest.raises(ValueError, match='3 BNs per layer'):
        main(ckpt, '--width', 0.5, '--widths', 1.0, 0.5, '--out', tmp_path / 'bad.pth')
    # mmengine checkpoints carry their config: the width list is read from it
    meta = dict(cfg="model = dict(backbone=dict(type='SlimmableResNet', "
                "widths=[0.5, 1.0]))")
    assert extract_tool.widths_from_meta(meta) == (1.0, 0.5)


def test_bare_state_dict_cifar_and_classifier_head(tmp_path, real_images):
    """A bare SlimmableResNetCIFAR state dict, and a SlimmableClassifier with its
    switchable probe: width 0.25 becomes a plain ImageClassifier."""
    torch.manual_seed(0)
    clf = MODELS.build(dict(
        type='SlimmableClassifier',
        backbone=dict(type='SlimmableResNetCIFAR', depth=18, widths=WIDTHS,
                      stem_channels=16, base_channels=16),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='SwitchableLinearClsHead', num_classes=10, in_channels=128)))
    clf.init_weights()
    randomise_bns(clf)
    clf.eval()
    torch.save(clf.backbone.state_dict(), tmp_path / 'bare.pth')
    torch.save(dict(state_dict=clf.state_dict()), tmp_path / 'clf.pth')
    x = real_images[:4]

    main(tmp_path / 'bare.pth', '--width', 0.25, '--out', tmp_path / 'bare_w.pth')
    state = torch.load(tmp_path / 'bare_w.pth')['state_dict']
    plain = ResNet_CIFAR(depth=18, stem_channels=4, base_channels=4)
    plain.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()})
    plain.eval()
    clf.set_width(0.25)
    with torch.no_grad():
        assert torch.allclose(plain(x)[-1], clf.backbone(x)[-1], atol=1e-5)

    main(tmp_path / 'clf.pth', '--width', 0.25, '--out', tmp_path / 'clf_w.pth')
    plain_clf = ImageClassifier(
        backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=4, base_channels=4),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=32))
    plain_clf.load_state_dict(torch.load(tmp_path / 'clf_w.pth')['state_dict'])
    plain_clf.eval()
    with torch.no_grad():
        assert torch.allclose(plain_clf(x), clf(x), atol=1e-5)


def test_torchvision_export(tmp_path, real_images):
    model = slimmable(SlimmableResNet, depth=18)  # the standard 64-base ResNet-18
    ckpt = tmp_path / 'slim.pth'
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in
                                model.state_dict().items()}), ckpt)
    main(ckpt, '--width', 1.0, '--format', 'torchvision', '--out', tmp_path / 'tv.pth')
    tv = torchvision.models.resnet18()
    tv.fc = torch.nn.Identity()  # a backbone checkpoint has no classifier
    tv.load_state_dict(torch.load(tmp_path / 'tv.pth'), strict=True)
    tv.eval()
    model.set_width(1.0)
    x = real_images[:4]
    with torch.no_grad():
        assert torch.allclose(tv(x), model(x)[-1].mean((2, 3)), atol=1e-5)

    with pytest.raises(ValueError,
                       match='torchvision cannot hold.*--format mmpretrain'):
        main(ckpt, '--width', 0.5, '--format', 'torchvision', '--out', tmp_path / 'x')
