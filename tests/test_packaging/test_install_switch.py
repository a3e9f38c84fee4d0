"""tools/install.sh switches an environment from mmcv-lite to compiled mmcv and back, in
a throwaway venv over the system packages, reusing the cached mmcv wheel (built by
``install.sh --det``, as CI runs it first). Under lite, the ops are missing with a
message that names the fix, and importing our stack prints no ops warning."""
import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
CACHE = os.environ.get('SLIMSELFSUP_CACHE') or os.path.expanduser('~/.cache/slimselfsup')
WHEELS = glob.glob(os.path.join(
    CACHE, 'wheels', f"mmcv-2.1.0-torch{torch.__version__.split('+')[0]}-"
    f'cp{sys.version_info[0]}{sys.version_info[1]}', 'mmcv-*.whl'))
DEMO = 'configs/demo/slimclr-simclr_slimmable-resnet18_1xb256-coslr-12e_cifar10-mini.py'
LITE_ERROR = ("ModuleNotFoundError: mmcv's compiled ops are not installed (this is the "
              'lite install, mmcv-lite, enough for pretraining and evaluation); detection '
              'models such as Mask R-CNN need them: run `bash tools/install.sh --det`')

pytestmark = [pytest.mark.skipif(not WHEELS, reason='no cached mmcv wheel (run '
                                 'bash tools/install.sh --det once)'),
              pytest.mark.slow]  # pip installs and uninstalls (about a minute)


def test_lite_full_lite(tmp_path):
    venv = tmp_path / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--system-site-packages', str(venv)],
                   check=True, timeout=300)
    env = dict(os.environ, PYTHON=str(venv / 'bin' / 'python'))

    def install(*flags) -> str:
        proc = subprocess.run(['bash', str(REPO / 'tools' / 'install.sh'), *flags], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        return proc.stdout

    def python(code: str) -> subprocess.CompletedProcess:
        return subprocess.run([env['PYTHON'], '-c', code], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)

    def ops_error() -> str:
        proc = python('import slimselfsup, mmcv.ops')
        return '' if proc.returncode == 0 else proc.stderr.strip().splitlines()[-1]

    assert '[install] mmcv-lite 2.1.0 (no compiled ops' in install('--lite')
    assert ops_error() == LITE_ERROR
    quiet = python('import slimselfsup, mmpretrain.models')
    assert quiet.returncode == 0 and quiet.stderr == '', quiet.stderr
    # README command 1 under lite: every Runner asks mmengine whether mmcv's ops exist
    probe = python('import slimselfsup; from mmengine.utils.dl_utils import mmcv_full_available;'
                   ' print(mmcv_full_available())')
    assert probe.returncode == 0 and probe.stdout.split()[-1] == 'False', probe.stderr
    demo = subprocess.run(
        [env['PYTHON'], str(REPO / 'tools' / 'train.py'), str(REPO / DEMO),
         '--work-dir', str(tmp_path / 'demo'), '--cfg-options', 'train_cfg.max_epochs=1'],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert 'trained vs. random weights' in demo.stdout  # the per-width table
    assert 'Saving checkpoint at 1 epochs' in demo.stdout

    assert '[install] mmcv 2.1.0 with ops: cached wheel' in install('--det')
    assert ops_error() == ''
    # the default install (README command 1) keeps compiled ops where they are
    assert '[install] mmcv 2.1.0 (full) already installed' in install()

    assert '[install] mmcv-lite 2.1.0 (no compiled ops' in install('--lite')
    assert ops_error() == LITE_ERROR
