"""The launchers users type: dist_train.sh (2 gloo processes) and SyncBN fallback."""
import glob
import os
import os.path as osp
import socket
import subprocess

import pytest
import torch
from mmengine.config import Config

from slimselfsup.apis import load_config
from slimselfsup.registry import RUNNERS

pytestmark = pytest.mark.slow  # subprocess or end-to-end runs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'demo', 'cifar10-mini')
CIFAR_CFG = osp.join(REPO, 'configs/mocov2/mocov2_resnet18-cifar_1xb512-coslr-200e_cifar10.py')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _env() -> dict:
    paths = [REPO] + [osp.abspath(p) for p in os.environ.get('PYTHONPATH', '').split(
        os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths), OMP_NUM_THREADS='1',
                PORT=str(_free_port()))


def test_dist_train_sh_two_processes(tmp_path):
    work_dir = tmp_path / 'wd'
    proc = subprocess.run(
        ['bash', osp.join(REPO, 'tools/dist_train.sh'), CIFAR_CFG, '2',
         '--work-dir', str(work_dir), '--cfg-options',
         'env_cfg.dist_cfg.backend=gloo', f'train_dataloader.dataset.data_root={DEMO}',
         'train_dataloader.dataset.indices=32', 'train_dataloader.batch_size=8',
         'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
         'model.queue_len=64', 'train_cfg.max_epochs=1', 'custom_hooks=[]',
         'default_hooks.logger.interval=1'],
        cwd=str(tmp_path), env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = torch.load(work_dir / 'epoch_1.pth', map_location='cpu')
    # 32 images, 2 ranks x 8 per step -> 2 steps, 16 gathered keys each
    assert int(ckpt['state_dict']['queue.ptr']) == 32
    # both ranks' generators are in the checkpoint (gathered before rank 0 saves)
    assert len(ckpt['rng_state']) == 2
    assert all(s['torch'].dtype == torch.uint8 for s in ckpt['rng_state'])
    logs = glob.glob(str(work_dir / '*' / '*.log'))
    assert logs and 'Distributed launcher: pytorch' in open(logs[0]).read() \
        or 'world_size: 2' in open(logs[0]).read()


def test_syncbn_config_falls_back_to_bn_on_one_process(tmp_path):
    cfg = load_config(osp.join(REPO, 'configs/simclr/simclr_resnet50_16xb256-coslr-200e_in1k.py'))
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    cfg.model.backbone.depth = 18
    cfg.model.neck.in_channels = 512
    cfg.train_dataloader = load_config(CIFAR_CFG).train_dataloader
    cfg.train_dataloader.dataset.update(data_root=DEMO, indices=8)
    cfg.train_dataloader.update(batch_size=8, num_workers=0, persistent_workers=False)
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = []
    cfg.work_dir = str(tmp_path)
    runner = RUNNERS.build(Config(cfg.to_dict()))
    runner.train()
    kinds = {type(m).__name__ for m in runner.model.modules()}
    assert 'SyncBatchNorm' not in kinds
    assert runner.iter == 1
