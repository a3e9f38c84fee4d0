"""The built wheel works installed, away from the checkout: the model zoo, every
converter of tools/convert_ckpt.py, ``_base_ = 'slimselfsup::...'`` and, where mim is
installed, ``mim train slimselfsup CONFIG`` (OpenMMLab's ``.mim`` packaging)."""
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import torch

from slimselfsup.converters import CONVERTERS, convert
from slimselfsup.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # builds and installs the wheel, runs the tools from it
SOURCES = ('slimselfsup', 'configs', 'tools', 'requirements', 'model-index.yml', 'setup.py',
           'setup.cfg', 'README.md', 'LICENSE')


def run(args, cwd, env=None, timeout=300) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc


@pytest.fixture(scope='module')
def installed(tmp_path_factory) -> dict:
    """The wheel, built from a copy of the sources (no build/ left in the checkout)
    and installed with ``pip install --no-deps --target``."""
    tmp = tmp_path_factory.mktemp('wheel')
    src = tmp / 'src'
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '*.egg-info', 'work_dirs')
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy(path, src / name)
    pip = [sys.executable, '-m', 'pip', '--disable-pip-version-check']
    run([*pip, 'wheel', '-q', '--no-deps', '--no-build-isolation', '-w', tmp / 'dist', src],
        cwd=tmp)
    wheel = next((tmp / 'dist').glob('slimselfsup-*.whl'))
    target = tmp / 'target'
    run([*pip, 'install', '-q', '--no-deps', '--target', target, wheel], cwd=tmp)
    outside = tmp / 'elsewhere'
    outside.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target), OMP_NUM_THREADS='1')
    return dict(target=target, outside=outside, env=env, wheel=wheel,
                mim=target / 'slimselfsup' / '.mim')


def test_wheel_carries_configs_tools_and_model_index(installed):
    mim = installed['mim']
    assert (mim / 'model-index.yml').is_file()
    assert (mim / 'tools' / 'train.py').is_file()
    assert (mim / 'tools' / 'convert_ckpt.py').is_file()
    assert (mim / 'configs' / 'slimclr' / 'mocov2_r50_800e.py').is_file()
    with zipfile.ZipFile(installed['wheel']) as wheel:
        names = wheel.namelist()
    assert 'slimselfsup/.mim/model-index.yml' in names
    assert not [n for n in names if '__pycache__' in n or n.endswith('.pyc')]


def test_zoo_and_slimselfsup_base_configs_from_outside(installed):
    outside = installed['outside']
    (outside / 'my_slimclr.py').write_text(textwrap.dedent("""\
        _base_ = 'slimselfsup::slimclr/mocov2_r50_800e.py'
        model = dict(queue_len=1024)
        """))
    (outside / 'bad.py').write_text("_base_ = 'slimselfsup::no/such.py'\n")
    script = textwrap.dedent("""\
        import slimselfsup
        from mmengine.config import Config
        print('FILE', slimselfsup.__file__)
        names = slimselfsup.list_models()
        small = next(n for n in names if 'resnet18' in n)
        model = slimselfsup.get_model(small)
        print('MODEL', small, type(model).__name__)
        cfg = Config.fromfile('my_slimclr.py')
        print('CFG', cfg.model.type, cfg.model.queue_len, cfg.default_scope)
        try:
            Config.fromfile('bad.py')
        except FileNotFoundError as err:
            print('ERROR', err)
        """)
    out = run([sys.executable, '-c', script], cwd=outside, env=installed['env']).stdout
    assert f"FILE {installed['target'] / 'slimselfsup' / '__init__.py'}" in out
    assert 'MODEL ' in out
    assert 'CFG SlimCLRMoCoV2 1024 slimselfsup' in out
    error = next(line for line in out.splitlines() if line.startswith('ERROR'))
    assert error == (f"ERROR slimselfsup::no/such.py: no such config in "
                     f"{installed['mim'] / 'configs'}; give a path relative to that "
                     "folder, e.g. 'slimselfsup::slimclr/mocov2_r50_800e.py'")


def test_every_converter_from_the_installed_tools(installed, tmp_path):
    """``--list`` imports every converter; the slimclr one (which once executed a file
    of the checkout's tools/) cuts a width out of an official SlimCLR checkpoint."""
    tool = installed['mim'] / 'tools' / 'convert_ckpt.py'
    listed = run([sys.executable, tool, '--list'], cwd=installed['outside'],
                 env=installed['env']).stdout
    assert [line.split()[0] for line in listed.splitlines()] == list(CONVERTERS)

    from test_converters.test_slimclr import SLIM, official_checkpoint
    torch.manual_seed(0)
    net = MODELS.build(SLIM)
    net.init_weights()
    src, official = tmp_path / 'official.pth', official_checkpoint(net, 'lincls')
    torch.save(official, src)
    run([sys.executable, tool, 'slimclr', src, tmp_path / 'w05.pth', '--option',
         'width=0.5'], cwd=installed['outside'], env=installed['env'])
    got = torch.load(tmp_path / 'w05.pth')['state_dict']
    want = convert('slimclr', official, width=0.5)
    assert list(got) == list(want)
    assert all(torch.equal(got[k], want[k]) for k in got)


@pytest.mark.skipif(shutil.which('mim') is None, reason='openmim is not installed')
def test_mim_train(installed, tmp_path):
    cfg = installed['outside'] / 'tiny.py'
    cfg.write_text(textwrap.dedent(f"""\
        _base_ = 'slimselfsup::demo/slimclr-simclr_slimmable-resnet18_1xb256-coslr-12e_cifar10-mini.py'
        data_root = '{REPO / 'demo' / 'cifar10-mini'}'
        train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                                dataset=dict(data_root=data_root, indices=16))
        train_cfg = dict(max_epochs=1)
        custom_hooks = []
        """))  # noqa: E501
    out = run(['mim', 'train', 'slimselfsup', cfg, '--work-dir', tmp_path / 'wd'],
              cwd=installed['outside'], env=installed['env'], timeout=600)
    assert str(installed['mim'] / 'tools' / 'train.py') in out.stdout
    assert (tmp_path / 'wd' / 'epoch_1.pth').is_file()
