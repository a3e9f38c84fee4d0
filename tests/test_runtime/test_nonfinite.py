"""A NaN loss stops training with a clear message and keeps the last good checkpoint.

A real mmengine run of the tiny MoCo v2 of ``test_kill_resume`` (real images,
iteration checkpoints every 2 iterations) is made to diverge: a hook writes ``inf``
into the first conv before iteration 6, so that iteration's loss is NaN and its
update damages every weight. ``NonFiniteLossHook`` must raise before
``CheckpointHook`` saves, naming the iteration and ``iter_4.pth``.
"""
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from slimselfsup.engine.hooks import NonFiniteLossError, NonFiniteLossHook
from slimselfsup.registry import HOOKS, RUNNERS
from test_kill_resume import CASES, data_root, write_config  # noqa: F401

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


def build_runner(tmp_path, data_root, runtime_info: bool, interval: int = 1):
    case = dict(CASES['iter'], interval=2)
    cfg = Config.fromfile(write_config(tmp_path / 'cfg.py', data_root, case))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.log_level = 'WARNING'
    cfg.default_hooks.nonfinite_loss = dict(type='NonFiniteLossHook',
                                            interval=interval)
    if not runtime_info:
        cfg.default_hooks.runtime_info = None
    cfg.custom_hooks = [dict(type='_TestPoisonHook')]
    return RUNNERS.build(cfg)


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
