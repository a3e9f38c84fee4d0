"""Image data set read from MXNet RecordIO ``.rec``/``.idx`` files, without mxnet.

Binary format (dmlc-core ``recordio``, MXNet ``recordio.py``; the format MXNet's
``im2rec.py`` writes and the SlimCLR reference reads through DALI):

* A record on disk: ``uint32 magic 0xced7230a``, ``uint32 lrec`` (upper 3 bits a
  continuation flag ``cflag``, lower 29 bits the length), the payload, zero padding
  to a multiple of 4 bytes; little-endian. A payload containing the magic number at
  a 4-byte aligned offset is split there into parts with ``cflag`` 1 (first),
  2 (middle), 3 (last); the reader joins them, putting the magic back between
  parts. ``cflag`` 0 is a whole record.
* An image payload: the header ``IRHeader(flag, label, id, id2)`` packed as
  struct ``'IfQQ'`` (24 bytes), then, if ``flag > 0``, ``flag`` float32 labels,
  then the encoded image (JPEG/PNG).
* The ``.idx`` file: one ``<key>\\t<byte offset of the record>`` line per record.
"""
import os
import os.path as osp
import struct
from collections import namedtuple
from typing import Any, BinaryIO, Dict, List, Optional, Tuple, Union

import numpy as np
from mmpretrain.datasets import BaseDataset

from slimselfsup.registry import DATASETS

MAGIC = 0xCED7230A
IR_FORMAT = 'IfQQ'
IR_SIZE = struct.calcsize(IR_FORMAT)
_LEN_MASK = (1 << 29) - 1
IRHeader = namedtuple('IRHeader', ['flag', 'label', 'id', 'id2'])


class RecordIOError(ValueError):
    """A ``.rec``/``.idx`` file that does not follow the RecordIO format."""


def pack_image_record(label: Union[float, np.ndarray], img_bytes: bytes,
                      record_id: int = 0, id2: int = 0) -> bytes:
    """An image payload: ``IRHeader`` (+ float32 labels when several) + bytes."""
    labels = np.asarray(label, dtype=np.float32).reshape(-1)
    if labels.size == 1:
        head = struct.pack(IR_FORMAT, 0, float(labels[0]), record_id, id2)
        return head + img_bytes
    head = struct.pack(IR_FORMAT, labels.size, 0.0, record_id, id2)
    return head + labels.tobytes() + img_bytes


def unpack_image_record(payload: bytes) -> Tuple[IRHeader, np.ndarray, bytes]:
    """Split an image payload into its header, labels (float32) and image bytes."""
    if len(payload) < IR_SIZE:
        raise RecordIOError(f'payload of {len(payload)} bytes is shorter than the '
                            f'{IR_SIZE}-byte IRHeader')
    header = IRHeader(*struct.unpack(IR_FORMAT, payload[:IR_SIZE]))
    body = payload[IR_SIZE:]
    if header.flag > 0:
        if len(body) < 4 * header.flag:
            raise RecordIOError(f'header announces {header.flag} labels but the '
                                'payload is too short')
        labels = np.frombuffer(body[:4 * header.flag], dtype=np.float32).copy()
        body = body[4 * header.flag:]
    else:
        labels = np.array([header.label], dtype=np.float32)
    return header, labels, body


def write_record(f: BinaryIO, payload: bytes) -> int:
    """Append one record (split at aligned magic numbers); returns its offset."""
    if len(payload) >= 1 << 29:
        raise RecordIOError('RecordIO records must be smaller than 2**29 bytes')
    offset = f.tell()
    magic = struct.pack('<I', MAGIC)
    start = 0
    for i in range(0, len(payload) - len(payload) % 4, 4):
        if payload[i:i + 4] == magic:
            cflag = 1 if start == 0 else 2
            f.write(magic + struct.pack('<I', (cflag << 29) | (i - start)))
            f.write(payload[start:i])
            start = i + 4
    cflag = 3 if start else 0
    f.write(magic + struct.pack('<I', (cflag << 29) | (len(payload) - start)))
    f.write(payload[start:])
    f.write(b'\0' * (-len(payload) % 4))
    return offset


def read_record(f: BinaryIO, where: str = '') -> Optional[bytes]:
    """Read the record at the current position; None at a clean end of file.

    Raises:
        RecordIOError: Bad magic number, bad continuation flag or truncated data;
            the message names ``where`` and the byte offset.
    """
    parts: List[bytes] = []
    while True:
        offset = f.tell()
        head = f.read(8)
        if not head and not parts:
            return None
        if len(head) < 8:
            raise RecordIOError(f'{where}: truncated record header at byte {offset}')
        magic, lrec = struct.unpack('<II', head)
        if magic != MAGIC:
            raise RecordIOError(f'{where}: bad magic number {magic:#010x} at byte '
                                f'{offset} (expected {MAGIC:#010x}); the file is '
                                'corrupt or the .idx offset is wrong')
        cflag, length = lrec >> 29, lrec & _LEN_MASK
        data = f.read(length)
        if len(data) < length:
            raise RecordIOError(f'{where}: record at byte {offset} announces '
                                f'{length} bytes but only {len(data)} remain '
                                '(truncated file)')
        expected = (0, 1) if not parts else (2, 3)
        if cflag not in expected:
            raise RecordIOError(f'{where}: unexpected continuation flag {cflag} at '
                                f'byte {offset}')
        parts.append(data)
        if cflag in (0, 3):
            f.read(-length % 4)  # padding of the last part
            return struct.pack('<I', MAGIC).join(parts)


def _read_labels(f: BinaryIO, offset: int, where: str) -> np.ndarray:
    """The labels of the record at ``offset``, reading only its header if possible."""
    f.seek(offset)
    head = f.read(8 + IR_SIZE)
    if len(head) == 8 + IR_SIZE:
        magic, lrec = struct.unpack('<II', head[:8])
        flag = struct.unpack(IR_FORMAT, head[8:])[0]
        if (magic == MAGIC and lrec >> 29 == 0 and flag == 0
                and lrec & _LEN_MASK >= IR_SIZE):
            return unpack_image_record(head[8:])[1]
    f.seek(offset)  # split record, several labels or damage: read it all
    payload = read_record(f, where)
    if payload is None:
        raise RecordIOError(f'{where}: offset past the end of the file')
    return unpack_image_record(payload)[1]


def read_index(idx_path: str) -> List[Tuple[str, int]]:
    """The ``(key, offset)`` lines of an ``.idx`` file, in file order."""
    entries = []
    with open(idx_path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            fields = line.split('\t')
            try:
                entries.append((fields[0].strip(), int(fields[1])))
            except (IndexError, ValueError) as exc:
                raise RecordIOError(
                    f'{idx_path}:{lineno}: expected "<key>\\t<offset>", got '
                    f'{line.rstrip()!r}') from exc
    return entries


@DATASETS.register_module()
class MXRecordDataset(BaseDataset):
    """Images from an MXNet ``.rec`` file with its ``.idx`` index (no mxnet needed).

    Each sample holds ``img_bytes`` (the encoded image), ``gt_label`` (the first
    label of the record header, as int), and ``img_path`` (``<rec file>#<key>``,
    for error messages). Put ``DecodeImage`` first in a CPU pipeline, or
    ``PackImageBytes`` to decode on the GPU. The file is opened lazily in every
    reading process.

    Args:
        rec_file (str): The ``.rec`` file, relative to ``data_root``.
        idx_file (str, optional): Its index; defaults to ``rec_file`` with
            ``.idx``.
        data_root (str): Root folder. Defaults to ''.
        metainfo (dict, optional): Meta information, e.g. ``classes``. Defaults to
            None (classes are then ``0 .. max label``).
        **kwargs: Other arguments of :class:`~mmpretrain.datasets.BaseDataset`.
    """

    def __init__(self,
                 rec_file: str,
                 idx_file: Optional[str] = None,
                 data_root: str = '',
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        self.rec_file = osp.join(data_root, rec_file)
        self.idx_file = (osp.join(data_root, idx_file) if idx_file else
                         osp.splitext(self.rec_file)[0] + '.idx')
        self._handle: Optional[BinaryIO] = None
        self._pid: Optional[int] = None
        super().__init__(ann_file='', metainfo=metainfo, data_root=data_root,
                         **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the index and every record's label (headers only)."""
        for path, what in ((self.rec_file, 'record'), (self.idx_file, 'index')):
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'{type(self).__name__}: {what} file {path!r} is missing. Make '
                    '.rec/.idx files with `python tools/dataset_converters/'
                    'folder2rec.py SRC_FOLDER PREFIX` (or MXNet im2rec.py).')
        data_list = []
        with open(self.rec_file, 'rb') as f:
            for key, offset in read_index(self.idx_file):
                labels = _read_labels(f, offset, self._where(key, offset))
                data_list.append(dict(key=key, offset=offset,
                                      gt_label=int(labels[0]),
                                      img_path=f'{self.rec_file}#{key}'))
        if self._metainfo.get('classes') is None and data_list:
            n = max(d['gt_label'] for d in data_list) + 1
            self._metainfo['classes'] = tuple(str(i) for i in range(n))
        return data_list

    def _where(self, key: str, offset: int) -> str:
        return f'{self.rec_file} (key {key!r}, offset {offset})'

    def get_data_info(self, idx: int) -> Dict[str, Any]:
        """The sample with its ``img_bytes`` read from the ``.rec`` file."""
        info = super().get_data_info(idx)
        if self._handle is None or self._pid != os.getpid():
            self._handle = open(self.rec_file, 'rb')  # one per (worker) process
            self._pid = os.getpid()
        where = self._where(info['key'], info['offset'])
        self._handle.seek(info['offset'])
        payload = read_record(self._handle, where)
        if payload is None:
            raise RecordIOError(f'{where}: offset past the end of the file')
        _, _, info['img_bytes'] = unpack_image_record(payload)
        return info

    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        state['_handle'] = None  # file handles must not cross a fork/pickle
        return state

    def extra_repr(self) -> List[str]:
        """Extra lines for ``repr``."""
        return [f'Record file: \t{self.rec_file}', f'Index file: \t{self.idx_file}']
