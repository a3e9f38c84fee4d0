"""Images stored base64-encoded in one TSV file with a line index, as SEED reads them."""
import base64
import binascii
import os
import os.path as osp
from typing import IO, List, Optional

import mmcv
from mmpretrain.datasets import BaseDataset

from slimselfsup.registry import DATASETS


def lineidx_path(tsv_file: str) -> str:
    """The line index beside ``tsv_file``: ``train.tsv`` -> ``train.lineidx``."""
    return osp.splitext(tsv_file)[0] + '.lineidx'


def generate_lineidx(tsv_file: str, out: Optional[str] = None) -> str:
    """Write the byte offset of every line of ``tsv_file``, one per line.

    Args:
        tsv_file (str): The TSV file.
        out (str, optional): Output path. Defaults to :func:`lineidx_path`.

    Returns:
        str: The path written.
    """
    out = out or lineidx_path(tsv_file)
    tmp = f'{out}.tmp{os.getpid()}'
    with open(tsv_file, 'rb') as fin, open(tmp, 'w') as fout:
        pos = 0
        for line in fin:
            fout.write(f'{pos}\n')
            pos += len(line)
    os.replace(tmp, out)
    return out


@DATASETS.register_module()
class TSVDataset(BaseDataset):
    """Image data set in SEED's TSV format (Fang et al., ICLR 2021, reference code).

    One image per line, tab-separated: ``key``, integer ``label``, then (last column)
    the base64-encoded image file. ``<name>.lineidx`` beside ``<name>.tsv`` holds the
    byte offset of every line for random access; it is generated on first use when
    missing, as in the reference. ``tools/dataset_converters/folder2tsv.py`` writes
    both from a class-folder tree.

    Samples hold ``img`` (BGR uint8, like ``LoadImageFromFile``: pipelines start
    after loading, as for mmpretrain's CIFAR data sets), ``gt_label`` and
    ``img_path`` (the key). With ``decode=False`` they hold ``img_bytes`` instead,
    for ``DecodeImage`` / GPU decoding. A malformed line raises :class:`ValueError`
    naming the file, the (1-based) line number and what is wrong.

    Args:
        ann_file (str): The ``.tsv`` file, relative to ``data_root``.
        decode (bool): Decode images in the data set. Defaults to True.
        imdecode_backend (str): Backend of :func:`mmcv.imfrombytes`.
            Defaults to ``'cv2'``.
        **kwargs: Other arguments of :class:`~mmpretrain.datasets.BaseDataset`
            (``data_root``, ``pipeline``, ``classes``, ``test_mode``, ...).
    """

    def __init__(self, ann_file: str, decode: bool = True,
                 imdecode_backend: str = 'cv2', **kwargs) -> None:
        self.decode = decode
        self.imdecode_backend = imdecode_backend
        self._fp: Optional[IO[bytes]] = None
        self._fp_pid: Optional[int] = None
        super().__init__(ann_file=ann_file, **kwargs)

    def load_data_list(self) -> List[dict]:
        """One entry per line: its byte offset (the line itself is read lazily)."""
        tsv = self.ann_file
        if not osp.isfile(tsv):
            raise FileNotFoundError(
                f'TSVDataset: {tsv!r} does not exist (data_root {self.data_root!r} '
                f'joined with ann_file). Create it with `python '
                f'tools/dataset_converters/folder2tsv.py IMAGE_FOLDER {tsv}`.')
        idx_file = lineidx_path(tsv)
        if not osp.isfile(idx_file):
            generate_lineidx(tsv, idx_file)
        with open(idx_file) as f:
            offsets = [int(x) for x in f.read().split()]
        size = osp.getsize(tsv)
        if offsets and (offsets[-1] >= size or offsets != sorted(offsets)):
            raise ValueError(f'TSVDataset: line index {idx_file!r} does not match '
                             f'{tsv!r} (offsets beyond its {size} bytes or unsorted); '
                             'delete it to have it regenerated.')
        return [dict(offset=o, line=i + 1) for i, o in enumerate(offsets)]

    def _file(self) -> IO[bytes]:
        """The open TSV file of this process (data loader workers reopen it)."""
        if self._fp is None or self._fp_pid != os.getpid():
            self._fp, self._fp_pid = open(self.ann_file, 'rb'), os.getpid()
        return self._fp

    def parse_line(self, raw: bytes, line: int) -> dict:
        """``key, label, ..., base64`` -> ``img_path``, ``gt_label`` and the image."""
        where = f'TSVDataset: {self.ann_file}, line {line}'
        cols = raw.rstrip(b'\r\n').split(b'\t')
        if len(cols) < 3:
            raise ValueError(f'{where}: expected >= 3 tab-separated columns (key, '
                             f'label, base64 image), got {len(cols)}')
        key = cols[0].decode('utf-8', errors='replace')
        try:
            label = int(cols[1])
        except ValueError:
            raise ValueError(f'{where} (key {key!r}): label {cols[1][:20]!r} is not '
                             'an integer') from None
        try:
            data = base64.b64decode(cols[-1], validate=True)
        except binascii.Error as err:
            raise ValueError(f'{where} (key {key!r}): last column is not valid base64 '
                             f'({err})') from None
        info = dict(img_path=key, gt_label=label)
        if not self.decode:
            return dict(info, img_bytes=data)
        try:
            img = mmcv.imfrombytes(data, backend=self.imdecode_backend)
        except Exception as err:  # decoders raise many types on bad bytes
            img, reason = None, f'{type(err).__name__}: {err}'
        else:
            reason = 'corrupt or truncated image bytes'
        if img is None:
            raise ValueError(f'{where} (key {key!r}): image does not decode ({reason})')
        return dict(info, img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])

    def get_data_info(self, idx: int) -> dict:
        """Read, check and decode line ``idx``."""
        info = super().get_data_info(idx)
        fp = self._file()
        fp.seek(info['offset'])
        info.update(self.parse_line(fp.readline(), info['line']))
        return info

    def __getstate__(self) -> dict:
        """Pickle without the open file (workers open their own)."""
        state = self.__dict__.copy()
        state['_fp'], state['_fp_pid'] = None, None
        return state
