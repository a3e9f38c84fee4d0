"""tools/benchmarks/bench_step.py end to end on CPU, so the benchmark cannot rot."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

pytestmark = pytest.mark.slow  # subprocess or end-to-end runs

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'tools' / 'benchmarks' / 'bench_step.py'
PRESETS = ('mocov2_r50', 'simclr_r18_cifar', 'mae_vitb', 'tiny')


def run_bench(args: List[str], timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the script in a fresh interpreter with the repo importable."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (str(REPO), env.get('PYTHONPATH')) if p)
    # Tiny convolutions run faster single-threaded on a small, shared CPU.
    env.setdefault('OMP_NUM_THREADS', '1')
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_tiny_preset_runs_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / 'tiny.json'
    proc = run_bench(['--preset', 'tiny', '--device', 'cpu', '--iters', '2',
                      '--warmup', '1', '--out', str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]

    table = [line for line in proc.stdout.splitlines() if line.startswith('|')]
    assert table[0].startswith('| case') and 'speed-up ours/mmpretrain' in table[0]
    assert any('| ours ' in line for line in table[2:])
    assert any('| mmpretrain ' in line for line in table[2:])

    result = json.loads(out.read_text())
    rows = result['rows']
    assert {r['impl'] for r in rows} == {'ours', 'mmpretrain'}
    assert {r['case'] for r in rows} == {'tiny_mocov2', 'tiny_simclr'}
    for row in rows:
        assert row['status'] == 'ok', row
        assert row['throughput'] > 0
        assert math.isfinite(row['ms_median']) and row['ms_median'] > 0
        assert row['unit'] == 'pairs/s' and row['views'] == 2
        assert row['batch_size'] == 8 and row['img_size'] == 32
        assert row['iters'] == 2 and row['warmup'] == 1
        assert row['peak_mem_mib'] >= 0 and 'RSS' in row['mem_kind']
    models = {(r['case'], r['impl']): r['model_type'] for r in rows}
    assert models[('tiny_mocov2', 'ours')] == 'slimselfsup.MoCoV2'
    assert models[('tiny_mocov2', 'mmpretrain')] == 'mmpretrain.MoCo'
    assert models[('tiny_simclr', 'ours')] == 'slimselfsup.SimCLR'
    assert models[('tiny_simclr', 'mmpretrain')] == 'mmpretrain.SimCLR'
    for ratio in result['speedup_ours_over_mmpretrain'].values():
        assert ratio is not None and ratio > 0
    assert result['meta']['device_type'] == 'cpu'


def test_unknown_preset_lists_the_valid_ones() -> None:
    proc = run_bench(['--preset', 'no_such_preset'], timeout=120)
    assert proc.returncode == 2
    assert "unknown preset 'no_such_preset'" in proc.stderr
    for name in PRESETS:
        assert name in proc.stderr
