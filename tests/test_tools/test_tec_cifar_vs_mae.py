"""The GPU comparison script's wiring on the CIFAR subset (not its accuracy)."""
import os.path as osp
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'benchmarks'))

import tec_cifar_vs_mae  # noqa: E402

pytestmark = pytest.mark.slow  # subprocess or end-to-end runs


def test_smoke_run_prints_one_row_per_model(tmp_path):
    out = tec_cifar_vs_mae.main(['--smoke', '--work-dir', str(tmp_path)])
    lines = out.splitlines()
    assert lines[0].startswith('| model') and len(lines) == 4
    assert 'MAE 1 ep + TEC 1 ep' in lines[3]
    for line in lines[2:]:
        assert 0 <= float(line.split('|')[-2]) <= 100
