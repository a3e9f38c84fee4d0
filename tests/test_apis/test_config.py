"""Config loading rejects typos, and overrides of config variables, with messages
that name the key."""
import ast
import glob
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
from mmengine.config import Config

from slimselfsup.apis import load_config
from slimselfsup.apis.config import _config_files, runtime_keys, variable_keys

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


DEMO_CFG = osp.join(REPO, 'configs/demo/simclr_resnet18_1xb256-coslr-12e_cifar10-mini.py')
CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                                      recursive=True) if '/_base_/' not in p)


def test_config_variable_override_names_the_keys_to_set():
    """`max_epochs=2` was accepted and the demo still trained 12 epochs."""
    with pytest.raises(KeyError) as err:
        load_config(DEMO_CFG, {'max_epochs': 2})
    assert str(err.value) == (
        "\"--cfg-options max_epochs=2: 'max_epochs' is a variable of the config file: "
        'it was used while the file was parsed and nothing reads it afterwards, so '
        'overriding it would change nothing; set the keys computed from it instead: '
        'param_scheduler.1.T_max (now 11), param_scheduler.1.end (now 12), '
        'train_cfg.max_epochs (now 12), default_hooks.checkpoint.interval (now 12), '
        f'custom_hooks.0.interval (now 12). ({DEMO_CFG})"')
    # a part of a helper dict, through `dict(knn_loader, ...)` in both kNN loaders
    with pytest.raises(KeyError, match=r'knn_loader\.batch_size=8: .* instead: '
                       r'custom_hooks\.0\.train_dataloader\.batch_size \(now 250\), '
                       r'custom_hooks\.0\.val_dataloader\.batch_size \(now 250\)\.'):
        load_config(DEMO_CFG, {'knn_loader.batch_size': 8})
    # set in a base file, but the demo replaced the only key that used it
    with pytest.raises(KeyError, match='train_batch_size_per_gpu=8: .*no setting of '
                       'the config uses it'):
        load_config(DEMO_CFG, {'train_batch_size_per_gpu': 8})
    # what the message says to do works
    cfg = load_config(DEMO_CFG, {'train_cfg.max_epochs': 2, 'param_scheduler.1.T_max': 1,
                                 'param_scheduler.1.end': 2})
    assert cfg.train_cfg.max_epochs == 2 and cfg.param_scheduler[1].end == 2


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_every_config_variable_override_is_rejected(path):
    """All top-level variables of a config at once: one error naming each, and
    every key it suggests exists."""
    cfg = Config.fromfile(path)
    variables = [k for k in cfg.keys() if k not in runtime_keys()]
    assert 'model' not in variables and 'train_cfg' not in variables
    if not variables:
        return
    with pytest.raises(KeyError) as err:
        load_config(path, {var: 1 for var in variables})
    for var in variables:
        assert f"--cfg-options {var}=1: '{var}' is a variable of the config file" in \
            str(err.value)
        for key in variable_keys(cfg, var):
            node = cfg
            for part in key:
                node = node[part]  # exists


def _leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, path + (key, ))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _leaves(value, path + (i, ))
    else:
        yield path, node


@pytest.fixture(scope='module')
def config_copy(tmp_path_factory):
    copy = tmp_path_factory.mktemp('copy')
    shutil.copytree(osp.join(REPO, 'configs'), copy / 'configs')
    return copy


@pytest.mark.parametrize('name', [  # one or two per family and the data set bases
    'demo/simclr_resnet18_1xb256-coslr-12e_cifar10-mini.py',
    'simclr/simclr_resnet18-cifar_1xb512-gpuaug-bf16-coslr-200e_cifar10.py',
    'mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py',
    'mocov3/mocov3_vit-small-p16_16xb256-amp-coslr-300e_in1k.py',
    'flatclr/flatclr_resnet18-cifar_1xb128-lars-sqrtlr-200e_cifar10.py',
    'slimclr/slimclr-mocov2_slimmable-resnet18-cifar_1xb512-coslr-200e_cifar10.py',
    'seed/seed_resnet18-cifar_1xb512-r50-cifar-mocov2-teacher-coslr-200e_cifar10.py',
    'seed/seed_efficientnet-b0_8xb32-r50w2-swav-teacher-small-patch-coslr-800e_in1k.py',
    'tec/tec-mae_vit-tiny-p4_1xb256-amp-coslr-200e_cifar10.py',
    'tec/benchmarks/vit-tiny-p4_1xb256-ld065-coslr-100e_cifar10.py',
    'mocov2/benchmarks/resnet18-cifar_linear-1xb256-coslr-100e_cifar10.py',
    'benchmarks/mmdetection/mask-rcnn_r18-fpn_syncbn_1xb8-24e_balloon.py'])
def test_named_keys_are_exactly_those_the_variable_changes(name, config_copy):
    """Independent of the syntax-tree analysis: change a variable's literal value
    in every file of (a copy of) the config and its bases, let mmengine parse the
    config again, and compare: the settings that changed are exactly those under
    the keys the error names."""
    path = str(config_copy / 'configs' / name)
    cfg = Config.fromfile(path)
    before = dict(_leaves(cfg.to_dict()))
    files = [f for f in _config_files(path) if f.startswith(str(config_copy))]
    checked = 0
    for var in [k for k in cfg.keys() if k not in runtime_keys()]:
        originals = {}
        for file in files:
            text = open(file).read()
            lines = text.splitlines(True)
            nodes = [stmt.value for stmt in ast.parse(text).body
                     if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant)
                     and type(stmt.value.value) in (int, float, str)
                     and any(getattr(t, 'id', None) == var for t in stmt.targets)]
            for node in sorted(nodes, key=lambda n: -n.lineno):
                value = node.value
                new = value + 1000 if isinstance(value, int) else value * 3 + 1 \
                    if isinstance(value, float) else value + '_changed'
                first, last = lines[node.lineno - 1], lines[node.end_lineno - 1]
                lines[node.lineno - 1:node.end_lineno] = [
                    first[:node.col_offset] + repr(new) + last[node.end_col_offset:]]
            if nodes:
                originals[file] = text
                with open(file, 'w') as f:
                    f.write(''.join(lines))
        if not originals:
            continue  # not a literal, or only in mmdet's own files
        try:
            after = dict(_leaves(Config.fromfile(path).to_dict()))
        finally:
            for file, text in originals.items():
                with open(file, 'w') as f:
                    f.write(text)
        changed = {p for p in set(before) | set(after)
                   if p[0] in runtime_keys() and before.get(p, KeyError) != after.get(
                       p, KeyError)}
        keys = variable_keys(cfg, var)
        assert {p for p in changed if not any(p[:len(k)] == k for k in keys)} == set(), var
        assert [k for k in keys if not any(p[:len(k)] == k for p in changed)] == [], var
        checked += 1
    if 'demo' in path:
        # data_root, max_epochs, dataset_type, color_strength, train_batch_size_per_gpu
        assert checked == 5


@pytest.mark.slow
def test_train_rejects_a_config_variable_before_training(tmp_path):
    proc = _train(DEMO_CFG, '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
                  'max_epochs=2', cwd=REPO)
    assert proc.returncode != 0
    assert ("KeyError: \"--cfg-options max_epochs=2: 'max_epochs' is a variable of the "
            'config file') in proc.stderr
    assert 'train_cfg.max_epochs (now 12)' in proc.stderr
    assert not (tmp_path / 'wd').exists()


def test_missing_config_file():
    with pytest.raises(FileNotFoundError, match='config file not found'):
        load_config('configs/simclr/nope.py')


def _train(*args, cwd):
    paths = [REPO] + [osp.abspath(p) for p in os.environ.get('PYTHONPATH', '').split(
        os.pathsep) if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    return subprocess.run([sys.executable, osp.join(REPO, 'tools/train.py'), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_train_with_missing_data_root_names_the_folder(tmp_path):
    proc = _train(CFG, '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
                  'train_dataloader.dataset.data_root=no/such/cifar',
                  'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
                  cwd=str(tmp_path))
    assert proc.returncode != 0
    assert 'no/such/cifar' in proc.stderr
    assert 'FileNotFoundError' in proc.stderr


@pytest.mark.slow
def test_train_with_unknown_model_type(tmp_path):
    proc = _train(CFG, '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
                  'model.type=SimCRL', cwd=str(tmp_path))
    assert proc.returncode != 0
    assert 'SimCRL is not in the' in proc.stderr
