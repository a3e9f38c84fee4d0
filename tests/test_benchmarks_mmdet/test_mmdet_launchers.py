"""tools/benchmarks/mmdetection launchers: PRETRAIN reaches the backbone (and the C4
shared head), user --cfg-options still apply, and a real one-process run trains."""
import os
import os.path as osp
import socket
import subprocess

import pytest
import torch

pytestmark = pytest.mark.slow  # subprocess or end-to-end runs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools', 'benchmarks', 'mmdetection')
CFG_DIR = osp.join(REPO, 'configs', 'benchmarks', 'mmdetection')
BALLOON = osp.join(REPO, '..', 'shared', 'data', 'balloon')


def _options(config: str, pretrain: str, *args: str) -> list:
    proc = subprocess.run(
        ['bash', '-c', f'source {TOOLS}/pretrain_args.sh && pretrain_cfg_options "$@"',
         'x', osp.join(CFG_DIR, config), pretrain, *args],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_pretrain_options(tmp_path):
    ckpt = tmp_path / 'p.pth'
    ckpt.write_bytes(b'')
    fpn = _options('mask-rcnn_r50-fpn_syncbn_8xb8-1x_coco.py', str(ckpt), '--amp')
    assert fpn == ['--amp', '--cfg-options', f'model.backbone.init_cfg.checkpoint={ckpt}']
    c4 = _options('mask-rcnn_r50-c4_syncbn_8xb8-2x_coco.py', str(ckpt),
                  '--cfg-options', 'train_cfg.max_epochs=1')
    assert c4 == ['--cfg-options', f'model.backbone.init_cfg.checkpoint={ckpt}',
                  f'model.roi_head.shared_head.init_cfg.checkpoint={ckpt}',
                  'train_cfg.max_epochs=1']
    assert _options('mask-rcnn_r18-fpn_syncbn_8xb8-1x_coco.py', 'none') == \
        ['--cfg-options', 'model.backbone.init_cfg=None']
    proc = subprocess.run(['bash', osp.join(TOOLS, 'dist_train.sh'), 'c.py', '1',
                           str(tmp_path / 'missing.pth')], capture_output=True, text=True)
    assert proc.returncode != 0 and 'PRETRAIN checkpoint not found' in proc.stderr


@pytest.mark.skipif(not osp.isdir(BALLOON), reason=f'balloon data not found at {BALLOON}')
def test_dist_train_sh_one_cpu_process(tmp_path):
    """One gloo process through torch.distributed.run and tools/train.py."""
    from mmdet.models.backbones import ResNet
    backbone = ResNet(depth=18)
    ckpt = tmp_path / 'pretrain.pth'
    torch.save({'state_dict': {'backbone.' + k: v for k, v in
                               backbone.state_dict().items()}}, ckpt)
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS='1', PORT=str(port),
               PYTHONPATH=os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')]))
    work_dir = tmp_path / 'wd'
    proc = subprocess.run(
        ['bash', osp.join(TOOLS, 'dist_train.sh'),
         osp.join(CFG_DIR, 'mask-rcnn_r18-fpn_syncbn_1xb8-24e_balloon.py'), '1', str(ckpt),
         '--work-dir', str(work_dir), '--no-validate', '--cfg-options',
         f'train_dataloader.dataset.data_root={BALLOON}/',
         'train_dataloader.dataset.indices=1', 'train_dataloader.batch_size=1',
         'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
         'train_dataloader.dataset.pipeline.2.scale=(192,192)',
         'train_cfg.max_epochs=1', 'default_hooks.checkpoint.interval=1'],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = open(next(work_dir.glob('*/*.log'))).read()
    assert f'load backbone. in model from: {ckpt}' in log
    state = torch.load(work_dir / 'epoch_1.pth', map_location='cpu')['state_dict']
    assert 'backbone.layer4.1.conv2.weight' in state and 'roi_head.mask_head.conv_logits.weight' \
        in state
