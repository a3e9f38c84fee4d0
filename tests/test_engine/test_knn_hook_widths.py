"""KNNHook(widths=...): kNN of every width of a slimmable model (SlimCLR), on real
CIFAR-10 images."""
import copy
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
from slimselfsup.models.slimmable import SlimmableMixin, set_width
from slimselfsup.utils import register_all_modules

pytestmark = [pytest.mark.skipif(CIFAR is None, reason='no CIFAR-10 JPEG folders'),
              pytest.mark.slow]  # subprocess or end-to-end runs
WIDTHS = (1.0, 0.5, 0.25)


def loader_cfg(data_root: str, shuffle: bool = False) -> dict:
    return dict(
        batch_size=8, num_workers=0,
        dataset=dict(type='CustomDataset', data_root=data_root,
                     pipeline=[dict(type='LoadImageFromFile'),
                               dict(type='PackInputs')]),
        sampler=dict(type='DefaultSampler', shuffle=shuffle),
        collate_fn=dict(type='default_collate'))


class TinySlimSelfSup(BaseSelfSupervisor):
    """A stand-in slimmable pretraining algorithm (no ``set_width`` of its own)."""

    def loss(self, inputs, data_samples):
        return dict(loss=self.extract_feat(inputs)[-1].pow(2).mean())


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('cifar')
    return dict(train=make_subset(root / 'train', 'train', 3),
                val=make_subset(root / 'val', 'test', 2))


def build_runner(work_dir, data, widths=WIDTHS, model=None, load_from=None, **hook_args):
    register_all_modules()
    torch.manual_seed(0)
    model = model or TinySlimSelfSup(
        backbone=dict(type='SlimmableResNetCIFAR', depth=18, widths=(1.0, 0.5, 0.25),
                      stem_channels=8, base_channels=8),
        data_preprocessor=dict(mean=[125.3, 123.0, 113.9], std=[63.0, 62.1, 66.7],
                               to_rgb=True))
    hook = dict(type='KNNHook', train_dataloader=loader_cfg(data['train']),
                val_dataloader=loader_cfg(data['val']), k=10, interval=1, widths=widths,
                **hook_args)
    return Runner(
        model=model, work_dir=str(work_dir), experiment_name=f'knnw_{uuid.uuid4().hex}',
        train_dataloader=loader_cfg(data['train'], shuffle=True),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        default_hooks=dict(checkpoint=None), custom_hooks=[hook], load_from=load_from,
        visualizer=dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')]),
        default_scope='slimselfsup')


def widths_of(model):
    return {m.width for m in model.modules() if isinstance(m, SlimmableMixin)}


def test_knn_per_width_logged_and_exact(tmp_path, data):
    runner = build_runner(tmp_path, data)
    runner.train()
    hub = runner.message_hub
    assert widths_of(runner.model) == {1.0}  # restored after the evaluation
    for w in WIDTHS:
        top1, top5 = (hub.get_scalar(f'knn/top{k}_w{w}').current() for k in (1, 5))
        assert 0 <= top1 <= top5 <= 100
        # recompute at this width by hand
        set_width(runner.model, w)
        feats = [extract_features(runner.model, Runner.build_dataloader(loader_cfg(d)))
                 for d in (data['train'], data['val'])]
        direct = knn_accuracy(*feats[0], *feats[1], 10, k=10, temperature=0.07)
        assert (top1, top5) == (direct['top1'], direct['top5'])
        assert feats[0][0].shape[1] == int(64 * w)
    set_width(runner.model, 1.0)
    assert hub.get_scalar('knn/top1').current() == \
        hub.get_scalar('knn/top1_w1.0').current()

    hook = next(h for h in runner.hooks if isinstance(h, KNNHook))
    assert list(hook.last_results) == list(WIDTHS)
    log = next(Path(runner.log_dir).glob('*.log')).read_text()
    line = re.search(r'Epoch\(knn\) \[1\] kNN \(k=10, T=0.07\) on 20 images \| '
                     r'w1.0 top-1 [\d.]+ top-5 [\d.]+ \| w0.5 top-1 [\d.]+ top-5 '
                     r'[\d.]+ \| w0.25 top-1 [\d.]+ top-5 [\d.]+', log)
    assert line is not None

    # a model left at another width gets that width back
    set_width(runner.model, 0.25)
    hook.evaluate(runner, step=2)
    assert widths_of(runner.model) == {0.25}


def test_knn_width_errors(tmp_path, data):
    runner = build_runner(tmp_path, data, widths=(1.0, 0.75))
    hook = next(h for h in runner.hooks if isinstance(h, KNNHook))
    with pytest.raises(ValueError, match=r'width 0.75 is not in .*\[1.0, 0.5, 0.25\]'):
        hook.evaluate(runner, step=1)
    assert widths_of(runner.model) == {1.0}

    plain = TinySlimSelfSup(backbone=dict(type='ResNet', depth=18, stem_channels=8,
                                          base_channels=8))
    runner = build_runner(tmp_path / 'plain', data, widths=(1.0, ), model=plain)
    hook = next(h for h in runner.hooks if isinstance(h, KNNHook))
    with pytest.raises(TypeError, match='no slimmable layers|has none'):
        hook.evaluate(runner, step=1)
    with pytest.raises(ValueError, match='widths'):
        KNNHook(dict(), dict(), widths=[])


class SnapshotHook(Hook):
    """Keeps the weights the model has when training starts."""

    def before_train(self, runner) -> None:
        self.state = copy.deepcopy(runner.model.state_dict())


def test_random_baseline_table(tmp_path, data):
    """``random_baseline=True``: kNN per width of the weights as initialised, taken
    before the first step, and one table of trained vs. random top-1 at the end."""
    runner = build_runner(tmp_path, data, random_baseline=True)
    snapshot = SnapshotHook()
    runner.register_hook(snapshot, priority='VERY_HIGH')  # runs before KNNHook
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, KNNHook))
    assert list(hook.baseline_results) == list(WIDTHS)

    initial = copy.deepcopy(runner.model)
    initial.load_state_dict(snapshot.state)
    loaders = [Runner.build_dataloader(loader_cfg(d)) for d in (data['train'], data['val'])]
    for w in WIDTHS:
        set_width(initial, w)
        feats = [extract_features(initial, loader) for loader in loaders]
        direct = knn_accuracy(*feats[0], *feats[1], 10, k=10, temperature=0.07)
        assert hook.baseline_results[w]['top1'] == direct['top1']

    log = next(Path(runner.log_dir).glob('*.log')).read_text()
    rows = ''.join(f"\n| {str(w):^5} | {hook.last_results[w]['top1']:7.2f} | "
                   f"{hook.baseline_results[w]['top1']:14.2f} |" for w in WIDTHS)
    assert ('Epoch(knn) [1] kNN top-1 (k=10, T=0.07) on 20 images, trained vs. random '
            'weights\n| width | trained | random weights |' + rows) in log
    assert 'random weights: kNN (k=10, T=0.07) on 20 images | w1.0 top-1' in log


def test_no_random_baseline_from_loaded_weights(tmp_path, data):
    runner = build_runner(tmp_path, data)
    runner.train()
    ckpt = tmp_path / 'w.pth'
    torch.save({'state_dict': runner.model.state_dict()}, ckpt)
    again = build_runner(tmp_path / 'again', data, load_from=str(ckpt),
                         random_baseline=True)
    again.train()
    hook = next(h for h in again.hooks if isinstance(h, KNNHook))
    assert hook.baseline_results == {}
    log = next(Path(again.log_dir).glob('*.log')).read_text()
    assert 'KNNHook: no random-weight baseline, training starts from loaded weights' in log
