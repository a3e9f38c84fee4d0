"""tools/benchmarks/gpu_ladder.py and merge_ladder.py on the CPU: the dry run climbs
every rung end to end at tiny sizes, a rung killed at its budget keeps what it had
and the ladder goes on, a rung over the remaining budget stays owed, and the merge
puts a run into the benchmarks doc and marks its finished rungs done."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
from realdata import pack_demo

pytestmark = pytest.mark.slow  # subprocess or end-to-end runs

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / 'tools' / 'benchmarks'
DEMO = REPO / 'demo' / 'cifar10-mini'
FAST_RUNGS = ['1-smoke', '2a-step-eager', '3-headline', '2b-step-compile',
              '2c-step-compile-fp32', '4b-flatnce-vs-infonce', '4e-mmcv-cuda',
              '4f-balloon']
EXPERIMENT_RUNGS = ['4a-slimclr-vs-alone', '4c-seed-vs-mocov2', '4d-tec-vs-mae']


def run(script: str, args: List[str], timeout: int = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO), os.environ.get('PYTHONPATH')) if p))
    return subprocess.run([sys.executable, str(BENCH / script), *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope='module')
def pack(tmp_path_factory) -> Path:
    """The demo subset as a CIFAR pack: the dry run reads what the GPU machine reads."""
    return Path(pack_demo(tmp_path_factory.mktemp('pack') / 'cifar10_jpeg.npz'))


def ladder(out: Path, data: Path, *args: str) -> dict:
    proc = run('gpu_ladder.py', ['--device', 'cpu', '--data', str(data), '--out',
                                 str(out), *args])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((out / 'ladder.json').read_text())


@pytest.fixture(scope='module')
def dry_run(tmp_path_factory, pack) -> Path:
    out = tmp_path_factory.mktemp('ladder')
    ladder(out, pack, '--rungs', *FAST_RUNGS)
    return out


def test_dry_run_climbs_every_rung_and_reports_tables(dry_run):
    data = json.loads((dry_run / 'ladder.json').read_text())
    meta, rungs = data['meta'], data['rungs']
    assert meta['dry'] and meta['device_type'] == 'cpu' and meta['planned'] == FAST_RUNGS
    assert list(rungs) == FAST_RUNGS
    for name in FAST_RUNGS[:6]:
        assert rungs[name]['status'] == 'done', (name, rungs[name])
        assert rungs[name]['tables'] and rungs[name]['seconds'] > 0
    smoke = rungs['1-smoke']['rows']
    models = {r['model_type'] for r in smoke}
    assert {'slimselfsup.SimCLR', 'slimselfsup.MoCoV2', 'slimselfsup.SEED',
            'slimselfsup.TEC', 'slimselfsup.SlimCLRMoCoV2'} <= models
    assert any('gpuaug' in r['config'] for r in smoke)  # views made on the device
    for row in smoke:  # every config stepped; our code made no host sync
        assert row['status'] == 'ok' and row['step_ms'] > 0, row
        assert not [p for p in row['sync_places'] if 'slimselfsup/' in p], row
    eager = rungs['2a-step-eager']
    assert {(r['case'], r['impl'], r['precision']) for r in eager['rows']} == {
        (c, i, p) for c in ('tiny_mocov2', 'tiny_simclr')
        for i in ('ours', 'mmpretrain') for p in ('fp32', 'bf16 autocast')}
    for name, precision in (('2b-step-compile', 'bf16 autocast'),
                            ('2c-step-compile-fp32', 'fp32')):
        rows = rungs[name]['rows']
        assert len(rows) == 4 and all(r['compiled'] == 'backbone' and r['precision']
                                      == precision for r in rows), rows
    (head, ) = rungs['3-headline']['rows']
    assert head['epochs'] >= 1 and 0 <= head['knn_top1'] <= 100
    assert head['pairs_per_s_e2e'] > 0 and head['pairs_per_s_step_only'] > 0
    assert {r['loss'] for r in rungs['4b-flatnce-vs-infonce']['rows']} == {
        'FlatNCELoss', 'InfoNCELoss'}
    # what is missing on a CPU machine is named, and the rung stays owed
    for name in ('4e-mmcv-cuda', '4f-balloon'):
        assert rungs[name]['status'] in ('done', 'partial'), rungs[name]
        if rungs[name]['status'] == 'partial':
            assert rungs[name]['notes'], rungs[name]
    md = (dry_run / 'ladder.md').read_text()
    assert 'CPU dry run at tiny sizes' in md and '| epochs | train time' in md


def test_merge_puts_the_run_into_the_doc_and_marks_finished_rungs_done(dry_run, tmp_path):
    doc, results = tmp_path / 'benchmarks.md', tmp_path / 'ladder_results.json'
    shutil.copy(REPO / 'docs' / 'benchmarks.md', doc)
    shutil.copy(BENCH / 'ladder_results.json', results)
    assert all(r['status'] == 'owed' for r in json.loads(
        results.read_text())['rungs'].values())
    common = [str(dry_run), '--doc', str(doc), '--results', str(results)]
    refused = run('merge_ladder.py', common)
    assert refused.returncode == 1 and 'CPU dry run' in refused.stderr
    merged = run('merge_ladder.py', common + ['--allow-cpu'])
    assert merged.returncode == 0, merged.stderr
    status = json.loads(results.read_text())['rungs']
    data = json.loads((dry_run / 'ladder.json').read_text())
    for name, entry in data['rungs'].items():
        if entry['status'] == 'done':
            assert status[name]['status'] == 'done'
            assert status[name]['device'] == data['meta']['device']
        else:
            assert status[name]['status'] == 'owed'
            assert status[name]['last_attempt']['status'] == entry['status']
    assert status['4a-slimclr-vs-alone'] == {'status': 'owed'}  # not in this run
    text = doc.read_text()
    runs = text.split('<!-- gpu-ladder-runs -->')[1]
    assert f"ladder rungs {', '.join(FAST_RUNGS)}" in runs
    assert '| epochs | train time' in runs and data['meta']['command'] in runs
    table = text.split('<!-- gpu-ladder-status:begin -->')[1].split(
        '<!-- gpu-ladder-status:end -->')[0]
    assert '| 1-smoke | done ' in table and '| 4a-slimclr-vs-alone | **owed** |' in table
    again = run('merge_ladder.py', common + ['--allow-cpu'])
    assert again.returncode == 1 and 'already merged' in again.stderr


def test_killed_rung_keeps_the_ladder_going_and_over_budget_rungs_stay_owed(tmp_path,
                                                                            pack):
    data = ladder(tmp_path, pack, '--isolate', '--grace', '1', '--budget', '60',
                  '--rung-budget', '1-smoke=1', '--rungs', '1-smoke', '3-headline',
                  '4e-mmcv-cuda')
    rungs = data['rungs']
    assert rungs['1-smoke']['status'] == 'timeout'
    assert 'killed at its budget' in rungs['1-smoke']['notes'][-1]
    assert rungs['3-headline']['status'] == 'skipped'  # needs 90 s of the 60
    assert 'still owed' in rungs['3-headline']['reason']
    assert rungs['4e-mmcv-cuda']['status'] in ('done', 'partial')
    assert (tmp_path / 'ladder.log').read_text()


def test_owed_rungs_come_from_the_results_file(tmp_path):
    sys.path.insert(0, str(BENCH))
    import gpu_ladder
    results = json.loads((BENCH / 'ladder_results.json').read_text())
    assert list(results['rungs']) == [r.name for r in gpu_ladder.LADDER]
    assert gpu_ladder.owed(results) == list(results['rungs'])  # nothing measured yet
    for name in results['rungs']:
        results['rungs'][name] = {'status': 'done'}
    results['rungs']['4e-mmcv-cuda'] = {'status': 'owed'}
    del results['rungs']['4f-balloon']  # a rung the file does not know is owed
    path = tmp_path / 'results.json'
    path.write_text(json.dumps(results))
    assert gpu_ladder.owed(gpu_ladder.load_results(str(path))) == [
        '4e-mmcv-cuda', '4f-balloon']


@pytest.mark.slow
def test_dry_run_of_the_experiment_rungs(tmp_path, pack):
    """The rungs that run the CIFAR comparison scripts (their --smoke runs, on the
    pack: two-view recipes on the GPU data path)."""
    data = ladder(tmp_path, pack, '--rungs', *EXPERIMENT_RUNGS)
    for name in EXPERIMENT_RUNGS:
        entry = data['rungs'][name]
        assert entry['status'] == 'done', entry
        (table, ) = entry['tables'].values()
        assert table.startswith('|') and len(table.splitlines()) >= 3, table
