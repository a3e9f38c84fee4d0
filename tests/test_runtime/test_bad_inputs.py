"""Bad inputs not covered elsewhere: each gives an error that names the thing.

The full table, with links to the tests of the other rows, is docs/reliability.md.
"""
import os
import subprocess

import pytest
import torch
from mmengine.config import Config

from slimselfsup.apis.model_zoo import load_checkpoint_file
from slimselfsup.registry import DATASETS, MODELS, RUNNERS
from test_kill_resume import (CASES, CIFAR, REPO, data_root, env,  # noqa: F401
                              train_cmd, write_config)


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


@pytest.mark.parametrize('config', ['moco', 'demo'])
def test_batch_larger_than_the_data_set_is_an_error_before_any_save(config, tmp_path,
                                                                  data_root):
    """drop_last=True and a batch larger than the data set: no batch per epoch. The
    MoCo run used to exit 0 after zero iterations with untrained epoch_*.pth; the
    demo failed in a parameter scheduler with an unrelated assertion."""
    if config == 'moco':  # the tiny MoCo v2 of test_kill_resume on 40 real images
        path, size, batch = write_config(tmp_path / 'cfg.py', data_root,
                                         CASES['epoch']), 40, 64
    else:  # 2,000 images
        path, size, batch = str(REPO / 'configs/demo/simclr_resnet18_1xb256-coslr-12e_'
                                'cifar10-mini.py'), 2000, 4096
    work = tmp_path / 'work'
    proc = subprocess.run(train_cmd(path, work, '--cfg-options',
                                    f'train_dataloader.batch_size={batch}'),
                          cwd=REPO, env=env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert (f'ValueError: train_dataloader yields no batch per epoch: its data set has '
            f'{size} samples, batch_size={batch} and drop_last=True, so training would '
            'run zero iterations and save untrained checkpoints. Lower '
            f'train_dataloader.batch_size to at most {size}, or use a larger data '
            'set.') in proc.stderr
    assert not [p for p in os.listdir(work) if p.endswith('.pth')]
    assert not (work / 'last_checkpoint').exists()
