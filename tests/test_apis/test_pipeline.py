"""tools/pipeline.py: pretrain -> kNN -> linear probe -> report on real images.

The smoke pipeline of the demo configs (slimmable SimCLR, switchable probe) is run
as a real process, killed with SIGKILL once pretraining has finished, and run again:
pretraining is not repeated, the other stages run and the report is complete. Then
every stage's skip-and-rerun, the report's numbers against the files and logs they
come from, the figures, a failing stage's message, the report without umap-learn,
and the bad inputs that must fail before any work starts.
"""
import glob
import importlib.util
import json
import os
import os.path as osp
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image
from realdata import DEMO, REPO

from slimselfsup.apis.pipeline import PipelineInputError, run_pipeline

pytestmark = pytest.mark.slow  # whole pipelines in subprocesses

CONFIG = 'configs/demo/slimclr-simclr_slimmable-resnet18_1xb256-coslr-12e_cifar10-mini.py'
LINEAR = 'configs/demo/benchmarks/slimmable-resnet18_linear-1xb256-coslr-10e_cifar10-mini.py'
WIDTHS = ('1.0', '0.5', '0.25')
SECTIONS = ('## Accuracy, parameters and compute per width', '## Training curves',
            '## Contrastive-training monitors', '## Embedding maps of the test split',
            '## SlimCLR diagnostics', '## Run')


def _cmd(work_dir, *extra):
    return [sys.executable, 'tools/pipeline.py', CONFIG, '--work-dir', str(work_dir),
            '--linear-config', LINEAR, '--smoke', *extra]


def _run(work_dir, *extra, check=True):
    proc = subprocess.run(_cmd(work_dir, *extra), cwd=REPO, capture_output=True, text=True,
                          timeout=900)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def _ran(output: str, stage: str) -> bool:
    if f'[pipeline] stage {stage}: running' in output:
        return True
    assert re.search(rf'\[pipeline\] stage {stage}: \S+ is up to date, skipped', output), \
        output[-3000:]
    return False


@pytest.fixture(scope='module')
def pipeline(tmp_path_factory):
    """The smoke pipeline killed after pretraining, then run again to the end."""
    work = tmp_path_factory.mktemp('pipeline') / 'run'
    with open(str(work) + '.first.log', 'w') as log:
        first = subprocess.Popen(_cmd(work), cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        deadline = time.time() + 900
        while not osp.exists(work / 'pretrain' / 'result.json'):
            assert first.poll() is None, open(str(work) + '.first.log').read()[-3000:]
            assert time.time() < deadline, 'pretraining did not finish in 15 minutes'
            time.sleep(0.2)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert not osp.exists(work / 'report.md')
    ckpts = {p: os.stat(p).st_mtime_ns for p in glob.glob(str(work / 'pretrain' / '*.pth'))}
    second = _run(work)
    return dict(work=work, ckpts=ckpts, output=second.stdout + second.stderr)


def _copy(pipeline, tmp_path):
    dst = tmp_path / 'copy'
    shutil.copytree(pipeline['work'], dst)
    return dst


def test_killed_pipeline_resumes_without_pretraining_again(pipeline):
    work, out = pipeline['work'], pipeline['output']
    assert not _ran(out, 'pretrain')
    assert _ran(out, 'knn') and _ran(out, 'report')
    # the checkpoints were not rewritten, and no second training run was started
    assert {p: os.stat(p).st_mtime_ns for p in pipeline['ckpts']} == pipeline['ckpts']
    assert len(glob.glob(str(work / 'pretrain' / '2*'))) == 1
    for name in ('pretrain/result.json', 'knn/result.json', 'linear/result.json',
                 'report.json', 'report.md'):
        assert osp.isfile(work / name), name


def test_report_has_every_section_and_real_figures(pipeline):
    work = pipeline['work']
    report = (work / 'report.md').read_text()
    for section in SECTIONS:
        assert section in report, section
    figures = re.findall(r'!\[[^\]]*\]\((figures/[^)]+\.png)\)', report)
    names = {osp.basename(f) for f in figures}
    assert {'accuracy_vs_flops.png', 'loss_terms.png', 'learning_rate.png',
            'knn_during_training.png', 'monitors.png', 'tsne.png', 'grad_imbalance.png',
            'fc_singular_values.png', 'fc_grad_pca.png'} <= names
    assert {f'trajectory_w{w}.png' for w in WIDTHS} <= names
    assert sorted(figures) == sorted(osp.relpath(p, work) for p in
                                     glob.glob(str(work / 'figures' / '*.png')))
    for fig in figures:
        with Image.open(work / fig) as img:
            img.load()
            pixels = np.asarray(img.convert('L'))
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100, fig
        # not blank: many grey levels, and a good part of the image is not background
        assert len(np.unique(pixels)) > 20 and (pixels < 250).mean() > 0.02, fig
    assert ('figures/umap.png' in report) or ('pip install umap-learn' in report)
    for key in ('config', 'command', 'git commit', 'device', 'date'):
        assert f'| {key} |' in report
    for stage in ('pretrain', 'knn', 'linear'):
        assert re.search(rf'\| {stage} \| (ran|skipped \(up to date\)|done earlier) \| '
                         r'[0-9.]+ (s|min) \|', report), stage


def _scalars(folder):
    rows = []
    for path in sorted(glob.glob(osp.join(str(folder), '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            rows += [json.loads(line) for line in f]
    return rows


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(
        name, osp.join(REPO, 'tools', 'analysis_tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_numbers_equal_the_logs_and_result_files(pipeline):
    work = pipeline['work']
    report = json.loads((work / 'report.json').read_text())
    knn = json.loads((work / 'knn' / 'result.json').read_text())
    linear = json.loads((work / 'linear' / 'result.json').read_text())
    # the probe's test metrics as mmengine's LoggerHook dumped them
    log_dir = work / linear['log_dir']
    tested = [json.loads(line) for path in glob.glob(str(log_dir / '*.json'))
              for line in open(path) if 'accuracy_w1.0/top1' in line][-1]
    md = (work / 'report.md').read_text()
    rows = {str(r['width']): r for r in report['table']}
    assert sorted(rows) == sorted(WIDTHS)
    for w in WIDTHS:
        row = rows[w]
        assert row['knn_top1'] == knn['per_width'][w]['top1']
        assert row['knn_top5'] == knn['per_width'][w]['top5']
        assert row['linear_top1'] == pytest.approx(tested[f'accuracy_w{w}/top1'], abs=1e-4)
        assert row['linear_top5'] == pytest.approx(tested[f'accuracy_w{w}/top5'], abs=1e-4)
        assert (f"| {w} | {row['params_fc'] / 1e6:.2f} | {row['macs_fc'] / 1e6:.1f} | "
                f"{row['knn_top1']:.2f} | {row['knn_top5']:.2f} | {row['linear_top1']:.2f} | "
                f"{row['linear_top5']:.2f} |") in md
    # params and MACs are the complexity tool's
    tool_rows = _load_tool('slim_complexity').main(
        [CONFIG, '--img-size', '32', '--num-classes', '10', '--widths', *WIDTHS])
    for tool_row in tool_rows:
        row = rows[str(tool_row['width'])]
        assert row['params_fc'] == tool_row['params_fc']
        assert row['macs_fc'] == tool_row['macs_fc']
    # curves are what the pretraining logged
    logged = _scalars(work / 'pretrain')
    for group, prefix in (('knn', 'knn/'), ('monitor', 'monitor/')):
        for key, curve in report['curves'][group].items():
            expect = [[r['step'], r[prefix + key]] for r in logged if prefix + key in r]
            assert curve == expect, key
    assert report['curves']['monitor']['effective_rank']
    assert {f'top1_w{w}' for w in WIDTHS} <= set(report['curves']['knn'])
    losses = [[r['step'], r['loss']] for r in logged if 'loss' in r]
    assert report['curves']['terms']['loss'] == losses
    assert {f'ctr_w{w}' for w in WIDTHS} | {'kd_w0.5', 'kd_w0.25'} <= \
        set(report['curves']['terms'])
    # the kNN stage on the final checkpoint equals the KNNHook after the last epoch
    for w in WIDTHS:
        assert knn['per_width'][w]['top1'] == report['curves']['knn'][f'top1_w{w}'][-1][1]
    records = [json.loads(line) for line in open(work / 'pretrain' / 'slim_grads.jsonl')]
    assert report['slimclr']['grad_records'] == len(records) > 0


def test_rerun_skips_every_stage(pipeline):
    out = _run(pipeline['work'])
    text = out.stdout + out.stderr
    assert not any(_ran(text, stage) for stage in ('pretrain', 'knn', 'linear', 'report'))


def test_changed_probe_reruns_only_the_probe_and_the_report(pipeline, tmp_path):
    work = _copy(pipeline, tmp_path)
    out = _run(work, '--linear-cfg-options', 'optim_wrapper.optimizer.lr=0.05')
    text = out.stdout + out.stderr
    assert [_ran(text, s) for s in ('pretrain', 'knn', 'linear', 'report')] == \
        [False, False, True, True]
    assert 'lr=0.05' in (work / 'configs' / 'linear.py').read_text()
    old = json.loads((pipeline['work'] / 'linear' / 'result.json').read_text())
    new = json.loads((work / 'linear' / 'result.json').read_text())
    assert new['inputs'] != old['inputs'] and new['checkpoint'] == old['checkpoint']


def test_deleted_knn_result_reruns_knn_and_report(pipeline, tmp_path):
    work = _copy(pipeline, tmp_path)
    before = json.loads((work / 'knn' / 'result.json').read_text())
    os.remove(work / 'knn' / 'result.json')
    out = _run(work)
    text = out.stdout + out.stderr
    assert [_ran(text, s) for s in ('pretrain', 'knn', 'linear', 'report')] == \
        [False, True, False, True]
    after = json.loads((work / 'knn' / 'result.json').read_text())
    assert after['per_width'] == before['per_width']  # same checkpoint, same numbers


def test_failing_stage_names_itself_its_file_and_the_rerun_command(pipeline, tmp_path):
    work = _copy(pipeline, tmp_path)
    out = _run(work, '--stages', 'linear', '--linear-cfg-options',
               'optim_wrapper.optimizer.lr=abc', check=False)
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("pipeline: stage linear failed (TypeError: "
                           "optim_wrapper.optimizer.lr='abc' is not a number"), last
    assert (f'its result file {work}/linear/result.json was not written. Fix the cause, '
            'then rerun only this stage: python tools/pipeline.py') in last
    assert '--stages linear' in last and '--smoke' in last


def test_report_without_umap_says_how_to_enable_it(pipeline, tmp_path, monkeypatch):
    work = _copy(pipeline, tmp_path)
    monkeypatch.setitem(sys.modules, 'umap', None)  # import umap raises ImportError
    monkeypatch.chdir(REPO)
    result = run_pipeline(CONFIG, str(work), linear_config=LINEAR, stages=['report'],
                          smoke=True, force=True)
    report = (work / 'report.md').read_text()
    assert 'UMAP: umap-learn is not installed; install it with `pip install umap-learn`' \
        in report
    assert f'python tools/pipeline.py {CONFIG} --work-dir {work}' in report
    assert '--stages report' in report
    assert not osp.exists(work / 'figures' / 'umap.png')
    assert osp.isfile(work / 'figures' / 'tsne.png')
    assert result['report']['embedding_maps']['umap'] is None
    assert len(result['report']['embedding_maps']['tsne']) == 30  # the smoke queries


# ------------------------------------------------------------------ bad input
def _demo_split(tmp_path, split):
    root = tmp_path / 'data'
    os.makedirs(root)
    os.symlink(osp.join(DEMO, split), root / split)
    return str(root)


def test_unknown_stage_fails_before_any_work(tmp_path):
    with pytest.raises(PipelineInputError) as err:
        run_pipeline(CONFIG, str(tmp_path / 'w'), stages='pretrain,knnn')
    assert str(err.value) == ("unknown stage 'knnn' in --stages (did you mean 'knn'?); "
                              'the stages are pretrain, knn, linear, report')
    proc = subprocess.run(_cmd(tmp_path / 'w', '--stages', 'pretrain,reprot'), cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "pipeline: unknown stage 'reprot' in --stages (did you mean 'report'?); the "
        'stages are pretrain, knn, linear, report')
    assert not osp.exists(tmp_path / 'w')


def test_missing_test_split_fails_before_any_work(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    train_only = _demo_split(tmp_path, 'train')
    with pytest.raises(PipelineInputError) as err:
        run_pipeline(CONFIG, str(tmp_path / 'w'), stages=['pretrain', 'knn'], cfg_options={
            'custom_hooks.0.val_dataloader.dataset.data_root': train_only})
    msg = str(err.value)
    assert msg.startswith(
        f'stage knn: the kNN queries (test split) (custom_hooks[KNNHook] of {CONFIG}'
        f".val_dataloader) cannot be read: ImageFolder: image folder '{train_only}/test'"
        ' (data_root'), msg
    with pytest.raises(PipelineInputError) as err:
        run_pipeline(CONFIG, str(tmp_path / 'w'), linear_config=LINEAR,
                     stages=['pretrain', 'linear'], linear_cfg_options={
                         'test_dataloader.dataset.data_root': train_only})
    assert str(err.value).startswith(
        f"stage linear: the probe's test split (test_dataloader of {LINEAR}) cannot be "
        f"read: ImageFolder: image folder '{train_only}/test'"), str(err.value)
    assert not osp.exists(tmp_path / 'w' / 'pretrain')


def test_probe_of_another_backbone_fails_before_any_work(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    plain = 'configs/mocov2/benchmarks/resnet18-cifar_linear-1xb256-coslr-100e_cifar10.py'
    with pytest.raises(PipelineInputError) as err:
        run_pipeline(CONFIG, str(tmp_path / 'w'), linear_config=plain,
                     stages=['pretrain', 'linear'])
    msg = str(err.value)
    assert msg.startswith(
        f'--linear-config {plain}: its backbone (ResNet_CIFAR, depth 18) does not match '
        f'the pretrained backbone of {CONFIG} (SlimmableResNet, depth 18) under prefix '
        "'backbone.': "), msg
    assert "['bn1.bias', 'bn1.running_mean', 'bn1.running_var', 'bn1.weight']" in msg
    assert 'conv1.weight (64, 3, 7, 7) vs (64, 3, 3, 3)' in msg
    assert 'the switchable probe, configs/slimclr/benchmarks/' in msg
    # the same probe type with another depth
    with pytest.raises(PipelineInputError, match=r'its backbone \(SlimmableResNet, depth 34\) '
                       r'does not match .* \(SlimmableResNet, depth 18\)'):
        run_pipeline(CONFIG, str(tmp_path / 'w'), linear_config=LINEAR,
                     stages=['pretrain', 'linear'],
                     linear_cfg_options={'model.backbone.depth': 34})
    assert not osp.exists(tmp_path / 'w' / 'pretrain')


def test_linear_stage_without_probe_config_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    with pytest.raises(PipelineInputError, match='stage linear needs --linear-config'):
        run_pipeline(CONFIG, str(tmp_path / 'w'), stages=['pretrain', 'linear'])


def test_two_process_launch_runs_every_stage(tmp_path):
    """``TOOL=tools/pipeline.py tools/dist_train.sh``: DDP pretraining and probe, kNN
    sharded over both ranks and gathered, the report on rank 0; the kNN numbers equal
    one process's on the same checkpoint."""
    work = tmp_path / 'ddp'
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env = dict(os.environ, TOOL='tools/pipeline.py', PORT=str(port), OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')]),
               # dist_train.sh runs `python`: this interpreter
               PATH=os.pathsep.join([osp.dirname(sys.executable), os.environ['PATH']]))
    proc = subprocess.run(['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', str(work),
                           '--linear-config', LINEAR, '--smoke'], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    pretrain = json.loads((work / 'pretrain' / 'result.json').read_text())
    assert pretrain['world_size'] == 2
    assert 'CPU' in pretrain['device'] and '2 processes' in pretrain['device']
    for section in SECTIONS:
        assert section in (work / 'report.md').read_text()
    two = json.loads((work / 'knn' / 'result.json').read_text())
    copy = tmp_path / 'one'
    shutil.copytree(work, copy)
    _run(copy, '--stages', 'knn', '--force')
    one = json.loads((copy / 'knn' / 'result.json').read_text())
    assert one['per_width'] == two['per_width']


def test_plain_model_without_a_probe_reports_what_it_has(tmp_path):
    """A non-slimmable SimCLR, no --linear-config: the linear stage is left out and
    the report says so; no per-width figures; monitors, curves and maps are there."""
    config = 'configs/simclr/simclr_resnet18-cifar_1xb512-coslr-200e_cifar10.py'
    work = tmp_path / 'plain'
    proc = subprocess.run(
        [sys.executable, 'tools/pipeline.py', config, '--work-dir', str(work), '--smoke',
         '--cfg-options', f'train_dataloader.dataset.data_root={DEMO}',
         f'custom_hooks.0.train_dataloader.dataset.data_root={DEMO}',
         f'custom_hooks.0.val_dataloader.dataset.data_root={DEMO}'],
        cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert '(left out: linear (no --linear-config))' in proc.stdout + proc.stderr
    assert not osp.exists(work / 'linear')
    report = (work / 'report.md').read_text()
    for section in SECTIONS:
        assert section in report, section
    assert 'Linear probe: not run; pass --linear-config' in report
    assert 'Not a slimmable run' in report
    table = json.loads((work / 'report.json').read_text())['table']
    knn = json.loads((work / 'knn' / 'result.json').read_text())
    assert len(table) == 1 and table[0]['width'] == 1.0
    assert table[0]['knn_top1'] == knn['per_width']['1.0']['top1']
    assert table[0]['linear_top1'] is None
    figures = {osp.basename(p) for p in glob.glob(str(work / 'figures' / '*.png'))}
    assert {'loss_terms.png', 'learning_rate.png', 'knn_during_training.png', 'monitors.png',
            'tsne.png'} <= figures
    assert not figures & {'accuracy_vs_flops.png', 'grad_imbalance.png'}


def test_knn_stage_without_a_knn_hook_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    with pytest.raises(PipelineInputError) as err:
        run_pipeline(CONFIG, str(tmp_path / 'w'), stages=['pretrain', 'knn'],
                     cfg_options={'custom_hooks': []})
    assert str(err.value).startswith(
        f'stage knn: {CONFIG} has no KNNHook in custom_hooks, so there is no kNN data to '
        'evaluate on. Add one, e.g.'), str(err.value)
    assert not osp.exists(tmp_path / 'w')
