"""Two Runners built in the same second of one process each log into their own work
dir (mmengine named both after the second, and the second run's log went into the
first run's file)."""
import glob
import os.path as osp
import time

from mmengine.config import Config
from realdata import DEMO

from slimselfsup.registry import RUNNERS
from slimselfsup.utils import register_all_modules


def _cfg(work_dir) -> Config:
    return Config(dict(
        default_scope='slimselfsup',
        runner_type='SelfSupRunner',  # one log per run, also within one second
        work_dir=str(work_dir),
        model=dict(
            type='SimCLR',
            data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[125.3, 123.0, 113.9],
                                   std=[63.0, 62.1, 66.7], to_rgb=True),
            backbone=dict(type='ResNet', depth=18, base_channels=8, stem_channels=8),
            neck=dict(type='NonLinearNeck', in_channels=64, hid_channels=16, out_channels=8,
                      num_layers=2, with_avg_pool=True),
            head=dict(type='NCEHead', loss=dict(type='InfoNCELoss', temperature=0.2))),
        train_dataloader=dict(
            batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            dataset=dict(type='ImageFolder', data_root=DEMO, data_prefix='test', indices=8,
                         pipeline=[dict(type='LoadImageFromFile'),
                                   dict(type='MultiView', num_views=2, transforms=[[
                                       dict(type='RandomFlip', prob=0.5)]]),
                                   dict(type='PackInputs')])),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=2),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                           checkpoint=dict(type='CheckpointHook', interval=100)),
        log_level='INFO'))


def test_runners_of_one_second_log_into_their_own_work_dirs(tmp_path, monkeypatch):
    register_all_modules()
    now = time.time()
    with monkeypatch.context() as m:  # both Runners start in the same second
        m.setattr(time, 'time', lambda: now)
        first = RUNNERS.build(_cfg(tmp_path / 'first'))
        second = RUNNERS.build(_cfg(tmp_path / 'second'))
    base = time.strftime('%Y%m%d_%H%M%S', time.localtime(now))
    # earlier Runners of this process may hold the plain name already
    assert first.timestamp.startswith(base) and second.timestamp.startswith(base + '-')
    assert second.timestamp != first.timestamp
    assert second.logger is not first.logger
    for runner in (first, second):
        runner.train()
    for name, runner in (('first', first), ('second', second)):
        logs = glob.glob(osp.join(str(tmp_path / name), '*', '*.log'))
        assert len(logs) == 1, logs
        with open(logs[0]) as f:
            text = f.read()
        assert f"work_dir = '{tmp_path / name}'" in text  # the config dump of this run
        assert len([line for line in text.splitlines() if '(train) [1][2/2]' in line]) == 1
