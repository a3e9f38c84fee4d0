"""Tests of the weighted kNN classifier and of feature extraction."""
import os
import os.path as osp
import re
import socket
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from PIL import Image
from realdata import CIFAR, make_subset  # noqa: E402

from slimselfsup.evaluation import (extract_features, knn_accuracy, knn_classify, knn_evaluate,
                                    pool_features)

REPO = Path(__file__).resolve().parents[2]
needs_cifar = pytest.mark.skipif(CIFAR is None, reason='no CIFAR-10 JPEG folders')


def loader_cfg(data_root: str, batch_size: int = 8, round_up: bool = True) -> dict:
    return dict(
        batch_size=batch_size,
        num_workers=0,
        dataset=dict(type='CustomDataset', data_root=data_root,
                     pipeline=[dict(type='LoadImageFromFile'),
                               dict(type='PackInputs')]),
        sampler=dict(type='DefaultSampler', shuffle=False, round_up=round_up),
        collate_fn=dict(type='default_collate'))


def tiny_classifier(with_neck: bool = False):
    from slimselfsup.registry import MODELS
    from slimselfsup.utils import register_all_modules
    register_all_modules()
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8),
        neck=dict(type='GlobalAveragePooling') if with_neck else None,
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[125.3, 123.0, 113.9],
                               std=[63.0, 62.1, 66.7], to_rgb=True)))


def build_loader(cfg: dict):
    from mmengine.runner import Runner
    return Runner.build_dataloader(cfg, seed=0)


def brute_force_scores(train, train_labels, test, num_classes, k, temperature):
    """Reference written plainly: full similarity matrix, loop over test points."""
    train = train / train.norm(dim=1, keepdim=True)
    test = test / test.norm(dim=1, keepdim=True)
    sim = test @ train.T
    scores = torch.zeros(len(test), num_classes)
    for i in range(len(test)):
        order = sim[i].argsort(descending=True)[:k]
        for j in order.tolist():
            scores[i, train_labels[j]] += torch.exp(sim[i, j] / temperature)
    return scores


def test_knn_hand_computed():
    train = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1]])
    labels = torch.tensor([0, 1, 2])
    test = torch.tensor([[2.0, 0.0]])  # normalised to (1, 0)
    scores = knn_classify(train, labels, test, num_classes=4, k=2, temperature=0.5)
    cos = 1 / np.sqrt(1.01)
    expected = torch.tensor([[np.exp(2.0), 0.0, np.exp(cos / 0.5), 0.0]],
                            dtype=torch.float32)
    torch.testing.assert_close(scores, expected)


@pytest.mark.parametrize('k,temperature', [(1, 0.07), (10, 0.07), (25, 0.5)])
def test_knn_matches_brute_force_random(k, temperature):
    g = torch.Generator().manual_seed(k)
    train, test = torch.randn(300, 16, generator=g), torch.randn(57, 16, generator=g)
    labels = torch.randint(0, 7, (300, ), generator=g)
    scores = knn_classify(train, labels, test, 7, k=k, temperature=temperature,
                          chunk_size=10)
    ref = brute_force_scores(train, labels, test, 7, k, temperature)
    torch.testing.assert_close(scores, ref, rtol=1e-5, atol=1e-6)
    assert torch.equal(scores.argmax(1), ref.argmax(1))


def test_knn_chunked_equals_unchunked():
    g = torch.Generator().manual_seed(0)
    train, test = torch.randn(500, 32, generator=g), torch.randn(301, 32, generator=g)
    labels = torch.randint(0, 10, (500, ), generator=g)
    full = knn_classify(train, labels, test, 10, k=20, chunk_size=len(test))
    for chunk_size in (1, 7, 64, 100, 128, 1000):
        assert torch.equal(knn_classify(train, labels, test, 10, k=20,
                                        chunk_size=chunk_size), full)


def test_knn_k_larger_than_bank_is_clipped():
    g = torch.Generator().manual_seed(1)
    train, test = torch.randn(12, 8, generator=g), torch.randn(5, 8, generator=g)
    labels = torch.arange(12) % 3
    with pytest.warns(UserWarning, match='using k=12'):
        clipped = knn_classify(train, labels, test, 3, k=200)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        exact = knn_classify(train, labels, test, 3, k=12)
    assert torch.equal(clipped, exact)
    torch.testing.assert_close(clipped, brute_force_scores(train, labels, test, 3, 12,
                                                           0.07))


def test_knn_bad_inputs():
    train, labels, test = torch.randn(10, 4), torch.zeros(10, dtype=torch.long), \
        torch.randn(3, 4)
    with pytest.raises(ValueError, match='must be 2-D'):
        knn_classify(train[0], labels, test, 2)
    with pytest.raises(ValueError, match='same feature dim'):
        knn_classify(train, labels, torch.randn(3, 5), 2)
    with pytest.raises(ValueError, match='one label per training'):
        knn_classify(train, labels[:9], test, 2)
    with pytest.raises(TypeError, match='integer'):
        knn_classify(train, labels.float(), test, 2)
    with pytest.raises(ValueError, match=r'lie in \[0, 2\)'):
        knn_classify(train, labels + 2, test, 2)
    with pytest.raises(ValueError, match='empty'):
        knn_classify(train[:0], labels[:0], test, 2)
    with pytest.raises(ValueError, match='k must be'):
        knn_classify(train, labels, test, 2, k=0)
    with pytest.raises(ValueError, match='temperature'):
        knn_classify(train, labels, test, 2, temperature=0)
    with pytest.raises(ValueError, match='one label per test'):
        knn_accuracy(train, labels, test, torch.zeros(4, dtype=torch.long), 2)


def test_knn_accuracy_topk():
    g = torch.Generator().manual_seed(2)
    train, test = torch.randn(200, 8, generator=g), torch.randn(40, 8, generator=g)
    train_labels = torch.randint(0, 6, (200, ), generator=g)
    test_labels = torch.randint(0, 6, (40, ), generator=g)
    scores = knn_classify(train, train_labels, test, 6, k=15)
    acc = knn_accuracy(train, train_labels, test, test_labels, 6, k=15)
    assert set(acc) == {'top1', 'top5'}
    expected_top1 = (scores.argmax(1) == test_labels).float().mean().item() * 100
    assert acc['top1'] == pytest.approx(expected_top1)
    assert 0 <= acc['top1'] <= acc['top5'] <= 100
    # fewer than 5 classes: top-1 only; labels infer num_classes
    acc = knn_accuracy(train, train_labels % 3, test, test_labels % 3, k=15)
    assert set(acc) == {'top1'}


@needs_cifar
def test_knn_on_real_cifar_pixels(tmp_path):
    """Raw 16x16 pixels of real CIFAR images: matches the reference, beats chance."""

    def load(split, per_class):
        root = Path(make_subset(tmp_path / split, split, per_class))
        feats, labels = [], []
        for label, cls in enumerate(sorted(os.listdir(root))):
            for f in sorted((root / cls).iterdir()):
                img = Image.open(f).convert('RGB').resize((16, 16))
                feats.append(np.asarray(img, dtype=np.float32).ravel())
                labels.append(label)
        feats = torch.from_numpy(np.stack(feats))
        return feats - feats.mean(1, keepdim=True), torch.tensor(labels)

    train, train_labels = load('train', 40)
    test, test_labels = load('test', 10)
    scores = knn_classify(train, train_labels, test, 10, k=20, chunk_size=16)
    ref = brute_force_scores(train, train_labels, test, 10, 20, 0.07)
    torch.testing.assert_close(scores, ref, rtol=1e-4, atol=1e-6)
    acc = knn_accuracy(train, train_labels, test, test_labels, 10, k=20)
    assert acc['top1'] > 15  # chance is 10 %
    assert acc['top5'] > acc['top1']


def test_pool_features():
    x = torch.randn(3, 5, 4, 4)
    torch.testing.assert_close(pool_features((torch.randn(3, 2, 8, 8), x)),
                               x.mean(dim=(2, 3)))
    y = torch.randn(3, 5)
    assert pool_features([y]) is y and pool_features(y) is y
    with pytest.raises(ValueError, match='cls_token'):
        pool_features(torch.randn(3, 4, 5))


@needs_cifar
@pytest.mark.parametrize('with_neck', [False, True])
def test_extract_features(tmp_path, with_neck):
    model = tiny_classifier(with_neck)
    loader = build_loader(loader_cfg(make_subset(tmp_path, 'test', 2), batch_size=6))
    model.train()
    feats, labels = extract_features(model, loader)
    assert model.training
    assert feats.shape == (20, 64) and labels.dtype == torch.long
    torch.testing.assert_close(feats.norm(dim=1), torch.ones(20))
    assert labels.tolist() == [i // 2 for i in range(20)]
    # same as a plain forward pass over the whole dataset in eval mode
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(next(iter(build_loader(
            loader_cfg(loader.dataset.data_root, batch_size=20)))), False)
        ref = model.extract_feat(data['inputs'])[-1]
    ref = F.normalize(ref.mean(dim=(2, 3)) if ref.dim() == 4 else ref, dim=1)
    torch.testing.assert_close(feats, ref, rtol=1e-4, atol=1e-5)
    assert not model.training  # eval mode is kept when the model was in eval


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world_size, port, data_root, state_dict, out_dir):
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=world_size)
    torch.set_num_threads(1)
    model = tiny_classifier()
    model.load_state_dict(state_dict)
    out = {}
    for round_up in (True, False):
        loader = build_loader(loader_cfg(data_root, batch_size=2, round_up=round_up))
        out[round_up] = extract_features(model, loader)
    torch.save(out, osp.join(out_dir, f'rank{rank}.pth'))
    dist.destroy_process_group()


@pytest.mark.slow
@needs_cifar
def test_extract_features_distributed_equals_single(tmp_path):
    """Two gloo ranks on 9 images (odd, so DefaultSampler pads one duplicate)."""
    data_root = make_subset(tmp_path / 'data', 'test', 3, num_classes=3)
    model = tiny_classifier()
    feats, labels = extract_features(model, build_loader(loader_cfg(data_root)))
    assert len(labels) == 9
    # fork: the children inherit the imported libraries (spawn re-imports, ~15 s)
    mp.start_processes(_ddp_worker, nprocs=2, start_method='fork',
                       args=(2, _free_port(), data_root, model.state_dict(),
                             str(tmp_path)))
    for rank in range(2):
        out = torch.load(tmp_path / f'rank{rank}.pth')
        for round_up in (True, False):
            ddp_feats, ddp_labels = out[round_up]
            assert torch.equal(ddp_labels, labels)
            torch.testing.assert_close(ddp_feats, feats, rtol=1e-5, atol=1e-6)


@needs_cifar
def test_knn_evaluate(tmp_path):
    model = tiny_classifier()
    train = build_loader(loader_cfg(make_subset(tmp_path / 'train', 'train', 3)))
    val = build_loader(loader_cfg(make_subset(tmp_path / 'val', 'test', 2)))
    result = knn_evaluate(model, train, val, k=200, temperature=0.1)
    assert result['k'] == 30 and result['num_classes'] == 10
    assert (result['num_train'], result['num_val']) == (30, 20)
    train_feats, train_labels = extract_features(model, train)
    val_feats, val_labels = extract_features(model, val)
    with pytest.warns(UserWarning):
        direct = knn_accuracy(train_feats, train_labels, val_feats, val_labels, 10,
                              k=200, temperature=0.1)
    assert result['top1'] == direct['top1'] and result['top5'] == direct['top5']


KNN_EVAL = REPO / 'tools' / 'analysis_tools' / 'knn_eval.py'
TOOL_CONFIG = """
default_scope = 'slimselfsup'
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8),
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[125.3, 123.0, 113.9],
                           std=[63.0, 62.1, 66.7], to_rgb=True))
knn_loader = dict(
    batch_size=8, num_workers=0, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CustomDataset',
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]))
custom_hooks = [
    dict(type='KNNHook',
         train_dataloader=dict(knn_loader, dataset=dict(knn_loader['dataset'],
                                                        data_root={train!r})),
         val_dataloader=dict(knn_loader, dataset=dict(knn_loader['dataset'],
                                                      data_root={val!r})),
         k=200, temperature=0.07)
]
"""


def _load_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location('knn_eval', KNN_EVAL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@needs_cifar
def test_knn_eval_tool_end_to_end(tmp_path):
    import json
    import subprocess
    import sys
    train = make_subset(tmp_path / 'train', 'train', 3)
    val = make_subset(tmp_path / 'val', 'test', 2)
    config = tmp_path / 'tiny_knn.py'
    config.write_text(TOOL_CONFIG.format(train=train, val=val))
    model = tiny_classifier()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, tmp_path / 'tiny.pth')

    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep)
                       if p]))
    proc = subprocess.run(
        [sys.executable, str(KNN_EVAL), str(config), str(tmp_path / 'tiny.pth'),
         '--k', '5', '--temperature', '0.1', '--work-dir', str(tmp_path / 'out')],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(next((tmp_path / 'out').glob('knn_eval_*.json')).read_text())
    assert (result['k'], result['temperature']) == (5, 0.1)  # CLI beats the hook's
    assert (result['num_train'], result['num_val'], result['num_classes']) == \
        (30, 20, 10)

    train_feats, train_labels = extract_features(model, build_loader(loader_cfg(train)))
    val_feats, val_labels = extract_features(model, build_loader(loader_cfg(val)))
    direct = knn_accuracy(train_feats, train_labels, val_feats, val_labels, 10, k=5,
                          temperature=0.1)
    assert result['top1'] == pytest.approx(direct['top1'])
    assert result['top5'] == pytest.approx(direct['top5'])
    assert re.search(rf"\| top-1 +\| +{direct['top1']:.2f} \|", proc.stdout)
    assert 'kNN (k=5, T=0.1) top-1' in proc.stdout


def test_knn_eval_tool_needs_knn_hook(tmp_path):
    from mmengine.config import Config
    config = tmp_path / 'no_knn.py'
    config.write_text("model = dict(type='ImageClassifier')\n"
                      "custom_hooks = [dict(type='EMAHook')]\n")
    with pytest.raises(ValueError, match=r'no KNNHook in custom_hooks[\s\S]*'
                                         r"dict\(type='KNNHook'"):
        _load_tool().find_knn_hook(Config.fromfile(config))
