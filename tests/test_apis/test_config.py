"""Config loading rejects typos with messages that name the key."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from slimselfsup.apis import load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = osp.join(REPO, 'configs/simclr/simclr_resnet18-cifar_1xb512-coslr-200e_cifar10.py')


def test_loads_and_overrides():
    cfg = load_config(CFG, {'train_cfg.max_epochs': 3, 'model.head.loss.temperature': 0.5})
    assert cfg.train_cfg.max_epochs == 3
    assert cfg.model.head.loss.temperature == 0.5
    assert cfg.default_scope == 'slimselfsup'


def test_misspelt_override_key_is_an_error():
    with pytest.raises(KeyError, match="did you mean 'max_epochs'"):
        load_config(CFG, {'train_cfg.max_epoch': 3})
    with pytest.raises(KeyError, match="'train_cfgs' does not exist"):
        load_config(CFG, {'train_cfgs.max_epochs': 3})


def test_new_override_keys_are_allowed():
    cfg = load_config(CFG, {'train_dataloader.dataset.indices': 10})
    assert cfg.train_dataloader.dataset.indices == 10


def test_misspelt_top_level_key_is_an_error(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text(f"_base_ = '{CFG}'\ntrain_dataloder = dict(batch_size=8)\n")
    with pytest.raises(KeyError, match="did you mean 'train_dataloader'"):
        load_config(str(bad))
    ok = tmp_path / 'ok.py'  # helper variables that merely contain a Runner key are fine
    ok.write_text(f"_base_ = '{CFG}'\nknn_train_dataloader2 = 1\n")
    load_config(str(ok))


def test_missing_config_file():
    with pytest.raises(FileNotFoundError, match='config file not found'):
        load_config('configs/simclr/nope.py')


def _train(*args, cwd):
    paths = [REPO] + [osp.abspath(p) for p in os.environ.get('PYTHONPATH', '').split(
        os.pathsep) if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    return subprocess.run([sys.executable, osp.join(REPO, 'tools/train.py'), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_train_with_missing_data_root_names_the_folder(tmp_path):
    proc = _train(CFG, '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
                  'train_dataloader.dataset.data_root=no/such/cifar',
                  'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
                  cwd=str(tmp_path))
    assert proc.returncode != 0
    assert 'no/such/cifar' in proc.stderr
    assert 'FileNotFoundError' in proc.stderr


def test_train_with_unknown_model_type(tmp_path):
    proc = _train(CFG, '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
                  'model.type=SimCRL', cwd=str(tmp_path))
    assert proc.returncode != 0
    assert 'SimCRL is not in the' in proc.stderr
