"""tools/train.py folds its command-line options into the config as mmpretrain's."""
import importlib.util
import os.path as osp
import sys

import pytest
import torch
from realdata import REPO

from slimselfsup.apis import load_config

CFG = osp.join(REPO, 'configs/mocov2/mocov2_resnet18-cifar_1xb512-coslr-200e_cifar10.py')
GPU_CFG = osp.join(REPO, 'configs/mocov2/'
                   'mocov2_resnet18-cifar_1xb512-gpuaug-bf16-coslr-200e_cifar10.py')


def load_train():
    spec = importlib.util.spec_from_file_location('train_tool',
                                                  osp.join(REPO, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_options_reach_the_config(monkeypatch):
    train = load_train()
    monkeypatch.setattr('sys.argv', ['train.py', CFG, '--amp', '--resume', '--work-dir',
                                     'wd', '--auto-scale-lr', '--no-validate'])
    args = train.parse_args()
    cfg = train.merge_args(load_config(CFG), args)
    assert (cfg.work_dir, cfg.resume, cfg.load_from) == ('wd', True, None)
    assert cfg.auto_scale_lr.enable is True and cfg.val_dataloader is None
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        assert cfg.optim_wrapper.type == 'BF16OptimWrapper'
    else:  # fp16 needs dynamic loss scaling
        assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
        assert cfg.optim_wrapper.loss_scale == 'dynamic'


def test_amp_keeps_a_configured_mixed_precision_wrapper(monkeypatch):
    train = load_train()
    monkeypatch.setattr('sys.argv', ['train.py', GPU_CFG, '--amp', '--resume', 'x.pth'])
    cfg = train.merge_args(load_config(GPU_CFG), train.parse_args())
    assert cfg.optim_wrapper.type == 'BF16OptimWrapper'
    assert (cfg.resume, cfg.load_from) == (True, 'x.pth')
    assert cfg.work_dir.endswith(osp.splitext(osp.basename(GPU_CFG))[0])


def test_tensorboard_option_adds_the_backend(monkeypatch):
    train = load_train()
    monkeypatch.setattr('sys.argv', ['train.py', CFG, '--tensorboard'])
    cfg = train.merge_args(load_config(CFG), train.parse_args())
    types = [b['type'] for b in cfg.visualizer.vis_backends]
    assert types == ['LocalVisBackend', 'TensorboardVisBackend']
    # applied twice (tools/pipeline.py on a config that already has it): still once
    cfg = train.merge_args(cfg, train.parse_args())
    assert [b['type'] for b in cfg.visualizer.vis_backends].count('TensorboardVisBackend') == 1


def test_tensorboard_option_without_the_package_says_how_to_install(monkeypatch):
    train = load_train()
    monkeypatch.setitem(sys.modules, 'tensorboard', None)  # `import tensorboard` fails
    monkeypatch.setattr('sys.argv', ['train.py', CFG, '--tensorboard'])
    with pytest.raises(ImportError, match=r'--tensorboard needs the tensorboard package: '
                       r'`pip install tensorboard`'):
        train.merge_args(load_config(CFG), train.parse_args())
