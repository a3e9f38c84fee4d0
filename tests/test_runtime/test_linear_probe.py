"""Pretrain -> linear probe: the frozen backbone really comes from the checkpoint."""
import os.path as osp

import torch
from mmengine.config import Config

from slimselfsup.apis import load_config
from slimselfsup.registry import RUNNERS

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

