"""KNNHook inside a real mmengine Runner, on real CIFAR-10 images."""
import json
import re
import uuid
from pathlib import Path

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpretrain.models import BaseSelfSupervisor
from realdata import CIFAR, make_subset  # noqa: E402

from slimselfsup.engine.hooks import KNNHook
from slimselfsup.evaluation import extract_features, knn_accuracy
from slimselfsup.utils import register_all_modules

pytestmark = pytest.mark.skipif(CIFAR is None, reason='no CIFAR-10 JPEG folders')


def loader_cfg(data_root: str, shuffle: bool = False) -> dict:
    return dict(
        batch_size=8,
        num_workers=0,
        dataset=dict(type='CustomDataset', data_root=data_root,
                     pipeline=[dict(type='LoadImageFromFile'),
                               dict(type='PackInputs')]),
        sampler=dict(type='DefaultSampler', shuffle=shuffle),
        collate_fn=dict(type='default_collate'))


class TinySelfSup(BaseSelfSupervisor):
    """A stand-in pretraining algorithm: shrink the backbone's features."""

    def loss(self, inputs, data_samples):
        return dict(loss=self.extract_feat(inputs)[-1].pow(2).mean())


class ModeSpy(Hook):
    """Records whether the model is in train mode after the other hooks ran."""
    priority = 'LOWEST'

    def __init__(self):
        self.modes = []

    def after_train_epoch(self, runner):
        self.modes.append(runner.model.training)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('cifar')
    return dict(train=make_subset(root / 'train', 'train', 3),
                val=make_subset(root / 'val', 'test', 2))


def build_runner(work_dir, data, train_cfg, hook_cfg, extra_hooks=()):
    register_all_modules()
    torch.manual_seed(0)
    model = TinySelfSup(
        backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8),
        data_preprocessor=dict(mean=[125.3, 123.0, 113.9], std=[63.0, 62.1, 66.7],
                               to_rgb=True))
    return Runner(
        model=model,
        work_dir=str(work_dir),
        experiment_name=f'knn_{uuid.uuid4().hex}',
        train_dataloader=loader_cfg(data['train'], shuffle=True),
        train_cfg=train_cfg,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        default_hooks=dict(checkpoint=None),
        custom_hooks=[hook_cfg, *extra_hooks],
        visualizer=dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')]),
        default_scope='slimselfsup')


def knn_hook_cfg(data, **kwargs):
    return dict(type='KNNHook', train_dataloader=loader_cfg(data['train']),
                val_dataloader=loader_cfg(data['val']), k=10, **kwargs)


def test_knn_hook_by_epoch(tmp_path, data):
    spy = ModeSpy()
    runner = build_runner(tmp_path, data, dict(by_epoch=True, max_epochs=2),
                          knn_hook_cfg(data, interval=1), [spy])
    runner.train()

    assert spy.modes == [True, True]  # the hook gave the model back in train mode
    history = runner.message_hub.get_scalar('knn/top1').data[0]
    assert len(history) == 2 and all(0 <= v <= 100 for v in history)
    top1 = runner.message_hub.get_scalar('knn/top1').current()
    top5 = runner.message_hub.get_scalar('knn/top5').current()
    assert 0 <= top1 <= top5 <= 100

    # the last evaluation ran on the final weights: recompute it directly
    train_feats, train_labels = extract_features(
        runner.model, Runner.build_dataloader(loader_cfg(data['train'])))
    val_feats, val_labels = extract_features(
        runner.model, Runner.build_dataloader(loader_cfg(data['val'])))
    direct = knn_accuracy(train_feats, train_labels, val_feats, val_labels, 10,
                          k=10, temperature=0.07)
    assert top1 == direct['top1'] and top5 == direct['top5']
    hook = next(h for h in runner.hooks if isinstance(h, KNNHook))
    assert hook.last_result['num_train'] == 30 and hook.last_result['num_val'] == 20

    log = next(Path(runner.log_dir).glob('*.log')).read_text()
    lines = re.findall(r'kNN \(k=10, T=0.07\) top-1 (\d+\.\d\d) top-5 \d+\.\d\d '
                       r'on 20 images', log)
    assert len(lines) == 2 and float(lines[-1]) == pytest.approx(top1, abs=0.005)
    scalars = [json.loads(line) for line in
               (Path(runner.log_dir) / 'vis_data' / 'scalars.json').open()]
    knn = [s for s in scalars if 'knn/top1' in s]
    assert [s['step'] for s in knn] == [1, 2]


def test_knn_hook_by_iter(tmp_path, data):
    runner = build_runner(tmp_path, data, dict(by_epoch=False, max_iters=3),
                          knn_hook_cfg(data, interval=2, by_epoch=False))
    runner.train()
    assert len(runner.message_hub.get_scalar('knn/top1').data[0]) == 2  # iters 2, 3
    assert runner.model.training


def test_knn_hook_bad_args():
    with pytest.raises(ValueError, match='interval'):
        KNNHook(dict(), dict(), interval=0)
    with pytest.raises(ValueError, match='temperature'):
        KNNHook(dict(), dict(), temperature=0)
