"""Crash-safe checkpoint files: atomic writes, integrity checks, resume fallback.

A checkpoint is written to a temporary file in the same folder, flushed to disk
(``fsync``) and renamed over the final name (``os.replace`` is atomic on POSIX and
Windows), so a process killed while saving leaves either the previous file or the
complete new one, never a truncated file under the final name. The ``.tmp`` file a
killed save leaves behind is ignored and removed by the next save of that name
(:func:`atomic_write`) or, for ``SelfSupRunner``, the next checkpoint saved into that
folder, once the process that wrote it has exited.

:func:`load_checkpoint_file` and :func:`check_checkpoint` are the one place that
reads a user-given checkpoint path: a missing, truncated or foreign file (an image,
a web page) raises an error naming the file and what it is, before torch's own
("failed finding central directory") is reached.
"""
import glob
import os
import os.path as osp
import pickle
import re
import warnings
import zipfile
from typing import Callable, List, Optional

import torch

TMP_SUFFIX = '.tmp'
TMP_NAME = re.compile(r'^\.(?P<name>.+)\.(?P<pid>\d+)\.tmp$')
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


def _process_exited(pid: int) -> bool:
    """Whether no process ``pid`` runs on this machine (False when unsure)."""
    if pid == os.getpid() or os.name == 'nt':  # Windows: os.kill would terminate it
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: it exists, owned by someone else
        return False
    return False


def remove_stale_tmp_files(folder: str, name: Optional[str] = None) -> List[str]:
    """Delete the ``.NAME.<pid>.tmp`` files of saves whose process has exited.

    A process killed while saving cannot clean up after itself; its temporary file
    (possibly gigabytes) would stay forever. Files of processes that still run
    (another save in progress) are kept.

    Args:
        folder (str): The folder to clean.
        name (str, optional): Only temporary files of this final name. Defaults
            to None (every temporary file of :func:`tmp_path_for`'s form).

    Returns:
        list[str]: The removed paths.
    """
    removed = []
    try:
        entries = os.listdir(folder or '.')
    except OSError:
        return removed
    for entry in entries:
        m = TMP_NAME.match(entry)
        if not m or (name is not None and m['name'] != name) or \
                not _process_exited(int(m['pid'])):
            continue
        try:
            os.remove(osp.join(folder, entry))
            removed.append(osp.join(folder, entry))
        except OSError:  # removed meanwhile by another process
            pass
    return removed


def atomic_write(path: str, write: Callable[[str], None],
                 clean_folder: bool = False) -> List[str]:
    """Run ``write(tmp_path)`` and move the result to ``path`` atomically.

    The one implementation of the atomic save: ``SelfSupRunner.save_checkpoint``,
    :func:`atomic_torch_save` and ``tools/convert_ckpt.py`` write through it.
    Temporary files of earlier, killed writes are removed afterwards.

    Args:
        path (str): Final file name.
        write (Callable[[str], None]): Writes the complete file at the given path.
            If it raises (or the process dies), ``path`` is left untouched. If it
            writes nothing (a process of a distributed run that does not save),
            nothing happens.
        clean_folder (bool): Remove the temporary files of killed writes of any
            name in ``path``'s folder (a run's work_dir), not only of ``path``.
            Defaults to False.

    Returns:
        list[str]: The temporary files of killed writes that were removed.
    """
    tmp = tmp_path_for(path)
    try:
        write(tmp)
        if not osp.exists(tmp):
            return []
        commit(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    folder, name = osp.split(path)
    return remove_stale_tmp_files(folder, None if clean_folder else name)


def atomic_torch_save(obj, path: str) -> None:
    """``torch.save(obj, path)`` through a temporary file, fsync and rename."""
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


#: Leading bytes of files people pass by mistake, and what they are.
_FOREIGN_MAGIC = (
    (b'\xff\xd8\xff', 'a JPEG image'),
    (b'\x89PNG', 'a PNG image'),
    (b'\x1f\x8b', 'a gzip archive (.tar.gz?): extract it first'),
    (b'<', 'an HTML/XML page (a failed download?)'),
    (b'{', 'a JSON/text file'),
)


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` is not a readable torch checkpoint, or None when it is.

    Checks that the file exists, is a complete zip archive (``torch.save``'s
    format: a truncated file has no central directory) and that every member's
    CRC matches (catches flipped bytes), without unpickling anything. A file that
    is no archive at all is named by its first bytes (an image, a web page...).
    """
    if not osp.isfile(path):
        return 'the file does not exist'
    if osp.getsize(path) == 0:
        return 'the file is empty'
    with open(path, 'rb') as f:
        head = f.read(8)
    if not zipfile.is_zipfile(path):
        if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
            return None  # torch's legacy (pre-1.6) pickle format: torch.load checks it
        if not head.startswith(b'PK'):
            kind = next((what for magic, what in _FOREIGN_MAGIC
                         if head.startswith(magic)), 'an unknown format')
            return (f'it is not a torch checkpoint (it starts with {head!r}: '
                    f'{kind})')
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


def check_checkpoint(path: str, given_as: Optional[str] = None) -> None:
    """Raise a :class:`RuntimeError` naming ``path`` when it is unreadable.

    Args:
        path (str): The checkpoint file.
        given_as (str, optional): The option or config key the user gave ``path``
            with, named in the advice. Defaults to None.
    """
    problem = checkpoint_problem(path)
    if problem is None:
        return
    if given_as:
        fix = (f'Point {given_as} at an intact checkpoint (earlier ones of a run are '
               'in its work_dir), or re-download / re-publish the file.')
    else:
        fix = ('Use an intact copy of the file (re-download or re-copy it; earlier '
               "checkpoints of a run are in its work_dir).")
    raise RuntimeError(f'checkpoint {path} cannot be loaded: {problem}. {fix}')


def load_checkpoint_file(path: str, given_as: Optional[str] = None,
                         trust: bool = False, map_location='cpu'):
    """``torch.load`` a user-given checkpoint, with errors that name the file.

    The file is checked first (:func:`check_checkpoint`), so a truncated file or
    an image is reported as such. Loading is weights-only unless ``trust``; a file
    that pickles other objects is refused with the one fix that applies (converting
    it once with ``tools/convert_ckpt.py ... --trust``).

    Args:
        path (str): The checkpoint file.
        given_as (str, optional): The option or config key it came from, for the
            message. Defaults to None.
        trust (bool): Unpickle arbitrary objects (``weights_only=False``). Defaults
            to False.
        map_location: As in :func:`torch.load`. Defaults to 'cpu'.

    Raises:
        RuntimeError: The file is missing, truncated, corrupt or not a checkpoint,
            or it holds objects that weights-only loading refuses.
    """
    check_checkpoint(path, given_as)
    try:
        return torch.load(path, map_location=map_location, weights_only=not trust)
    except pickle.UnpicklingError as err:
        if trust or 'weights only' not in str(err).lower():
            raise RuntimeError(f'checkpoint {path} cannot be loaded: {err}') from err
        raise RuntimeError(
            f'{path} holds objects that weights-only loading refuses ({err}). '
            'Checkpoints from untrusted sources are never unpickled freely; if you '
            'trust this file (e.g. an official release), convert it once with '
            '`tools/convert_ckpt.py NAME IN OUT --trust`.') from err


def checkpoint_meta(path: str) -> dict:
    """The ``meta`` dict of a local checkpoint, read without loading its tensors
    (memory-mapped); empty when the file has none or cannot be read (whoever loads
    it next reports why)."""
    try:
        meta = torch.load(path, map_location='cpu', weights_only=True, mmap=True).get('meta')
    except Exception:
        return {}
    return meta if isinstance(meta, dict) else {}


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
