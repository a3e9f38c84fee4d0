"""TSVDataset and tools/dataset_converters/folder2tsv.py on real CIFAR-10 JPEGs."""
import base64
import importlib.util
import os
import pickle
from pathlib import Path

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config

from slimselfsup.datasets import TSVDataset
from slimselfsup.registry import DATASETS

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / 'demo' / 'cifar10-mini' / 'test'
_spec = importlib.util.spec_from_file_location(
    'folder2tsv', REPO / 'tools' / 'dataset_converters' / 'folder2tsv.py')
folder2tsv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folder2tsv)


@pytest.fixture(scope='module')
def folder(tmp_path_factory) -> Path:
    """3 classes x 4 real images (symlinks)."""
    root = tmp_path_factory.mktemp('imgs')
    for cls in sorted(os.listdir(DEMO))[:3]:
        (root / cls).mkdir()
        for name in sorted(os.listdir(DEMO / cls))[:4]:
            (root / cls / name).symlink_to(DEMO / cls / name)
    return root


@pytest.fixture(scope='module')
def tsv(folder, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('tsv') / 'train.tsv'
    assert folder2tsv.main([str(folder), str(out)]) == 0
    return out


def test_round_trip_gives_the_original_images_and_labels(folder, tsv):
    assert tsv.with_suffix('.lineidx').is_file()
    classes = tsv.with_name('train.labelmap.txt').read_text().split()
    assert classes == sorted(os.listdir(folder))
    ds = TSVDataset(ann_file=str(tsv), classes=str(tsv.with_name('train.labelmap.txt')))
    assert len(ds) == 12 and ds.CLASSES == tuple(classes)
    for i in (0, 5, 11):  # random access through the line index
        info = ds.get_data_info(i)
        cls, name = info['img_path'].split('/')
        assert info['gt_label'] == classes.index(cls)
        expected = mmcv.imread(str(folder / cls / name))
        assert np.array_equal(info['img'], expected) and info['img'].shape == (32, 32, 3)
    clone = pickle.loads(pickle.dumps(ds))  # what a data loader worker receives
    assert clone._fp is None and np.array_equal(clone.get_data_info(5)['img'],
                                                ds.get_data_info(5)['img'])
    raw = TSVDataset(ann_file=str(tsv), decode=False).get_data_info(11)
    assert raw['img_bytes'] == (folder / raw['img_path']).read_bytes()


def test_lineidx_is_generated_when_missing(tsv, tmp_path):
    copy = tmp_path / 'copy.tsv'
    copy.write_bytes(tsv.read_bytes())
    ds = TSVDataset(ann_file=str(copy))
    expected = tsv.with_suffix('.lineidx').read_text()
    assert (tmp_path / 'copy.lineidx').read_text() == expected
    assert np.array_equal(ds.get_data_info(7)['img'],
                          TSVDataset(ann_file=str(tsv)).get_data_info(7)['img'])


def corrupt(tsv: Path, tmp_path: Path, line: int, new: bytes) -> Path:
    lines = tsv.read_bytes().splitlines(keepends=True)
    lines[line - 1] = new
    out = tmp_path / 'bad.tsv'
    out.write_bytes(b''.join(lines))
    return out


@pytest.mark.parametrize('make_line,match', [
    (lambda ok: ok.replace(b'\t', b' '), 'expected >= 3 tab-separated columns'),
    (lambda ok: ok.replace(b'\t0\t', b'\tcat\t'), "label b'cat' is not an integer"),
    (lambda ok: ok[:-10] + b'!!!\n', 'not valid base64'),
    (lambda ok: ok.split(b'\t')[0] + b'\t0\t' + base64.b64encode(b'no image') + b'\n',
     'image does not decode'),
])
def test_corrupt_line_names_file_and_line(tsv, tmp_path, make_line, match):
    ok = tsv.read_bytes().splitlines(keepends=True)[2]
    bad = corrupt(tsv, tmp_path, 3, make_line(ok))
    ds = TSVDataset(ann_file=str(bad))  # its own, regenerated line index
    ds.get_data_info(1)  # other lines still read
    with pytest.raises(ValueError, match=f'{bad}, line 3.*{match}'):
        ds.get_data_info(2)


def test_missing_file_stale_index_and_bad_folder(tsv, tmp_path):
    with pytest.raises(FileNotFoundError, match='folder2tsv.py'):
        TSVDataset(ann_file=str(tmp_path / 'none.tsv'))
    short = tmp_path / 'short.tsv'
    short.write_bytes(tsv.read_bytes().splitlines(keepends=True)[0])
    (tmp_path / 'short.lineidx').write_text(tsv.with_suffix('.lineidx').read_text())
    with pytest.raises(ValueError, match='delete it to have it regenerated'):
        TSVDataset(ann_file=str(short))
    assert folder2tsv.main([str(tmp_path / 'nothing'), str(tmp_path / 'x.tsv')]) == 2


def test_seed_tsv_config_pipeline_gives_one_view(tsv):
    """The TSV data base of the SEED ImageNet configs, on real images."""
    cfg = Config.fromfile(str(REPO / 'configs' / '_base_' / 'datasets' /
                              'imagenet_bs32_seed-tsv.py'))
    dataset = cfg.train_dataloader.dataset
    dataset.update(data_root=str(tsv.parent), ann_file=tsv.name)
    ds = DATASETS.build(dataset)
    sample = ds[4]
    assert isinstance(sample['inputs'], list) and len(sample['inputs']) == 1
    assert sample['inputs'][0].shape == (3, 224, 224)
    assert sample['inputs'][0].dtype == torch.uint8
    assert int(sample['data_samples'].gt_label) == ds.get_data_info(4)['gt_label']
