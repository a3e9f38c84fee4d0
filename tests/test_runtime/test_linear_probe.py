"""Pretrain -> linear probe: the frozen backbone really comes from the checkpoint;
``tools/test.py`` evaluates the probe's checkpoint with only the test split on disk
and refuses a pretraining checkpoint."""
import ast
import os
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from slimselfsup.apis import load_config
from slimselfsup.registry import RUNNERS

pytestmark = pytest.mark.slow  # subprocess or end-to-end runs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'demo', 'cifar10-mini')
SMALL = dict(stem_channels=16, base_channels=16)


def _pretrain(work_dir: str) -> str:
    cfg = load_config(
        osp.join(REPO, 'configs/simclr/simclr_resnet18-cifar_1xb512-coslr-200e_cifar10.py'))
    cfg.model.backbone.update(SMALL)
    cfg.model.neck.update(in_channels=128, hid_channels=64)
    cfg.train_dataloader.update(batch_size=16, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.update(data_root=DEMO, indices=32)
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = []
    cfg.custom_hooks = []
    cfg.work_dir = work_dir
    RUNNERS.build(cfg).train()
    return osp.join(work_dir, 'epoch_1.pth')


def test_linear_probe_loads_pretrained_backbone_and_trains(tmp_path):
    ckpt = _pretrain(str(tmp_path / 'pretrain'))
    pretrained = torch.load(ckpt, map_location='cpu')['state_dict']

    cfg = load_config(osp.join(
        REPO, 'configs/mocov2/benchmarks/'
        'resnet18-cifar_linear-1xb256-coslr-100e_cifar10.py'))
    cfg.model.backbone.update(SMALL)
    cfg.model.backbone.init_cfg.checkpoint = ckpt
    cfg.model.head.in_channels = 128
    for loader, n in ((cfg.train_dataloader, 40), (cfg.val_dataloader, 20)):
        loader.update(batch_size=20, num_workers=0, persistent_workers=False)
        loader.dataset.update(data_root=DEMO, indices=n)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.update(max_epochs=2, val_interval=1)
    cfg.optim_wrapper.optimizer.lr = 0.5
    cfg.work_dir = str(tmp_path / 'linear')
    runner = RUNNERS.build(Config(cfg.to_dict()))
    runner.train()

    backbone = runner.model.backbone.state_dict()
    for name, value in backbone.items():
        # weights and BN statistics equal the pretrained ones: loaded, then frozen
        assert torch.equal(value, pretrained['backbone.' + name]), name
    head = runner.model.head.fc.weight
    assert head.requires_grad and head.abs().sum() > 0
    metrics = runner.test()
    assert 0 <= metrics['accuracy/top1'] <= 100


LINEAR = osp.join(REPO, 'configs/mocov2/benchmarks/'
                  'resnet18-cifar_linear-1xb256-coslr-100e_cifar10.py')


@pytest.fixture(scope='module')
def probe(tmp_path_factory):
    """A pretraining checkpoint and a linear probe trained from it (in-process)."""
    tmp = tmp_path_factory.mktemp('probe')
    ckpt = _pretrain(str(tmp / 'pretrain'))
    cfg = load_config(LINEAR)
    cfg.model.backbone.update(SMALL)
    cfg.model.backbone.init_cfg.checkpoint = ckpt
    cfg.model.head.in_channels = 128
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.update(batch_size=20, num_workers=0, persistent_workers=False)
        loader.dataset.update(data_root=DEMO, indices=40)
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.work_dir = str(tmp / 'linear')
    runner = RUNNERS.build(Config(cfg.to_dict()))
    runner.train()
    # a data root with the test split only: 10 real images per class
    for cls in sorted(os.listdir(osp.join(DEMO, 'test'))):
        os.makedirs(tmp / 'data' / 'test' / cls)
        for name in sorted(os.listdir(osp.join(DEMO, 'test', cls)))[:10]:
            os.symlink(osp.join(DEMO, 'test', cls, name), tmp / 'data' / 'test' / cls / name)
    return dict(tmp=tmp, pretrain=ckpt, linear=str(tmp / 'linear' / 'epoch_1.pth'),
                model=runner.model, data=str(tmp / 'data'))


def _test_py(checkpoint, probe, *extra, options=()):
    options = [*options, 'model.backbone.stem_channels=16', 'model.backbone.base_channels=16',
               'model.head.in_channels=128', f"test_dataloader.dataset.data_root={probe['data']}",
               'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
    return subprocess.run(
        [sys.executable, osp.join(REPO, 'tools/test.py'), LINEAR, checkpoint,
         '--work-dir', str(probe['tmp'] / 'test'), *extra, '--cfg-options', *options],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1'))


def test_test_py_needs_only_the_test_split(probe):
    """It used to evaluate every image, then crash building the train loop (the
    `window_size='global'` log setting reads runner.iter) before printing."""
    out = probe['tmp'] / 'preds.pkl'
    proc = _test_py(probe['linear'], probe, '--out', str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not osp.exists(osp.join(probe['data'], 'train'))
    metrics = ast.literal_eval(proc.stdout.strip().splitlines()[-1])
    with open(out, 'rb') as f:
        dumped = pickle.load(f)
    # the same predictions as the trained probe's own forward pass, by hand
    model = probe['model'].eval()
    loader = dict(load_config(LINEAR).test_dataloader, num_workers=0,
                  persistent_workers=False, batch_size=25)
    loader['dataset'] = dict(loader['dataset'], data_root=probe['data'])
    scores, labels = [], []
    with torch.no_grad():
        for data in RUNNERS.get('SelfSupRunner').build_dataloader(loader):
            data = model.data_preprocessor(data, False)
            scores.append(model(data['inputs'], mode='tensor').softmax(1))
            labels += [int(s.gt_label) for s in data['data_samples']]
    scores = torch.cat(scores)
    assert len(dumped) == len(labels) == 100
    torch.testing.assert_close(torch.stack([d['pred_score'] for d in dumped]), scores)
    top1 = 100 * (scores.argmax(1) == torch.tensor(labels)).float().mean().item()
    assert metrics == {'accuracy/top1': pytest.approx(top1)}


def test_test_py_refuses_a_pretraining_checkpoint(probe):
    """It used to load it non-strictly and print the accuracy of a random head (a
    train split is given here so that the old code got that far)."""
    proc = _test_py(probe['pretrain'], probe,
                    options=[f'train_dataloader.dataset.data_root={DEMO}'])
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"RuntimeError: checkpoint {probe['pretrain']} does not fit the model of {LINEAR}: "
        "2 missing keys ['head.fc.bias', 'head.fc.weight'], "), last
    assert ('This one has no trained head: it looks like a pretraining checkpoint. Train '
            f'the linear probe from it first (`python tools/train.py {LINEAR} '
            f"--cfg-options model.backbone.init_cfg.checkpoint={probe['pretrain']}`) "
            "and test the probe's checkpoint") in last
    assert 'accuracy' not in proc.stdout
