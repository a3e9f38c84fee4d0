"""LMDBDataset and tools/dataset_converters/folder2lmdb.py on real CIFAR-10 JPEGs:
round trips, multi-process and resumed conversions, damaged records."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import cv2
import lmdb
import numpy as np
import pytest
import torch
from dataset_test_utils import DEMO_ROOT

from slimselfsup.datasets import LMDBDataset
from slimselfsup.registry import DATASETS

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'tools' / 'dataset_converters' / 'folder2lmdb.py'
_spec = importlib.util.spec_from_file_location('folder2lmdb', SCRIPT)
folder2lmdb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folder2lmdb)

CLASSES = ('airplane', 'bird', 'cat')  # a subset keeps the tests fast
PER_CLASS = 12


@pytest.fixture(scope='module')
def src(tmp_path_factory) -> Path:
    """Real JPEGs in class folders: 3 classes x 12 images of the demo subset."""
    root = tmp_path_factory.mktemp('src')
    for cls in CLASSES:
        (root / cls).mkdir()
        for path in sorted((DEMO_ROOT / 'train' / cls).glob('*.jpg'))[:PER_CLASS]:
            (root / cls / path.name).write_bytes(path.read_bytes())
    return root


@pytest.fixture(scope='module')
def converted(src, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('lmdb') / 'train'
    folder2lmdb.convert(str(src), str(out), workers=0, commit_every=7)
    return out


def build(out: Path, **kwargs) -> LMDBDataset:
    return DATASETS.build(dict(type='LMDBDataset', data_root=str(out.parent),
                               data_prefix=out.name, **kwargs))


def test_round_trip_gives_the_files_pixels_and_labels(src, converted):
    ds = build(converted, pipeline=[dict(type='DecodeImage'), dict(type='PackInputs')])
    assert len(ds) == len(CLASSES) * PER_CLASS
    assert ds.metainfo['classes'] == CLASSES
    for idx in (0, 13, len(ds) - 1):
        key = ds.get_data_info(idx)['img_path']
        label = CLASSES.index(key.split('/')[0])
        expected = cv2.imread(str(src / key))  # BGR, like LoadImageFromFile
        out = ds[idx]
        assert torch.equal(out['inputs'], torch.from_numpy(expected).permute(2, 0, 1))
        assert out['data_samples'].gt_label.item() == label


def test_manifest_lists_every_record_with_its_checksum(src, converted):
    manifest = json.loads((converted / 'manifest.json').read_text())
    assert manifest['num_samples'] == len(manifest['samples']) == 36
    key, label, digest = manifest['samples'][PER_CLASS]
    first_bird = sorted(p.name for p in (src / 'bird').iterdir())[0]
    assert (key, label) == (f'bird/{first_bird}', 1)
    assert digest == folder2lmdb.record_digest((src / key).read_bytes())
    assert manifest['checksum'].startswith('sha256:')


def test_worker_processes_give_the_same_lmdb(src, converted, tmp_path):
    manifest = folder2lmdb.convert(str(src), str(tmp_path / 'mp'), workers=2,
                                   commit_every=5)
    assert manifest == json.loads((converted / 'manifest.json').read_text())


@pytest.mark.slow
def test_interrupted_conversion_resumes_to_the_same_checksum(src, converted,
                                                             tmp_path):
    out = tmp_path / 'resumed'
    commits = []

    def interrupt(done: int, total: int) -> None:
        commits.append(done)
        if len(commits) == 2:
            raise KeyboardInterrupt  # like Ctrl-C between two transactions

    with pytest.raises(KeyboardInterrupt):
        folder2lmdb.convert(str(src), str(out), workers=2, commit_every=5,
                            on_commit=interrupt)
    assert not (out / 'manifest.json').exists()
    env = lmdb.open(str(out), readonly=True, lock=False)
    with env.begin() as txn:
        assert int(txn.get(b'__progress__')) == 10
        assert txn.stat()['entries'] == 10 + 2  # records + meta + progress
    env.close()

    # The CLI resumes from record 10 and writes the same manifest as one run.
    proc = subprocess.run([sys.executable, str(SCRIPT), str(src), str(out),
                           '--workers', '0', '--commit-every', '5'],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 'resuming' in proc.stdout and '10/36' in proc.stdout
    assert (json.loads((out / 'manifest.json').read_text())
            == json.loads((converted / 'manifest.json').read_text()))


def test_resuming_into_a_conversion_of_other_data_fails(src, converted, tmp_path):
    other = tmp_path / 'other' / 'airplane'
    other.mkdir(parents=True)
    first = sorted((src / 'airplane').iterdir())[0]
    (other / first.name).write_bytes(first.read_bytes())
    out = tmp_path / 'out'
    folder2lmdb.convert(str(src), str(out), workers=0)
    with pytest.raises(ValueError, match='different source.*--overwrite'):
        folder2lmdb.convert(str(other.parent), str(out), workers=0)
    manifest = folder2lmdb.convert(str(other.parent), str(out), workers=0,
                                   overwrite=True)
    assert manifest['num_samples'] == 1


def test_broken_source_image_is_named(tmp_path):
    (tmp_path / 'src' / 'cls').mkdir(parents=True)
    (tmp_path / 'src' / 'cls' / 'bad.jpg').write_bytes(b'not a jpeg')
    with pytest.raises(ValueError, match=r"bad\.jpg.*not a decodable image"):
        folder2lmdb.convert(str(tmp_path / 'src'), str(tmp_path / 'out'), workers=0)


def _copy_lmdb(converted: Path, dst: Path) -> Path:
    dst.mkdir()
    for name in ('data.mdb', 'manifest.json'):
        (dst / name).write_bytes((converted / name).read_bytes())
    return dst


def test_corrupt_record_is_named(converted, tmp_path):
    out = _copy_lmdb(converted, tmp_path / 'corrupt')
    key = json.loads((out / 'manifest.json').read_text())['samples'][3][0]
    env = lmdb.open(str(out))
    with env.begin(write=True) as txn:
        value = txn.get(key.encode())
        txn.put(key.encode(), b'\xff\xd8' + bytes(len(value) - 2))  # broken JPEG
    env.close()
    with pytest.raises(ValueError, match=f"record '{key}'.*corrupt.*checksum"):
        build(out, verify=True)[3]
    ds = build(out, pipeline=[dict(type='DecodeImage')])
    ds[2]  # intact neighbours still load
    with pytest.raises(ValueError, match=f"DecodeImage: record '{key}' is not a "
                       'decodable image'):
        ds[3]


def test_missing_record_and_manifest_are_named(converted, tmp_path):
    out = _copy_lmdb(converted, tmp_path / 'missing')
    key = json.loads((out / 'manifest.json').read_text())['samples'][5][0]
    env = lmdb.open(str(out))
    with env.begin(write=True) as txn:
        txn.delete(key.encode())
    env.close()
    with pytest.raises(KeyError, match=f"key '{key}'.*missing from the LMDB"):
        build(out)[5]
    (out / 'manifest.json').unlink()
    with pytest.raises(FileNotFoundError, match='manifest.*folder2lmdb'):
        build(out)
    with pytest.raises(FileNotFoundError, match='LMDB folder.*nowhere.*does not '
                       'exist.*folder2lmdb'):
        build(tmp_path / 'nowhere')
    (out / 'data.mdb').unlink()
    out.joinpath('manifest.json').write_text(
        (converted / 'manifest.json').read_text())
    with pytest.raises(FileNotFoundError, match='no data.mdb.*folder2lmdb'):
        build(out)[0]


def test_reads_in_data_loader_worker_processes(converted):
    ds = build(converted, pipeline=[dict(type='DecodeImage'), dict(type='PackInputs')])
    ds[0]  # the main process opens the LMDB first; workers must reopen it
    from mmengine.dataset import default_collate
    loader = torch.utils.data.DataLoader(ds, batch_size=12, num_workers=2,
                                         collate_fn=default_collate)
    labels = torch.cat([b['data_samples'][i].gt_label for b in loader
                        for i in range(len(b['data_samples']))])
    assert labels.tolist() == [i // PER_CLASS for i in range(36)]
    assert np.all([b['inputs'].shape == (12, 3, 32, 32) for b in loader])
