"""Bad inputs not covered elsewhere: each gives an error that names the thing.

The full table, with links to the tests of the other rows, is docs/reliability.md.
"""
import os

import pytest
import torch
from mmengine.config import Config

from slimselfsup.apis.model_zoo import load_checkpoint_file
from slimselfsup.registry import DATASETS, MODELS, RUNNERS
from test_kill_resume import CASES, CIFAR, data_root, write_config  # noqa: F401


def test_corrupt_image_file_is_named(tmp_path):
    cls = sorted(os.listdir(CIFAR / 'train'))[0]
    (tmp_path / 'train' / 'good').mkdir(parents=True)
    (tmp_path / 'train' / 'bad').mkdir()
    name = sorted(os.listdir(CIFAR / 'train' / cls))[0]
    (tmp_path / 'train' / 'good' / name).symlink_to(CIFAR / 'train' / cls / name)
    broken = tmp_path / 'train' / 'bad' / 'broken.jpg'
    broken.write_bytes(b'\xff\xd8\xff\xe0' + bytes(range(256)) * 2)  # no JPEG body
    ds = DATASETS.build(dict(type='ImageFolder', data_root=str(tmp_path),
                             data_prefix='train',
                             pipeline=[dict(type='LoadImageFromFile')]))
    names = [os.path.basename(ds.get_data_info(i)['img_path']) for i in range(2)]
    ds[names.index(name)]  # the intact image loads
    with pytest.raises(AssertionError, match=f'failed to load image: {broken}'):
        ds[names.index('broken.jpg')]


def test_truncated_checkpoint_is_named(tmp_path):
    path = tmp_path / 'model.pth'
    torch.save({'state_dict': {'w': torch.randn(1000)}}, path)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(RuntimeError, match=f'checkpoint {path} cannot be loaded: it '
                       'is truncated'):
        load_checkpoint_file(str(path))


def test_resume_from_checkpoint_of_another_architecture(tmp_path, data_root):
    cfg = Config.fromfile(write_config(tmp_path / 'cfg.py', data_root, CASES['iter']))
    other = MODELS.build(dict(type='ResNet', depth=18))  # a plain classifier net
    ckpt = tmp_path / 'resnet18.pth'
    torch.save({'state_dict': {'backbone.' + k: v for k, v in
                               other.state_dict().items()}, 'meta': {}}, ckpt)
    cfg.work_dir, cfg.log_level = str(tmp_path / 'work'), 'WARNING'
    cfg.resume, cfg.load_from = True, str(ckpt)
    runner = RUNNERS.build(cfg)
    with pytest.raises(RuntimeError, match=f'cannot resume from {ckpt}: it does not '
                       r'fit this model[\s\S]*size mismatch for backbone.conv1'):
        runner.load_or_resume()


def test_wrong_init_cfg_prefix_is_named(tmp_path, data_root):
    """Through a real runner: the error names the prefix, the file and the
    prefixes the file has (mmengine alone asserts '<prefix> is not in ...')."""
    net = MODELS.build(dict(type='ResNet', depth=18, base_channels=8, stem_channels=8))
    ckpt = tmp_path / 'pretrain.pth'
    torch.save({'state_dict': {'backbone.' + k: v for k, v in
                               net.state_dict().items()}}, ckpt)
    cfg = Config.fromfile(write_config(tmp_path / 'cfg.py', data_root, CASES['iter']))
    cfg.work_dir, cfg.log_level = str(tmp_path / 'work'), 'WARNING'
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(ckpt),
                                       prefix='encoder_q.')
    runner = RUNNERS.build(cfg)
    with pytest.raises(ValueError, match=r"prefix='encoder_q.'\) matches no key of "
                       rf"{ckpt}; its keys start with \['backbone.'\]"):
        runner.train()
