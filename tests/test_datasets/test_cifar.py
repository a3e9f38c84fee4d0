"""CIFARBatches: the python batch format, written here from real CIFAR-10 JPEGs."""
import pickle
from pathlib import Path

import mmcv
import numpy as np
import pytest
from dataset_test_utils import CIFAR10_CLASSES, demo_images

from slimselfsup.datasets import CIFARBatches
from slimselfsup.registry import DATASETS


def load_rgb(paths) -> np.ndarray:
    return np.stack([mmcv.imread(str(p), channel_order='rgb') for p in paths])


def to_rows(rgb: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) RGB -> (N, 3072): row-major R, G and B planes."""
    return rgb.transpose(0, 3, 1, 2).reshape(len(rgb), -1)


def dump(path: Path, entry: dict, bytes_keys: bool = True) -> None:
    if bytes_keys:  # what python 3 gives when reading the official files
        entry = {k.encode(): v for k, v in entry.items()}
    path.write_bytes(pickle.dumps(entry))


def write_cifar10(root: Path, bytes_keys: bool = True) -> dict:
    """Five train batches and a test batch in the official layout."""
    folder = root / 'cifar-10-batches-py'
    folder.mkdir(parents=True)
    train = demo_images('train', per_class=3)  # 30 images, 6 per batch
    test = demo_images('test', per_class=2)
    rng = np.random.default_rng(0)
    train = [train[i] for i in rng.permutation(len(train))]
    for i in range(5):
        part = train[6 * i:6 * (i + 1)]
        dump(folder / f'data_batch_{i + 1}', {
            'batch_label': f'training batch {i + 1} of 5',
            'data': to_rows(load_rgb([p for p, _ in part])),
            'labels': [label for _, label in part],
        }, bytes_keys)
    dump(folder / 'test_batch', {
        'data': to_rows(load_rgb([p for p, _ in test])),
        'labels': [label for _, label in test],
    }, bytes_keys)
    names = [n.encode() if bytes_keys else n for n in CIFAR10_CLASSES]
    dump(folder / 'batches.meta', {'label_names': names, 'num_vis': 3072},
         bytes_keys)
    return dict(train=train, test=test)


@pytest.mark.parametrize('bytes_keys', [True, False])
def test_cifar10_round_trip(tmp_path, bytes_keys):
    written = write_cifar10(tmp_path, bytes_keys)
    for split in ('train', 'test'):
        ds = CIFARBatches(data_root=str(tmp_path), split=split)
        assert len(ds) == len(written[split])
        assert ds.metainfo['classes'] == CIFAR10_CLASSES
        for i, (path, label) in enumerate(written[split]):
            info = ds.get_data_info(i)
            assert info['gt_label'] == label
            # BGR by default, exactly what LoadImageFromFile gives
            np.testing.assert_array_equal(info['img'], mmcv.imread(str(path)))


def test_rgb_order_and_batch_folder_as_root(tmp_path):
    written = write_cifar10(tmp_path)
    ds = CIFARBatches(
        data_root=str(tmp_path / 'cifar-10-batches-py'),
        split='test',
        color_order='rgb')
    path, label = written['test'][3]
    np.testing.assert_array_equal(
        ds.get_data_info(3)['img'], mmcv.imread(str(path), channel_order='rgb'))


def test_cifar100_fine_labels(tmp_path):
    folder = tmp_path / 'cifar-100-python'
    folder.mkdir()
    images = demo_images('train', per_class=1)
    fine = [7 * label + 3 for _, label in images]  # any labels in 0..99
    entry = {
        'data': to_rows(load_rgb([p for p, _ in images])),
        'fine_labels': fine,
        'coarse_labels': [f // 5 for f in fine],
    }
    dump(folder / 'train', entry)
    dump(folder / 'test', entry)  # no meta file: the standard names are used
    ds = DATASETS.build(
        dict(
            type='CIFARBatches',
            data_root=str(tmp_path),
            variant='cifar100',
            pipeline=[dict(type='PackInputs')]))
    assert len(ds.metainfo['classes']) == 100
    item = ds[4]
    assert item['data_samples'].gt_label.item() == fine[4]
    assert tuple(item['inputs'].shape) == (3, 32, 32)
    np.testing.assert_array_equal(item['inputs'].permute(1, 2, 0).numpy(),
                                  mmcv.imread(str(images[4][0])))


def test_missing_batch_file(tmp_path):
    write_cifar10(tmp_path)
    (tmp_path / 'cifar-10-batches-py' / 'data_batch_3').unlink()
    with pytest.raises(FileNotFoundError, match='data_batch_3') as err:
        CIFARBatches(data_root=str(tmp_path), split='train')
    assert 'cifar-10-batches-py' in str(err.value)
    assert 'never downloads' in str(err.value)
    # the test split is complete and still loads
    assert len(CIFARBatches(data_root=str(tmp_path), split='test')) == 20


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match='cifar-100-python'):
        CIFARBatches(data_root=str(tmp_path / 'nowhere'), variant='cifar100')


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='split'):
        CIFARBatches(data_root=str(tmp_path), split='val')
    with pytest.raises(ValueError, match='variant'):
        CIFARBatches(data_root=str(tmp_path), variant='cifar20')
