"""SlimGradHook in a real mmengine Runner on real CIFAR-10 images, and the plots."""
import importlib.util
import json
import os
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.runner import Runner
from mmpretrain.models import BaseSelfSupervisor
from PIL import Image

from slimselfsup.models.slimmable import set_width
from slimselfsup.registry import MODELS
from slimselfsup.utils import register_all_modules

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / 'demo' / 'cifar10-mini'
WIDTHS = (1.0, 0.5, 0.25)
pytestmark = pytest.mark.skipif(not (DEMO / 'train').is_dir(), reason='no demo images')


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        name, REPO / 'tools' / 'analysis_tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@MODELS.register_module(force=True)
class TinySlimSelfSup(BaseSelfSupervisor):
    """Every width forwarded, losses summed, one backward (SlimCLR's scheme)."""

    def loss(self, inputs, data_samples):
        x = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        total = 0
        for w in WIDTHS:
            set_width(self, w)
            z = torch.nn.functional.normalize(self.neck(self.backbone(x))[0], dim=1)
            total = total + (z @ z.t()).logsumexp(dim=1).mean()
        set_width(self, WIDTHS[0])
        return dict(loss=total)


def make_subset(dst: Path, per_class: int) -> str:
    for cls in sorted(os.listdir(DEMO / 'train')):
        (dst / cls).mkdir(parents=True)
        for name in sorted(os.listdir(DEMO / 'train' / cls))[:per_class]:
            (dst / cls / name).symlink_to(DEMO / 'train' / cls / name)
    return str(dst)


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    register_all_modules()
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp('slimgrad')
    model = TinySlimSelfSup(
        backbone=dict(type='SlimmableResNetCIFAR', depth=18, stem_channels=8,
                      base_channels=8, widths=WIDTHS),
        neck=dict(type='SlimmableMLPNeck', in_channels=64, hid_channels=32,
                  out_channels=16, widths=WIDTHS),
        data_preprocessor=dict(mean=[125.3, 123.0, 113.9], std=[63.0, 62.1, 66.7],
                               to_rgb=True))
    runner = Runner(
        model=model,
        work_dir=str(root / 'work'),
        experiment_name=f'slimgrad_{uuid.uuid4().hex}',
        train_dataloader=dict(
            batch_size=8, num_workers=0,
            dataset=dict(type='CustomDataset', data_root=make_subset(root / 'data', 2),
                         pipeline=[dict(type='LoadImageFromFile'),
                                   dict(type='PackInputs')]),
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=4),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        default_hooks=dict(checkpoint=None),
        custom_hooks=[dict(type='SlimGradHook', interval=2, save_fc_interval=1)],
        default_scope='slimselfsup')
    runner.train()
    torch.set_num_threads(threads)
    return runner


def test_hook_records(run):
    hub = run.message_hub
    for w in ('1.0', '0.5', '0.25'):
        norms = hub.get_scalar(f'grad/norm_w{w}').data[0]
        assert len(norms) == 2 and all(n > 0 for n in norms)  # read before zero_grad
        assert len(hub.get_scalar(f'grad/fc_sv1_w{w}').data[0]) == 2
    assert hub.get_scalar('grad/ratio_w1.0').current() == pytest.approx(1.0)
    assert 0 < hub.get_scalar('grad/ratio_w0.25').current() < \
        hub.get_scalar('grad/ratio_w0.5').current() < 1

    lines = Path(run.work_dir, 'slim_grads.jsonl').read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r['iter'] for r in records] == [2, 4]
    for r in records:
        assert {'iter', 'epoch', 'norm', 'ratio', 'rest', 'norm_full', 'fc_sv',
                'fc_name', 'widths'} <= set(r)
        assert set(r['norm']) == set(r['ratio']) == {'1.0', '0.5', '0.25'}
        assert r['fc_name'] == 'neck.mlp.3' and len(r['fc_sv']['0.5']) == 2

    fc = np.load(Path(run.work_dir, 'fc_grads.npz'))
    assert fc['iters'].tolist() == [1, 2, 3, 4]
    assert fc['grads'].shape == (4, 16, 32) and np.abs(fc['grads']).sum() > 0
    # the last layer keeps its 16 outputs; its input shrinks with the width
    assert fc['rows'].tolist() == [16, 16, 16] and fc['cols'].tolist() == [32, 16, 8]
    # the hooks are gone after training
    assert not run.optim_wrapper.optimizer._optimizer_step_pre_hooks


def test_plot_tool(run, tmp_path):
    work = Path(run.work_dir)
    paths = load_tool('plot_slim_grads').main(
        [str(work / 'slim_grads.jsonl'), str(work / 'fc_grads.npz'),
         '--out', str(tmp_path)])
    names = sorted(Path(p).name for p in paths)
    assert names == ['fc_grad_pca.png', 'fc_singular_values.png', 'grad_imbalance.png']
    for p in paths:
        assert os.path.getsize(p) > 0
        with Image.open(p) as img:
            img.load()
            assert img.size[0] > 100 and img.size[1] > 100
