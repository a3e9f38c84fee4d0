"""ImageFolder: CustomDataset on class folders, with clear errors for bad input."""
import shutil

import pytest
from dataset_test_utils import CIFAR10_CLASSES, DEMO_ROOT, demo_images

from slimselfsup.datasets import ImageFolder
from slimselfsup.registry import DATASETS


def make_folders(root, classes=('cat', 'dog'), per_class=2, empty=()):
    """Class folders with real CIFAR-10 JPEGs copied in; ``empty`` ones get none."""
    images = demo_images('train', per_class=per_class)
    for cls in classes:
        (root / cls).mkdir(parents=True)
        if cls in empty:
            continue
        for path, label in images:
            if CIFAR10_CLASSES[label] == cls:
                shutil.copy(path, root / cls / path.name)
    return root


def test_demo_subset_labels():
    ds = DATASETS.build(
        dict(type='ImageFolder', data_root=str(DEMO_ROOT), data_prefix='test'))
    assert isinstance(ds, ImageFolder)
    assert len(ds) == 1000
    assert ds.metainfo['classes'] == CIFAR10_CLASSES
    info = ds.get_data_info(999)
    assert info['img_path'].endswith('truck/0099.jpg') and info['gt_label'] == 9


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        ImageFolder(data_root=str(tmp_path / 'data' / 'cifar10'), data_prefix='train')
    msg = str(err.value)
    assert str(tmp_path / 'data' / 'cifar10' / 'train') in msg
    assert 'data_root' in msg and '<class>/<image>' in msg and 'symlink' in msg


def test_empty_class_folder(tmp_path):
    make_folders(tmp_path / 'train', classes=('cat', 'dog', 'frog'), empty=('dog', ))
    (tmp_path / 'train' / 'dog' / 'notes.txt').write_text('not an image')
    with pytest.raises(ValueError, match='dog') as err:
        ImageFolder(data_root=str(tmp_path), data_prefix='train')
    assert str(tmp_path / 'train' / 'dog') in str(err.value)
    for full in ('cat', 'frog'):
        assert str(tmp_path / 'train' / full) not in str(err.value)


def test_no_image_at_all(tmp_path):
    make_folders(tmp_path / 'train', empty=('cat', 'dog'))
    with pytest.raises(ValueError, match='no image'):
        ImageFolder(data_root=str(tmp_path), data_prefix='train')


def test_good_folder_and_unlabelled(tmp_path):
    make_folders(tmp_path / 'train', per_class=3)
    ds = ImageFolder(data_root=str(tmp_path), data_prefix='train')
    assert len(ds) == 6 and ds.metainfo['classes'] == ('cat', 'dog')
    assert [ds.get_data_info(i)['gt_label'] for i in range(6)] == [0] * 3 + [1] * 3
    flat = ImageFolder(data_root=str(tmp_path), data_prefix='train', with_label=False)
    assert len(flat) == 6 and 'gt_label' not in flat.get_data_info(0)
