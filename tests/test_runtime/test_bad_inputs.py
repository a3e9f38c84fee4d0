"""Bad inputs not covered elsewhere: each gives an error that names the thing.

The full table, with links to the tests of the other rows, is docs/reliability.md.
"""
import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from test_kill_resume import CASES, CIFAR, ITER_LINE, REPO, env, train_cmd, write_config

from slimselfsup.apis import load_config
from slimselfsup.apis.model_zoo import load_checkpoint_file
from slimselfsup.registry import DATASETS, MODELS, RUNNERS


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


# --- issue 12: errors that did not name the thing -------------------------------------

def run_fails(cmd: list, **kwargs) -> str:
    """Run a tool as a real process that must fail; its stdout + stderr."""
    proc = subprocess.run(cmd, cwd=REPO, env=env(), capture_output=True, text=True,
                          timeout=300, **kwargs)
    assert proc.returncode != 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout + proc.stderr


def copy_data(data_root: str, dst: Path) -> Path:
    shutil.copytree(data_root, dst, symlinks=True)
    return dst


@pytest.mark.slow
def test_zero_byte_image_is_named_in_a_real_run(tmp_path, data_root):
    """OpenCV asserted `!buf.empty()` with no path; through worker processes too."""
    root = copy_data(data_root, tmp_path / 'data')
    cls = sorted(os.listdir(root / 'train'))[3]
    empty = root / 'train' / cls / sorted(os.listdir(root / 'train' / cls))[1]
    empty.unlink()
    empty.write_bytes(b'')  # every image is loaded in the first epoch
    config = write_config(tmp_path / 'cfg.py', str(root), CASES['epoch'])
    out = run_fails(train_cmd(config, tmp_path / 'work', '--cfg-options',
                              'train_dataloader.num_workers=2'))
    assert (f'ValueError: LoadImageFromFile: image file {empty} is empty (0 bytes); '
            'delete it or replace it with an intact copy') in out


def test_zero_byte_image_is_named_by_our_readers(tmp_path, data_root):
    from slimselfsup.datasets.lmdb_dataset import read_image_file
    root = copy_data(data_root, tmp_path / 'data')
    empty = root / 'train' / 'cat' / 'zero.jpg'
    empty.write_bytes(b'')
    with pytest.raises(ValueError, match=f'CIFARTensorDataset: image file {empty} is '
                       r'empty \(0 bytes\)'):
        DATASETS.build(dict(type='CIFARTensorDataset', data_root=str(root),
                            device='cpu'))
    with pytest.raises(ValueError, match=f"'{empty}' is empty \\(0 bytes\\); remove "
                       'it or pass --no-check'):  # folder2lmdb's reader
        read_image_file((str(root / 'train'), 'cat/zero.jpg', True))


@pytest.mark.slow
def test_non_numeric_lr_is_named_before_training(tmp_path, data_root):
    """torch failed with `'<' not supported between 'str' and 'float'`."""
    config = write_config(tmp_path / 'cfg.py', data_root, CASES['iter'])
    out = run_fails(train_cmd(config, tmp_path / 'work', '--cfg-options',
                              'optim_wrapper.optimizer.lr=abc'))
    assert ("TypeError: optim_wrapper.optimizer.lr='abc' is not a number, but SGD "
            "takes a number for 'lr'; give one, e.g. --cfg-options "
            'optim_wrapper.optimizer.lr=0.001') in out
    assert not ITER_LINE.search(out)


@pytest.mark.slow
def test_hook_argument_typo_fails_before_training(tmp_path, data_root):
    """mmengine's CheckpointHook takes **kwargs and passed the typo to
    save_checkpoint: the run failed at its first save, after the training."""
    config = write_config(tmp_path / 'cfg.py', data_root, CASES['iter'])
    Path(config).write_text(Path(config).read_text().replace('max_keep_ckpts=2',
                                                             'max_keep_ckpt=2'))
    out = run_fails(train_cmd(config, tmp_path / 'work'))
    assert ("TypeError: default_hooks.checkpoint: CheckpointHook has no argument "
            "'max_keep_ckpt'; did you mean 'max_keep_ckpts'?") in out
    assert not ITER_LINE.search(out)


def test_hook_arguments_are_checked_against_the_class(tmp_path, data_root):
    cfg = Config.fromfile(write_config(tmp_path / 'cfg.py', data_root, CASES['iter']))
    cfg.work_dir, cfg.log_level = str(tmp_path / 'work'), 'WARNING'
    cfg.custom_hooks = [dict(type='EMAHook', momentum=0.01),  # EMA model's kwarg
                        dict(type='SafeCheckpointHook', intervall=2)]
    with pytest.raises(TypeError, match=r"custom_hooks.1: SafeCheckpointHook has no "
                       r"argument 'intervall'; did you mean 'interval'\?"):
        RUNNERS.build(cfg)
    cfg.custom_hooks[1] = dict(type='SafeCheckpointHook', interval='2')
    cfg.experiment_name = 'second'  # runners of one second would share the name
    with pytest.raises(TypeError, match=r"custom_hooks.1.interval='2' is not a number"):
        RUNNERS.build(cfg)
    cfg.custom_hooks = cfg.custom_hooks[:1]  # keyword arguments EMAHook passes on
    cfg.experiment_name = 'third'
    RUNNERS.build(cfg)


def truncated_checkpoint(path: Path) -> Path:
    torch.save({'state_dict': {'w': torch.randn(1000)}, 'meta': {}}, path)
    path.write_bytes(path.read_bytes()[:600])
    return path


@pytest.mark.slow
def test_knn_eval_names_a_truncated_checkpoint(tmp_path):
    """torch said `failed finding central directory`, naming no file."""
    config = tmp_path / 'knn.py'
    config.write_text(
        "default_scope = 'slimselfsup'\n"
        "model = dict(type='ImageClassifier', backbone=dict(type='ResNet', depth=18))\n"
        "custom_hooks = [dict(type='KNNHook', train_dataloader=None, "
        'val_dataloader=None)]\n')
    ckpt = truncated_checkpoint(tmp_path / 'epoch_1.pth')
    out = run_fails([sys.executable, str(REPO / 'tools/analysis_tools/knn_eval.py'),
                     str(config), str(ckpt)])
    assert f'RuntimeError: checkpoint {ckpt} cannot be loaded: it is truncated' in out
    assert 'central directory' not in out.split('RuntimeError: checkpoint')[-1]


def test_convert_ckpt_names_foreign_files_and_advises_trust_only_for_pickles(
        tmp_path, capsys):
    spec = importlib.util.spec_from_file_location('convert_ckpt',
                                                  REPO / 'tools' / 'convert_ckpt.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    jpeg = CIFAR / 'train' / 'cat' / sorted(os.listdir(CIFAR / 'train' / 'cat'))[0]
    truncated = truncated_checkpoint(tmp_path / 'ours.pth')
    for src, problem in ((jpeg, r"it is not a torch checkpoint \(it starts with "
                          r"b'\\xff\\xd8\\xff.*': a JPEG image\)"),
                         (truncated, 'it is truncated')):
        assert tool.main(['strip-prefix', str(src), str(tmp_path / 'out.pth')]) == 2
        err = capsys.readouterr().err
        assert re.search(f'checkpoint {re.escape(str(src))} cannot be loaded: '
                         f'{problem}', err), err
        assert '--trust' not in err
    pickled = tmp_path / 'official.pth'  # pickles an argparse Namespace
    torch.save({'state_dict': {'backbone.w': torch.ones(2)},
                'args': argparse.Namespace(lr=0.1)}, pickled)
    assert tool.main(['strip-prefix', str(pickled), str(tmp_path / 'out.pth')]) == 2
    assert 'NAME IN OUT --trust' in capsys.readouterr().err
    assert tool.main(['strip-prefix', str(pickled), str(tmp_path / 'out.pth'),
                      '--trust']) == 0


def test_truncated_init_cfg_checkpoint_is_named(tmp_path, data_root):
    """init_cfg=Pretrained (the linear probe's backbone) loads through mmengine."""
    ckpt = truncated_checkpoint(tmp_path / 'pretrain.pth')
    cfg = Config.fromfile(write_config(tmp_path / 'cfg.py', data_root, CASES['iter']))
    cfg.work_dir, cfg.log_level = str(tmp_path / 'work'), 'WARNING'
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(ckpt),
                                       prefix='backbone.')
    with pytest.raises(RuntimeError, match=f'checkpoint {ckpt} cannot be loaded: it '
                       'is truncated'):
        RUNNERS.build(cfg).train()


@pytest.mark.slow
def test_custom_imports_option_is_accepted_and_imported(tmp_path):
    """`--cfg-options custom_imports.imports=[...]` was rejected as a typo."""
    (tmp_path / 'my_ext_mod.py').write_text("print('my_ext_mod imported')\n")
    config = REPO / 'configs/simclr/simclr_resnet18-cifar_1xb512-coslr-200e_cifar10.py'
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools/misc/print_config.py'), str(config),
         '--cfg-options', 'custom_imports.imports=[my_ext_mod]'],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(env(), PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)])))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith('my_ext_mod imported\n')
    assert "custom_imports = dict(imports=[\n    'my_ext_mod',\n])" in proc.stdout
    with pytest.raises(KeyError, match="'custom_import' does not exist"):
        load_config(str(config), {'custom_import.imports': ['my_ext_mod']})


@pytest.mark.slow
def test_moco_partial_last_batch_fails_before_training(tmp_path, data_root):
    """40 images, batch 16, drop_last=False: the last batch of 8 leaves the queue
    pointer (queue 48) at 40, where the first batch of the next epoch does not fit;
    the run used to fail there, after a whole epoch, with a tensor shape error."""
    config = write_config(tmp_path / 'cfg.py', data_root, CASES['epoch'])
    out = run_fails(train_cmd(config, tmp_path / 'work', '--cfg-options',
                              'train_dataloader.batch_size=16',
                              'train_dataloader.drop_last=False'))
    assert ('ValueError: MoCoV2: the queue `queue` (model.queue_len=48) takes whole '
            'global batches of 16 keys, but the last batch of every epoch holds 8 x 1 '
            'process(es) = 8: train_dataloader.drop_last=False keeps the 8 samples per '
            'process that batch_size=16 leaves of 40 (40 in the data set)') in out
    assert 'Set train_dataloader.drop_last=True' in out
    assert not ITER_LINE.search(out)


def test_queue_length_not_a_multiple_of_the_batch_fails_before_training(tmp_path,
                                                                        data_root):
    cfg = Config.fromfile(write_config(tmp_path / 'cfg.py', data_root, CASES['epoch']))
    cfg.work_dir, cfg.log_level = str(tmp_path / 'work'), 'WARNING'
    cfg.train_dataloader.batch_size = 5  # 40 images: 8 whole batches
    with pytest.raises(ValueError, match=r'MoCoV2: the queue `queue` \(model.queue_len='
                       r'48\) must be a multiple of the global batch size, batch_size=5 '
                       r'x 1 process\(es\) = 5'):
        RUNNERS.build(cfg).train()


@pytest.mark.slow
@pytest.mark.parametrize('config', ['moco', 'demo'])
def test_batch_larger_than_the_data_set_is_an_error_before_any_save(
        config, tmp_path, data_root):
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
