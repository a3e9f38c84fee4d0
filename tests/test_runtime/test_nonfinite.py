"""A NaN loss stops training with a clear message and keeps the last good checkpoint;
a damaged model state (NaN/inf/diverged parameters or buffers) is never saved.

A real mmengine run of the tiny MoCo v2 of ``test_kill_resume`` (real images,
iteration checkpoints every 2 iterations) is made to diverge: a hook writes ``inf``
into the first conv before iteration 6, so that iteration's loss is NaN and its
update damages every weight. ``NonFiniteLossHook`` must raise before
``CheckpointHook`` saves, naming the iteration and ``iter_4.pth``. Damage that
leaves the loss finite (NaN BN statistics; ``lr=1e6`` with one-iteration epochs, a
real ``tools/train.py`` process) must stop the run at the save, naming the tensor.
"""
import os
import re
import subprocess

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from test_kill_resume import CASES, REPO, env, run_to_end, train_cmd, write_config

from slimselfsup.engine.hooks import NonFiniteLossError, NonFiniteLossHook, NonFiniteStateError
from slimselfsup.engine.hooks.nonfinite_loss_hook import MAX_ABS
from slimselfsup.registry import HOOKS, RUNNERS

POISON_AT = 6  # 1-based iteration whose loss is NaN


@HOOKS.register_module(name='_TestPoisonHook', force=True)
class PoisonHook(Hook):
    """Make the model diverge: inf weights before iteration ``POISON_AT``."""

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == POISON_AT:
            model = runner.model.module if hasattr(runner.model, 'module') \
                else runner.model
            with torch.no_grad():
                model.backbone.conv1.weight.fill_(float('inf'))


@HOOKS.register_module(name='_TestPoisonStatsHook', force=True)
class PoisonStatsHook(Hook):
    """NaN BN running variance after iteration 3: the loss stays finite (training
    BN normalises with batch statistics) but the state is damaged."""

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == 3:
            with torch.no_grad():
                runner.model.backbone.bn1.running_var.fill_(float('nan'))


def build_runner(tmp_path, data_root, runtime_info: bool, interval: int = 1,
                 poison: str = '_TestPoisonHook'):
    case = dict(CASES['iter'], interval=2)
    cfg = Config.fromfile(write_config(tmp_path / 'cfg.py', data_root, case))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.log_level = 'WARNING'
    cfg.default_hooks.nonfinite_loss = dict(type='NonFiniteLossHook',
                                            interval=interval)
    if not runtime_info:
        cfg.default_hooks.runtime_info = None
    cfg.custom_hooks = [dict(type=poison)]
    return RUNNERS.build(cfg)


@pytest.mark.slow
@pytest.mark.parametrize('runtime_info', [True, False])
def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, data_root,
                                                       runtime_info):
    runner = build_runner(tmp_path, data_root, runtime_info)
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    msg = str(err.value)
    work = tmp_path / 'work'
    assert f'iteration {POISON_AT}' in msg and 'loss=nan' in msg
    assert str(work / 'iter_4.pth') in msg and '--resume' in msg
    assert msg.endswith(f"resume from it with a lower learning rate: `python tools/train.py "
                        f"{tmp_path / 'cfg.py'} --resume {work / 'iter_4.pth'} "
                        '--cfg-options optim_wrapper.optimizer.lr=0.005`.')
    assert runner.iter == POISON_AT - 1  # stopped inside iteration 6
    assert sorted(p for p in os.listdir(work) if p.endswith('.pth')) == \
        ['iter_2.pth', 'iter_4.pth']
    with open(work / 'last_checkpoint') as f:
        assert f.read().strip().endswith('iter_4.pth')
    good = torch.load(work / 'iter_4.pth', map_location='cpu',
                      weights_only=True)['state_dict']
    assert all(torch.isfinite(v).all() for v in good.values() if v.is_floating_point())
    # the live model is damaged: those weights must not be what was kept
    assert not torch.isfinite(runner.model.backbone.conv1.weight).all()


def test_interval_validation():
    with pytest.raises(ValueError, match='interval must be >= 1'):
        NonFiniteLossHook(interval=0)


def test_damaged_state_with_finite_loss_is_never_saved(tmp_path, data_root):
    runner = build_runner(tmp_path, data_root, True, poison='_TestPoisonStatsHook')
    with pytest.raises(NonFiniteStateError) as err:
        runner.train()
    work = tmp_path / 'work'
    assert str(err.value) == (
        'iter_4.pth was not saved: backbone.bn1.running_var holds 8 NaN and 0 inf of 8 '
        'values, after 4 iterations; training stopped; the last good checkpoint is '
        f"{work / 'iter_2.pth'}; resume from it with a lower learning rate: `python "
        f"tools/train.py {tmp_path / 'cfg.py'} --resume {work / 'iter_2.pth'} "
        '--cfg-options optim_wrapper.optimizer.lr=0.005`.')
    assert sorted(p for p in os.listdir(work) if p.endswith('.pth')) == ['iter_2.pth']
    with open(work / 'last_checkpoint') as f:
        assert f.read().strip() == str(work / 'iter_2.pth')


def _state_is_good(path) -> bool:
    state = torch.load(path, map_location='cpu', weights_only=True)['state_dict']
    return all(bool(v.abs().max() <= MAX_ABS) for v in state.values()
               if v.is_floating_point() and v.numel())


@pytest.mark.slow
def test_divergence_with_finite_losses_leaves_only_good_checkpoints(tmp_path, data_root):
    """The issue's run: lr=1e6 with one-iteration epochs (40 images, batch 40). No
    loss becomes NaN; the old guard let it finish with BN statistics of 1e24+ in
    every checkpoint. Now the save of a diverged state stops the run."""
    config = write_config(tmp_path / 'cfg.py', data_root, CASES['epoch'])
    work = tmp_path / 'work'
    proc = subprocess.run(train_cmd(
        config, work, '--cfg-options', 'optim_wrapper.optimizer.lr=1e6',
        'train_dataloader.batch_size=40', 'model.queue_len=40',
        'default_hooks.checkpoint.type=SafeCheckpointHook'),
        cwd=REPO, env=env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0, 'the diverged run finished: ' + proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith('slimselfsup.engine.hooks.nonfinite_loss_hook.'
                           'NonFiniteStateError: epoch_'), proc.stderr[-3000:]
    unsaved = line.split('NonFiniteStateError: ')[1].split(' ')[0]
    assert ' was not saved: backbone.' in line and 'training has diverged' in line
    assert not (work / unsaved).exists()
    kept = sorted(p for p in os.listdir(work) if p.endswith('.pth'))
    assert all(_state_is_good(work / p) for p in kept)
    if kept:  # the newest good one is named, and is what last_checkpoint says
        newest = max(kept, key=lambda p: int(p[6:-4]))
        assert f"the last good checkpoint is {work / newest}; resume from it" in line
        with open(work / 'last_checkpoint') as f:
            assert f.read().strip() == str(work / newest)


LR_LINE = re.compile(r'Epoch\(train\)\s*\[(\d+)\]\[\s*(\d+)/\s*\d+\]\s+lr: ([0-9.e+-]+)')


@pytest.mark.slow
def test_learning_rate_given_at_resume_takes_effect(tmp_path, data_root):
    """What the advice above says to do: resume with a lower learning rate. mmengine
    restored the checkpoint's optimizer param groups, so the old rate went on."""
    config = write_config(tmp_path / 'cfg.py', data_root, CASES['epoch'])
    straight = run_to_end(train_cmd(config, tmp_path / 'a'))
    ckpt = tmp_path / 'a' / 'epoch_2.pth'
    resumed = run_to_end(train_cmd(config, tmp_path / 'b', '--resume', str(ckpt),
                                   '--cfg-options', 'optim_wrapper.optimizer.lr=0.005'))
    lr_a = {(int(e), int(i)): float(lr) for e, i, lr in LR_LINE.findall(straight)}
    lr_b = {(int(e), int(i)): float(lr) for e, i, lr in LR_LINE.findall(resumed)}
    assert len(lr_a) == 15 and sorted(lr_b) == [(3, i) for i in range(1, 6)]
    for key, lr in lr_b.items():  # the same cosine schedule, a tenth of the rate
        assert lr == pytest.approx(lr_a[key] / 10, rel=1e-3), key
    assert ("resume: the configured learning rate (initial_lr 0.005) differs from the "
            f"checkpoint's (0.05) in {ckpt}; using the configured one") in resumed
    final = torch.load(tmp_path / 'b' / 'epoch_3.pth', map_location='cpu',
                       weights_only=True)
    assert final['optimizer']['param_groups'][0]['initial_lr'] == pytest.approx(0.005)
    assert final['param_schedulers'][0]['base_values'] == pytest.approx([0.005])
