"""The base dataset configs, built on the committed real CIFAR-10 demo subset."""
import copy
import random

import mmcv
import numpy as np
import pytest
import torch
from dataset_test_utils import DEMO_ROOT, REPO_ROOT, demo_images
from mmcv.transforms import Compose
from mmengine import Config
from mmengine.runner import Runner

from slimselfsup.datasets import ImageFolder
from slimselfsup.datasets.transforms import ColorJitter
from slimselfsup.registry import DATASETS, MODELS

CONFIG_DIR = REPO_ROOT / 'configs' / '_base_' / 'datasets'
CIFAR_SSL = ('cifar10_bs256_mocov2', 'cifar10_bs512_simclr', 'cifar10_bs256_mocov3')
IMAGENET_SSL = ('imagenet_bs32_mocov2', 'imagenet_bs256_simclr', 'imagenet_bs512_mocov3')


def load(name: str) -> Config:
    return Config.fromfile(str(CONFIG_DIR / f'{name}.py'))


def seed_all(seed: int) -> None:
    random.seed(seed)  # RandomGrayscale draws from `random`
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_on_demo(dataset_cfg: dict):
    cfg = copy.deepcopy(dataset_cfg)
    cfg['data_root'] = str(DEMO_ROOT)
    return DATASETS.build(cfg)


def walk(transform):
    """Yield a transform and every transform nested in it."""
    yield transform
    for attr in ('pipelines', 'transforms'):
        sub = getattr(transform, attr, None)
        for child in (sub if isinstance(sub, (list, tuple)) else [sub]):
            if child is not None:
                yield from walk(child)


@pytest.fixture(scope='module')
def colourful_images() -> list:
    """Real BGR images whose channels clearly differ (not grayscale already)."""
    imgs = [mmcv.imread(str(p)) for p, _ in demo_images('train', per_class=4)]
    imgs = [i for i in imgs if np.abs(np.diff(i.astype(int), axis=2)).max() > 20]
    assert len(imgs) >= 30
    return imgs


@pytest.mark.parametrize('name', CIFAR_SSL)
def test_cifar_ssl_two_views(name):
    cfg = load(name)
    ds = build_on_demo(cfg.train_dataloader.dataset)
    assert isinstance(ds, ImageFolder) and len(ds) == 2000
    jitters = [t for t in walk(ds.pipeline) if 'ColorJitter' in type(t).__name__]
    assert jitters and all(type(t) is ColorJitter for t in jitters)
    seed_all(0)
    for idx in (0, 1234):
        views = ds[idx]['inputs']
        assert len(views) == 2
        for view in views:
            assert view.shape == (3, 32, 32) and view.dtype == torch.uint8
        assert not torch.equal(views[0], views[1])


@pytest.mark.parametrize('name', CIFAR_SSL)
def test_cifar_ssl_loader_and_preprocessor(name):
    cfg = load(name)
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.update(batch_size=4, num_workers=0, persistent_workers=False)
    loader_cfg.dataset.data_root = str(DEMO_ROOT)
    seed_all(0)
    batch = next(iter(Runner.build_dataloader(loader_cfg)))
    assert [tuple(v.shape) for v in batch['inputs']] == [(4, 3, 32, 32)] * 2
    data = MODELS.build(cfg.data_preprocessor)(batch)
    for view in data['inputs']:
        assert view.dtype == torch.float32 and view.abs().mean() < 3


def test_mocov3_views_are_asymmetric():
    ds = build_on_demo(load('cifar10_bs256_mocov3').train_dataloader.dataset)
    multiview = ds.pipeline.transforms[1]
    assert multiview.num_views == [1, 1] and len(multiview.pipelines) == 2
    first, second = multiview.pipelines
    assert repr(first) != repr(second)
    solarize = [[t.prob for t in p.transforms if type(t).__name__ == 'Solarize']
                for p in (first, second)]
    assert solarize == [[0.], [0.2]]

    cfg = load('imagenet_bs512_mocov3')
    probs = [{t['type']: t.get('prob') for t in view}
             for view in (cfg.view_pipeline1, cfg.view_pipeline2)]
    assert [(p['GaussianBlur'], p['Solarize']) for p in probs] == [(1., 0.), (.1, .2)]


@pytest.mark.parametrize('name', IMAGENET_SSL)
def test_imagenet_pipelines_run(name):
    cfg = load(name)
    assert cfg.train_dataloader.dataset.type == 'ImageNet'
    assert cfg.train_dataloader.batch_size == cfg.train_batch_size_per_gpu
    pipeline = Compose(cfg.train_pipeline)
    # slimselfsup's ColorJitter: a `mmpretrain::` base would build mmpretrain's, whose
    # hue shift fails under numpy >= 2
    jitters = [t for t in walk(pipeline) if 'ColorJitter' in type(t).__name__]
    assert jitters and all(type(t) is ColorJitter for t in jitters)
    seed_all(0)
    views = pipeline(dict(img_path=str(demo_images()[0][0])))['inputs']
    assert [tuple(v.shape) for v in views] == [(3, 224, 224)] * 2
    assert not torch.equal(views[0], views[1])


def test_grayscale_and_jitter_probabilities(colourful_images):
    view_pipeline = load('cifar10_bs256_mocov2').view_pipeline
    views = Compose(view_pipeline)
    jitter = Compose([view_pipeline[1]])  # RandomApply(ColorJitter, p=0.8)
    seed_all(0)
    gray = changed = 0
    draws = 200
    for i in range(draws):
        img = colourful_images[i % len(colourful_images)]
        out = views(dict(img=img.copy()))['img']
        assert out.shape == (32, 32, 3) and out.dtype == np.uint8
        gray += bool((out[..., 0] == out[..., 1]).all() and
                     (out[..., 1] == out[..., 2]).all())
        changed += not np.array_equal(jitter(dict(img=img.copy()))['img'], img)
    # Binomial(200, p): 3.5 standard deviations is about +-0.1 here.
    assert 0.1 <= gray / draws <= 0.3
    assert 0.7 <= changed / draws <= 0.9


def test_eval_config():
    cfg = load('cifar10_bs256')
    assert cfg.data_preprocessor.type == 'ClsDataPreprocessor'
    assert cfg.val_evaluator == dict(type='Accuracy', topk=(1, ))
    assert not cfg.knn_train_dataloader.sampler.shuffle
    knn_train = build_on_demo(cfg.knn_train_dataloader.dataset)
    knn_val = build_on_demo(cfg.knn_val_dataloader.dataset)
    assert (len(knn_train), len(knn_val)) == (2000, 1000)
    item = knn_val[5]
    expected = mmcv.imread(item['data_samples'].img_path).transpose(2, 0, 1)
    np.testing.assert_array_equal(item['inputs'].numpy(), expected)  # unaugmented

    seed_all(0)
    probe = build_on_demo(cfg.train_dataloader.dataset)[0]['inputs']
    assert probe.shape == (3, 32, 32) and probe.dtype == torch.uint8
    val = build_on_demo(cfg.val_dataloader.dataset)
    assert len(val) == 1000 and val[0]['inputs'].shape == (3, 32, 32)
