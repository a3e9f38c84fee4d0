"""CIFARTensorDataset, pack_cifar_for_gpu.py and the GPU-augmentation recipe driven by
a real mmengine Runner (on CPU) over real CIFAR-10 JPEGs."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.runner import Runner
from realdata import DEMO
from torchvision.io import decode_jpeg

from slimselfsup.apis import load_config
from slimselfsup.registry import DATASETS

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    'pack_cifar_for_gpu', REPO / 'tools' / 'dataset_converters' /
    'pack_cifar_for_gpu.py')
pack_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pack_tool)
GPU_CONFIGS = [
    REPO / 'configs' / 'simclr' / 'simclr_resnet18-cifar_1xb512-gpuaug-bf16-coslr-200e_cifar10.py',
    REPO / 'configs' / 'mocov2' / 'mocov2_resnet18-cifar_1xb512-gpuaug-bf16-coslr-200e_cifar10.py',
]


@pytest.fixture(scope='module')
def pack(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('pack') / 'cifar.npz'
    pack_tool.pack(DEMO, str(out))
    return out


def test_pack_and_folder_give_the_same_images(pack):
    from_pack = DATASETS.build(dict(type='CIFARTensorDataset', data_root=str(pack),
                                    split='test', device='cpu'))
    from_folder = DATASETS.build(dict(type='CIFARTensorDataset', data_root=DEMO,
                                      split='test', device='cpu'))
    assert len(from_pack) == len(from_folder) == 1000
    assert torch.equal(from_pack.images, from_folder.images)
    assert torch.equal(from_pack.labels, from_folder.labels)
    assert from_pack.metainfo['classes'][0] == 'airplane'
    # Stored BGR, like LoadImageFromFile.
    first = sorted((Path(DEMO) / 'test' / 'airplane').glob('*.jpg'))[0]
    rgb = decode_jpeg(torch.frombuffer(bytearray(first.read_bytes()),
                                       dtype=torch.uint8))
    assert torch.equal(from_pack.images[0], rgb.flip(0))
    assert pack.stat().st_size < 4 * 2**20


def test_getitems_returns_a_whole_batch(pack):
    ds = DATASETS.build(dict(type='CIFARTensorDataset', data_root=str(pack),
                             device='cpu', indices=[0, 250, 1999]))
    batch = ds.__getitems__([2, 0])
    assert batch['inputs'].shape == (2, 3, 32, 32)
    assert batch['inputs'].dtype == torch.uint8
    assert [s.gt_label.item() for s in batch['data_samples']] == [9, 0]
    assert torch.equal(ds[1]['inputs'], ds.images[1])


def test_bad_sources_are_named(tmp_path, pack):
    with pytest.raises(FileNotFoundError, match='pack_cifar_for_gpu'):
        DATASETS.build(dict(type='CIFARTensorDataset',
                            data_root=str(tmp_path / 'x.npz')))
    with pytest.raises(KeyError, match="no split 'val'"):
        DATASETS.build(dict(type='CIFARTensorDataset', data_root=str(pack),
                            split='val', device='cpu'))
    with pytest.raises(ValueError, match='no per-sample pipeline'):
        DATASETS.build(dict(type='CIFARTensorDataset', data_root=str(pack),
                            pipeline=[dict(type='PackInputs')]))
    np.savez(tmp_path / 'other.npz', a=np.zeros(3))
    with pytest.raises(ValueError, match='not a slimselfsup-jpeg-pack'):
        DATASETS.build(dict(type='CIFARTensorDataset',
                            data_root=str(tmp_path / 'other.npz')))


@pytest.mark.parametrize('config', GPU_CONFIGS, ids=lambda p: p.parent.name)
def test_gpu_recipe_trains_under_the_runner(pack, tmp_path, config):
    """The shipped recipes, shrunk: tensor data set -> views made by the data
    preprocessor -> bf16 autocast SimCLR / MoCo v2 step, driven by mmengine's Runner."""
    cfg = load_config(str(config))
    cfg.work_dir = str(tmp_path)
    cfg.train_dataloader.batch_size = 16
    cfg.train_dataloader.dataset.update(data_root=str(pack), device='cpu',
                                        indices=48)
    cfg.model.backbone.update(stem_channels=8, base_channels=8)
    cfg.model.neck.update(in_channels=64, hid_channels=64)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
    cfg.param_scheduler = []
    cfg.custom_hooks = [dict(type='ChannelsLastHook')]  # no kNN monitor here
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = None
    runner = Runner.from_cfg(cfg)
    before = [p.detach().clone() for p in runner.model.backbone.parameters()]
    runner.train()
    assert runner.iter == 3  # 48 images / 16
    after = list(runner.model.backbone.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after))
    conv = runner.model.backbone.conv1.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert np.isfinite(loss) and loss > 0
