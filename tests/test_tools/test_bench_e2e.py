"""tools/benchmarks/bench_e2e.py end to end on CPU with real JPEGs, so it cannot rot."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # subprocess or end-to-end runs

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'tools' / 'benchmarks' / 'bench_e2e.py'


def test_tiny_preset_measures_every_data_path(tmp_path: Path) -> None:
    out = tmp_path / 'e2e.json'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), '--preset', 'tiny', '--device', 'cpu',
         '--data-root', str(REPO / 'demo' / 'cifar10-mini'), '--batch-size', '8',
         '--num-workers', '1', '--max-samples', '64', '--iters', '2', '--warmup',
         '1', '--out', str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '| case' in proc.stdout and 'e2e / model step' in proc.stdout
    rows = json.loads(out.read_text())['rows']
    assert [r['impl'] for r in rows] == [
        'ours (GPU aug, data on GPU)', 'ours (CPU aug)', 'mmpretrain (CPU aug)']
    assert [r['num_workers'] for r in rows] == [0, 1, 1]
    assert rows[2]['model_type'] == 'mmpretrain.SimCLR'
    for row in rows:
        for key in ('loader_samples_s', 'loader_samples_s_per_worker',
                    'e2e_samples_s', 'model_step_samples_s'):
            assert math.isfinite(row[key]) and row[key] > 0, (key, row)
        assert row['batch_size'] == 8 and row['peak_mem_mib'] >= 0
