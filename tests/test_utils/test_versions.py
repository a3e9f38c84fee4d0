"""``import slimselfsup`` checks the stack's versions and names the fix in one line."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from slimselfsup import version

REPO = Path(__file__).resolve().parents[2]


def test_version_problems():
    ok = dict(torch='2.14.1+cu130', mmengine='0.10.7', mmcv='2.1.0', mmpretrain='1.2.0')
    assert version.version_problems(ok) == []
    assert version.version_problems(dict(ok, mmengine='0.9.1')) == [
        'mmengine 0.9.1 is installed but slimselfsup needs mmengine>=0.10.7,<1.0.0']
    assert version.version_problems(dict(ok, mmcv='2.2.0', torch='1.13.1')) == [
        'torch 1.13.1 is installed but slimselfsup needs torch>=2.1.0',
        'mmcv 2.2.0 is installed but slimselfsup needs mmcv>=2.1.0,<2.2.0']
    assert version.version_problems(dict(ok, mmpretrain=None)) == [
        'mmpretrain is not installed; slimselfsup needs mmpretrain>=1.2.0,<1.3.0']
    assert version.digit_version('2.14.1+cpu') == (2, 14, 1)
    assert version.digit_version('1.3.0rc1') == (1, 3, 0)


def old_mmengine(tmp_path) -> dict:
    """An environment whose mmengine metadata says 0.9.0, found before the real one."""
    dist = tmp_path / 'mmengine-0.9.0.dist-info'
    dist.mkdir()
    (dist / 'METADATA').write_text('Metadata-Version: 2.1\nName: mmengine\nVersion: 0.9.0\n')
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]))


def test_too_old_mmengine_is_one_clear_line(tmp_path):
    env = old_mmengine(tmp_path)
    proc = subprocess.run([sys.executable, '-c', 'import slimselfsup'], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (
        'slimselfsup.version.VersionMismatchError: mmengine 0.9.0 is installed but '
        'slimselfsup needs mmengine>=0.10.7,<1.0.0. Fix: run `bash tools/install.sh` in the '
        'slimselfsup checkout (or pip install the versions named), or set '
        'SLIMSELFSUP_SKIP_VERSION_CHECK=1 to try anyway.')
    # nothing of the stack was imported before the check failed
    assert 'mmengine/' not in proc.stderr

    env['SLIMSELFSUP_SKIP_VERSION_CHECK'] = '1'
    proc = subprocess.run([sys.executable, '-c', 'import slimselfsup'], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize('package', sorted(version.SUPPORTED))
def test_installed_stack_is_supported(package):
    assert version.installed_version(package) is not None
    assert version.version_problems({package: version.installed_version(package)}) == []
