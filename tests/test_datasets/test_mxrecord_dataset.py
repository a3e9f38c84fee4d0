"""MXRecordDataset and tools/dataset_converters/folder2rec.py: real .rec/.idx files
of real CIFAR-10 JPEGs in MXNet's RecordIO format, read without mxnet."""
import io
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from dataset_test_utils import DEMO_ROOT

from slimselfsup.datasets.mxrecord_dataset import (IR_FORMAT, MAGIC, RecordIOError,
                                                   pack_image_record, read_record,
                                                   unpack_image_record, write_record)
from slimselfsup.registry import DATASETS

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'tools' / 'dataset_converters' / 'folder2rec.py'
CLASSES = ('cat', 'dog', 'ship')
PER_CLASS = 5


@pytest.fixture(scope='module')
def rec(tmp_path_factory) -> Path:
    """<tmp>/train.rec/.idx/.lst written by the CLI from 3 x 5 real JPEGs."""
    src = tmp_path_factory.mktemp('src')
    for cls in CLASSES:
        (src / cls).mkdir()
        for path in sorted((DEMO_ROOT / 'test' / cls).glob('*.jpg'))[:PER_CLASS]:
            (src / cls / path.name).write_bytes(path.read_bytes())
    out = tmp_path_factory.mktemp('rec')
    proc = subprocess.run([sys.executable, str(SCRIPT), str(src), str(out / 'train')],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 'wrote 15 records' in proc.stdout
    out.joinpath('src').write_text(str(src))
    return out


def build(rec: Path, **kwargs):
    return DATASETS.build(dict(type='MXRecordDataset', data_root=str(rec),
                               rec_file='train.rec', **kwargs))


def test_round_trip_gives_the_files_bytes_pixels_and_labels(rec):
    src = Path(rec.joinpath('src').read_text())
    lst = [line.split('\t') for line in rec.joinpath('train.lst').read_text()
           .splitlines()]
    ds = build(rec, pipeline=[dict(type='DecodeImage'), dict(type='PackInputs')])
    assert len(ds) == len(lst) == 15
    assert ds.metainfo['classes'] == ('0', '1', '2')
    for idx in (0, 7, 14):
        rel = lst[idx][2]
        info = ds.get_data_info(idx)
        assert info['img_bytes'] == (src / rel).read_bytes()
        out = ds[idx]
        expected = cv2.imread(str(src / rel))
        assert torch.equal(out['inputs'], torch.from_numpy(expected).permute(2, 0, 1))
        assert out['data_samples'].gt_label.item() == CLASSES.index(rel.split('/')[0])


def test_file_layout_is_mxnet_recordio(rec):
    """First record by hand: magic, lrec, IRHeader 'IfQQ', JPEG, 4-byte padding."""
    data = rec.joinpath('train.rec').read_bytes()
    magic, lrec = struct.unpack('<II', data[:8])
    assert magic == 0xCED7230A and lrec >> 29 == 0
    length = lrec & ((1 << 29) - 1)
    flag, label, rid, id2 = struct.unpack('IfQQ', data[8:32])
    assert (flag, label, rid, id2) == (0, 0.0, 0, 0)
    assert data[32:34] == b'\xff\xd8'  # JPEG start-of-image
    second = 8 + length + (-length % 4)
    idx = rec.joinpath('train.idx').read_text().splitlines()
    assert idx[:2] == ['0\t0', f'1\t{second}']
    assert struct.unpack('<I', data[second:second + 4])[0] == MAGIC


def test_payload_with_aligned_magic_is_split_and_joined():
    magic = struct.pack('<I', MAGIC)
    payload = b'abcd' + magic + b'efgh' + magic + b'ij'  # aligned at 4 and 12
    unaligned = b'a' + magic + b'bcd'  # not at a multiple of 4: kept whole
    f = io.BytesIO()
    write_record(f, payload)
    second = write_record(f, unaligned)
    raw = f.getvalue()
    flags = []
    pos = 0
    while pos < second:
        _, lrec = struct.unpack('<II', raw[pos:pos + 8])
        flags.append(lrec >> 29)
        length = lrec & ((1 << 29) - 1)
        pos += 8 + length + (-length % 4 if lrec >> 29 == 3 else 0)
    assert flags == [1, 2, 3]
    f.seek(0)
    assert read_record(f) == payload
    assert f.tell() == second
    assert read_record(f) == unaligned
    assert read_record(f) is None


def test_multi_label_header_round_trip():
    payload = pack_image_record(np.array([3., 1.5, -2.]), b'JPEG', record_id=7)
    header, labels, body = unpack_image_record(payload)
    assert header.flag == 3 and header.id == 7
    assert labels.tolist() == [3., 1.5, -2.] and body == b'JPEG'
    assert struct.calcsize(IR_FORMAT) == 24


def _damaged_copy(rec: Path, dst: Path, edit) -> Path:
    dst.mkdir()
    data = bytearray(rec.joinpath('train.rec').read_bytes())
    edit(data)
    dst.joinpath('train.rec').write_bytes(bytes(data))
    dst.joinpath('train.idx').write_bytes(rec.joinpath('train.idx').read_bytes())
    return dst


def test_corrupt_or_truncated_records_are_named(rec, tmp_path):
    offsets = [int(line.split('\t')[1]) for line in
               rec.joinpath('train.idx').read_text().splitlines()]

    def smash_magic(data: bytearray) -> None:
        data[offsets[4]] ^= 0xFF

    with pytest.raises(RecordIOError, match=rf"key '4', offset {offsets[4]}.*bad "
                       'magic number'):
        build(_damaged_copy(rec, tmp_path / 'magic', smash_magic))

    def truncate(data: bytearray) -> None:
        del data[offsets[-1] + 100:]

    ds = build(_damaged_copy(rec, tmp_path / 'short', truncate))
    ds.get_data_info(13)  # earlier records are intact
    with pytest.raises(RecordIOError, match=r"key '14'.*truncated file"):
        ds.get_data_info(14)

    def garble_jpeg(data: bytearray) -> None:
        start = offsets[2] + 8 + 24
        data[start:start + 200] = bytes(200)

    ds = build(_damaged_copy(rec, tmp_path / 'jpeg', garble_jpeg),
               pipeline=[dict(type='DecodeImage')])
    with pytest.raises(ValueError, match=r"train\.rec#2' is not a decodable image"):
        ds[2]


def test_missing_files_and_bad_index_are_named(rec, tmp_path):
    with pytest.raises(FileNotFoundError, match=r'index file .*none\.idx.*folder2rec'):
        DATASETS.build(dict(type='MXRecordDataset', data_root=str(rec),
                            rec_file='train.rec', idx_file='none.idx'))
    bad = tmp_path / 'bad'
    bad.mkdir()
    bad.joinpath('train.rec').write_bytes(rec.joinpath('train.rec').read_bytes())
    bad.joinpath('train.idx').write_text('0\t0\n1 920\n')
    with pytest.raises(RecordIOError, match=r'train\.idx:2: expected'):
        build(bad)
