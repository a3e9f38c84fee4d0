"""Image data set read from one LMDB file of encoded images (``folder2lmdb.py``)."""
import hashlib
import json
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Tuple

from mmpretrain.datasets import BaseDataset

from slimselfsup.registry import DATASETS

#: Format tag written by ``tools/dataset_converters/folder2lmdb.py``.
LMDB_FORMAT = 'slimselfsup-lmdb-v1'
#: Keys of the LMDB that hold conversion state, not images.
META_KEY = b'__meta__'
PROGRESS_KEY = b'__progress__'


def record_digest(value: bytes) -> str:
    """The per-record checksum stored in the manifest: 16 hex digits of SHA-256."""
    return hashlib.sha256(value).hexdigest()[:16]


def read_image_file(args: Tuple[str, str, bool]) -> Tuple[str, bytes]:
    """Read ``<root>/<key>`` for ``folder2lmdb.py``'s reader processes.

    Args:
        args (tuple[str, str, bool]): Root folder, key (relative path) and whether
            to check that the bytes decode as an image.

    Returns:
        tuple[str, bytes]: The key and the file's bytes.
    """
    root, key, check = args
    with open(osp.join(root, key), 'rb') as f:
        value = f.read()
    if check:
        import cv2
        import numpy as np
        try:  # OpenCV asserts on empty input instead of returning None
            img = cv2.imdecode(np.frombuffer(value, np.uint8), cv2.IMREAD_UNCHANGED) \
                if value else None
        except cv2.error:
            img = None
        if img is None:
            what = 'is empty (0 bytes)' if not value else 'is not a decodable image'
            raise ValueError(f'{osp.join(root, key)!r} {what}; remove it or pass '
                             '--no-check.')
    return key, value


def open_lmdb(path: str, readonly: bool = True):
    """Open the LMDB environment at ``path`` (a folder with ``data.mdb``).

    Readers open it read-only without locking or read-ahead, so many data loader
    workers can read it at once (random access of small records).
    """
    import lmdb
    if readonly:
        if not osp.isfile(osp.join(path, 'data.mdb')):
            raise FileNotFoundError(
                f'LMDB {path!r} does not exist (no data.mdb in it). Create it with '
                '`python tools/dataset_converters/folder2lmdb.py SRC_FOLDER '
                f'{path}`, or point data_root/data_prefix at the folder that '
                'holds data.mdb and manifest.json.')
        return lmdb.open(path, readonly=True, lock=False, readahead=False,
                         meminit=False, max_readers=512, subdir=True)
    return lmdb.open(path, map_size=2**40, subdir=True, readahead=False,
                     meminit=False)


@DATASETS.register_module()
class LMDBDataset(BaseDataset):
    """Images stored encoded (JPEG/PNG bytes) in an LMDB, with labels in a manifest.

    The layout is the one ``tools/dataset_converters/folder2lmdb.py`` writes (the
    SlimCLR reference's LMDB idea: key ``<class>/<file>``, value the raw image
    file bytes)::

        <data_root>/<data_prefix>/
            data.mdb, lock.mdb   # LMDB: key b'<class>/<file>' -> file bytes
            manifest.json        # classes, [key, label, sha256[:16]] per sample,
                                 # and a checksum over all records

    Each sample holds ``img_bytes`` (the encoded file), ``img_path`` (the key, for
    error messages) and ``gt_label``. Put ``DecodeImage`` first in the pipeline to
    get a BGR ``img`` like ``LoadImageFromFile`` (then every CPU pipeline works
    unchanged), or ``PackImageBytes`` to decode on the GPU in
    ``GPUMultiViewDataPreprocessor``.

    The environment is opened lazily in every process that reads (data loader
    workers included, also with ``num_workers=0``), read-only and lock-free.

    Args:
        data_root (str): Root folder. Defaults to ''.
        data_prefix (str): Sub-folder of ``data_root`` holding the LMDB, e.g.
            ``'train'``. Defaults to ''.
        manifest (str): Manifest file name inside the LMDB folder. Defaults to
            ``'manifest.json'``.
        verify (bool): Check every record read against its manifest checksum and
            raise on a mismatch. Defaults to False.
        metainfo (dict, optional): Meta information; ``classes`` default to the
            manifest's. Defaults to None.
        **kwargs: Other arguments of :class:`~mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``indices``, ``lazy_init``, ...).
    """

    def __init__(self,
                 data_root: str = '',
                 data_prefix: str = '',
                 manifest: str = 'manifest.json',
                 verify: bool = False,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        self.manifest_name = manifest
        self.verify = verify
        self._env = None
        self._env_pid: Optional[int] = None
        super().__init__(ann_file='', metainfo=metainfo, data_root=data_root,
                         data_prefix=dict(root=data_prefix), **kwargs)

    @property
    def lmdb_path(self) -> str:
        """The folder holding ``data.mdb`` and the manifest."""
        return self.data_prefix['root']

    def load_data_list(self) -> List[dict]:
        """Read the manifest; images stay in the LMDB until a sample is asked for."""
        path = osp.join(self.lmdb_path, self.manifest_name)
        if not osp.isdir(self.lmdb_path):
            raise FileNotFoundError(
                f'{type(self).__name__}: LMDB folder {self.lmdb_path!r} (data_root '
                'joined with data_prefix) does not exist. Create it with `python '
                'tools/dataset_converters/folder2lmdb.py SRC_FOLDER '
                f'{self.lmdb_path}` or override data_root/data_prefix.')
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{type(self).__name__}: manifest {path!r} is missing. An LMDB '
                'written by tools/dataset_converters/folder2lmdb.py has one once '
                'the conversion finished; an interrupted conversion resumes when '
                'you run the same command again.')
        with open(path) as f:
            manifest = json.load(f)
        if manifest.get('format') != LMDB_FORMAT:
            raise ValueError(f'{path!r} is not a {LMDB_FORMAT} manifest '
                             f"(format {manifest.get('format')!r}).")
        if self._metainfo.get('classes') is None:
            self._metainfo['classes'] = tuple(manifest['classes'])
        return [dict(img_path=key, gt_label=int(label), digest=digest)
                for key, label, digest in manifest['samples']]

    def _txn_get(self, key: str) -> Optional[bytes]:
        if self._env is None or self._env_pid != os.getpid():
            if self._env is not None:
                # Inherited through fork (a data loader worker): py-lmdb refuses
                # to open the same files again in a process until it is closed.
                self._env.close()
            self._env = open_lmdb(self.lmdb_path)  # one per (worker) process
            self._env_pid = os.getpid()
        with self._env.begin(write=False, buffers=False) as txn:
            return txn.get(key.encode())

    def get_data_info(self, idx: int) -> Dict[str, Any]:
        """The sample's manifest entry plus its ``img_bytes`` read from the LMDB."""
        info = super().get_data_info(idx)
        key = info['img_path']
        value = self._txn_get(key)
        if value is None:
            raise KeyError(
                f'{type(self).__name__}: key {key!r} of the manifest is missing '
                f'from the LMDB {osp.join(self.lmdb_path, "data.mdb")!r}; the LMDB '
                'and manifest.json do not belong together or the LMDB is damaged. '
                'Re-run folder2lmdb.py into a new folder.')
        if self.verify and record_digest(value) != info['digest']:
            raise ValueError(
                f'{type(self).__name__}: record {key!r} in '
                f'{osp.join(self.lmdb_path, "data.mdb")!r} is corrupt (checksum '
                f'{record_digest(value)} != manifest {info["digest"]}). Re-create '
                'the LMDB with folder2lmdb.py.')
        info['img_bytes'] = value
        return info

    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        state['_env'] = None  # an LMDB handle must not cross a fork/pickle
        return state

    def extra_repr(self) -> List[str]:
        """Extra lines for ``repr``."""
        return [f'LMDB: \t{self.lmdb_path}']
