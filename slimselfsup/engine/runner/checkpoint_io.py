"""Crash-safe checkpoint files: atomic writes, integrity checks, resume fallback.

A checkpoint is written to a temporary file in the same folder, flushed to disk
(``fsync``) and renamed over the final name (``os.replace`` is atomic on POSIX and
Windows), so a process killed while saving leaves either the previous file or the
complete new one, never a truncated file under the final name. The leftover
``.tmp`` file of a killed save is ignored and removed by the next save of that name.
"""
import glob
import os
import os.path as osp
import re
import warnings
import zipfile
from typing import Callable, List, Optional

import torch

TMP_SUFFIX = '.tmp'
CKPT_NAME = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


def tmp_path_for(path: str) -> str:
    """The temporary name a write of ``path`` goes to: ``.NAME.<pid>.tmp``."""
    folder, name = osp.split(path)
    return osp.join(folder, f'.{name}.{os.getpid()}{TMP_SUFFIX}')


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder or '.', os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def commit(tmp: str, path: str) -> None:
    """fsync ``tmp`` and atomically rename it to ``path`` (then fsync the folder)."""
    with open(tmp, 'rb+') as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(osp.dirname(osp.abspath(path)))


def atomic_write(path: str, write: Callable[[str], None]) -> None:
    """Run ``write(tmp_path)`` and move the result to ``path`` atomically.

    Args:
        path (str): Final file name.
        write (Callable[[str], None]): Writes the complete file at the given path.
            If it raises (or the process dies), ``path`` is left untouched.
    """
    tmp = tmp_path_for(path)
    try:
        write(tmp)
        commit(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def atomic_torch_save(obj, path: str) -> None:
    """``torch.save(obj, path)`` through a temporary file, fsync and rename."""
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` is not a readable torch checkpoint, or None when it is.

    Checks that the file exists, is a complete zip archive (``torch.save``'s
    format: a truncated file has no central directory) and that every member's
    CRC matches (catches flipped bytes), without unpickling anything.
    """
    if not osp.isfile(path):
        return 'the file does not exist'
    if osp.getsize(path) == 0:
        return 'the file is empty'
    if not zipfile.is_zipfile(path):
        with open(path, 'rb') as f:
            head = f.read(2)
        if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
            return None  # torch's legacy (pre-1.6) pickle format: torch.load checks it
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        return f'it is truncated or not a torch checkpoint ({err})'
    except Exception as err:  # zlib errors, CRC errors raised as other types
        return f'it is corrupt ({type(err).__name__}: {err})'
    if bad is not None:
        return f'member {bad!r} fails its CRC check (the file is corrupt)'
    return None


def check_checkpoint(path: str) -> None:
    """Raise a :class:`RuntimeError` naming ``path`` when it is unreadable."""
    problem = checkpoint_problem(path)
    if problem is not None:
        raise RuntimeError(
            f'checkpoint {path} cannot be loaded: {problem}. Point --resume / '
            'load_from at an intact checkpoint (earlier ones of the run are in '
            'its work_dir), or re-download / re-publish the file.')


def candidate_checkpoints(work_dir: str) -> List[str]:
    """Checkpoints of ``work_dir`` newest first: the one named in ``last_checkpoint``
    (if any), then ``epoch_N.pth`` / ``iter_N.pth`` by decreasing N."""
    out: List[str] = []
    last_file = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(last_file):
        with open(last_file) as f:
            last = f.read().strip()
        if last:
            out.append(last)
    found = []
    for path in glob.glob(osp.join(glob.escape(work_dir), '*.pth')):
        m = CKPT_NAME.match(osp.basename(path))
        if m:
            found.append((int(m.group(2)), osp.getmtime(path), path))
    for _, _, path in sorted(found, reverse=True):
        if all(osp.abspath(path) != osp.abspath(p) for p in out):
            out.append(path)
    return out


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The newest intact checkpoint of ``work_dir``; warns for each one skipped."""
    for path in candidate_checkpoints(work_dir):
        problem = checkpoint_problem(path)
        if problem is None:
            return path
        warnings.warn(f'resume: skipping checkpoint {path}: {problem}; trying the '
                      'previous one')
    return None
