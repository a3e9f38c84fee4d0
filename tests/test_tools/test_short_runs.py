"""short_runs.point_loaders_at with a CIFAR pack: two-view recipes move to the GPU
data path with the views of their CPU pipeline, the others read the pack unpacked
byte for byte into class folders."""
import filecmp
import sys
from pathlib import Path

import pytest
import torch
from realdata import pack_demo

from slimselfsup.apis import load_config
from slimselfsup.registry import DATASETS, MODELS

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / 'demo' / 'cifar10-mini'
sys.path.insert(0, str(REPO / 'tools' / 'benchmarks'))
import short_runs  # noqa: E402


@pytest.fixture(scope='module')
def pack(tmp_path_factory) -> Path:
    return Path(pack_demo(tmp_path_factory.mktemp('pack') / 'mini.npz'))


def test_two_view_recipe_moves_to_the_gpu_data_path(pack):
    cfg = load_config(REPO / 'configs' / 'simclr' /
                      'simclr_resnet18-cifar_1xb512-coslr-200e_cifar10.py')
    gpu = load_config(REPO / 'configs' / 'simclr' /
                      'simclr_resnet18-cifar_1xb512-gpuaug-bf16-coslr-200e_cifar10.py')
    short_runs.point_loaders_at(cfg, str(pack), smoke_images=16, smoke_batch=8)
    pre = cfg.model.data_preprocessor
    assert pre.type == 'GPUMultiViewDataPreprocessor' and pre.to_rgb
    assert (pre['mean'], pre['std']) == (gpu.data_preprocessor.mean,
                                         gpu.data_preprocessor.std)
    (view, ) = pre['views']
    assert {k: view[k] for k in gpu.data_preprocessor.views[0]} == dict(
        gpu.data_preprocessor.views[0])
    loader = cfg.train_dataloader
    assert loader.batch_size == 8 and loader.num_workers == 0
    assert loader.collate_fn == dict(type='pre_batched_collate')
    train = DATASETS.build(dict(loader.dataset, device='cpu'))
    knn = next(h for h in cfg.custom_hooks if h['type'] == 'KNNHook')
    test = DATASETS.build(dict(knn['val_dataloader']['dataset'], device='cpu'))
    assert len(train) == len(test) == 16 and knn['val_dataloader']['dataset'][
        'split'] == 'test'
    batch = train.__getitems__(list(range(8)))
    views = MODELS.build(pre)(batch, True)['inputs']
    assert [tuple(v.shape) for v in views] == [(8, 3, 32, 32)] * 2
    assert all(torch.isfinite(v).all() for v in views)


def test_other_recipes_read_the_pack_unpacked(pack, tmp_path):
    cfg = load_config(REPO / 'configs' / 'tec' /
                      'mae_vit-tiny-p4_1xb256-amp-coslr-400e_cifar10.py')
    folder = short_runs.unpack_cifar(str(pack), str(tmp_path / 'unpacked'))
    short_runs.point_loaders_at(cfg, str(pack))
    assert cfg.train_dataloader.dataset.type != 'CIFARTensorDataset'
    root = Path(cfg.train_dataloader.dataset.data_root)
    assert (root / 'train' / 'cat').is_dir()
    ours = sorted((Path(folder) / 'test' / 'frog').iterdir())
    theirs = sorted((DEMO / 'test' / 'frog').iterdir())
    assert len(ours) == len(theirs) == 100
    assert all(filecmp.cmp(a, b, shallow=False) for a, b in zip(ours, theirs))
