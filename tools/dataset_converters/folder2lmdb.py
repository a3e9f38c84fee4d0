"""Pack a class-folder image data set into one LMDB of encoded images.

Keys are ``<class>/<file>``, values the image files' bytes (not re-encoded). Files
are read (and checked to decode) by ``--workers`` processes; one writer commits
every ``--commit-every`` records together with its progress, so an interrupted run
resumes where it stopped when the same command is run again. At the end a
``manifest.json`` lists classes, every key with its label and SHA-256 (16 hex), and
a checksum over all records read back from the LMDB; the same source always gives
the same manifest, interrupted or not.

Examples::

    python tools/dataset_converters/folder2lmdb.py data/cifar10/train \\
        data/cifar10_lmdb/train --workers 8
    # read it with: dict(type='LMDBDataset', data_root='data/cifar10_lmdb',
    #                    data_prefix='train', pipeline=[dict(type='DecodeImage'), ...])
"""
import argparse
import hashlib
import json
import multiprocessing as mp
import os
import os.path as osp
import shutil
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from slimselfsup.datasets.lmdb_dataset import (LMDB_FORMAT, META_KEY, PROGRESS_KEY,  # noqa: E402
                                               open_lmdb, read_image_file, record_digest)
from slimselfsup.utils.progress import track  # noqa: E402

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff',
                  '.webp')


def scan_folder(src: str, extensions: Sequence[str] = IMG_EXTENSIONS
                ) -> Tuple[List[str], List[Tuple[str, int]]]:
    """Classes (sorted sub-folders) and sorted ``(<class>/<file>, label)`` samples.

    Raises:
        FileNotFoundError: ``src`` is not a folder.
        ValueError: No class folder with an image.
    """
    if not osp.isdir(src):
        raise FileNotFoundError(f'source folder {src!r} does not exist; expected '
                                '<src>/<class>/<image> class folders.')
    exts = tuple(e.lower() for e in extensions)
    classes = sorted(d for d in os.listdir(src) if osp.isdir(osp.join(src, d)))
    samples, kept = [], []
    for cls in classes:
        files = sorted(f for f in os.listdir(osp.join(src, cls))
                       if f.lower().endswith(exts))
        if files:
            kept.append(cls)
            samples += [(f'{cls}/{f}', len(kept) - 1) for f in files]
    if not samples:
        raise ValueError(f'no image with extension in {list(exts)} under class '
                         f'folders of {src!r}; expected <src>/<class>/<image>.')
    return kept, samples


def build_manifest(out: str, classes: List[str],
                   samples: List[Tuple[str, int]]) -> Dict:
    """Read every record back from the LMDB and describe it (see module doc)."""
    env = open_lmdb(out)
    total = hashlib.sha256()
    entries = []
    try:
        with env.begin(write=False) as txn:
            for key, label in track(samples, f'folder2lmdb: checking {out}'):
                value = txn.get(key.encode())
                if value is None:
                    raise KeyError(f'key {key!r} missing from {out!r} after '
                                   'conversion')
                digest = record_digest(value)
                total.update(f'{key}\0{label}\0{len(value)}\0'.encode())
                total.update(value)
                entries.append([key, label, digest])
    finally:
        env.close()
    return dict(format=LMDB_FORMAT, classes=classes, num_samples=len(entries),
                checksum='sha256:' + total.hexdigest(), samples=entries)


def convert(src: str, out: str, workers: int = 4, commit_every: int = 1000,
            check: bool = True, overwrite: bool = False,
            extensions: Sequence[str] = IMG_EXTENSIONS,
            on_commit: Optional[Callable[[int, int], None]] = None) -> Dict:
    """Convert ``src`` into the LMDB folder ``out``; resumes an interrupted run.

    Args:
        src (str): Class-folder data set ``<src>/<class>/<image>``.
        out (str): Output folder (``data.mdb``, ``lock.mdb``, ``manifest.json``).
        workers (int): Reader processes; 0 reads in this process. Defaults to 4.
        commit_every (int): Records per transaction (the resume granularity).
            Defaults to 1000.
        check (bool): Decode every image once and fail on a broken one.
            Defaults to True.
        overwrite (bool): Delete ``out`` first instead of resuming. Defaults to
            False.
        extensions (Sequence[str]): Image file extensions.
        on_commit (callable, optional): Called as ``on_commit(done, total)`` after
            each commit.

    Returns:
        dict: The manifest written to ``out/manifest.json``.
    """
    classes, samples = scan_folder(src, extensions)
    source_id = hashlib.sha256(json.dumps([classes, samples]).encode()).hexdigest()
    if overwrite and osp.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out, exist_ok=True)
    manifest_path = osp.join(out, 'manifest.json')

    env = open_lmdb(out, readonly=False)
    try:
        with env.begin(write=True) as txn:
            meta = txn.get(META_KEY)
            if meta is not None and json.loads(meta)['source_id'] != source_id:
                raise ValueError(
                    f'{out!r} holds (part of) a conversion of a different source '
                    f'than {src!r} (other files or classes). Use another output '
                    'folder or --overwrite.')
            if meta is None:
                txn.put(META_KEY, json.dumps(dict(source_id=source_id,
                                                  num_samples=len(samples))).encode())
            done = int(txn.get(PROGRESS_KEY, b'0'))
        if done:
            print(f'resuming {out}: {done}/{len(samples)} records already written',
                  flush=True)
        todo = [(src, key, check) for key, _ in samples[done:]]
        ctx = mp.get_context('fork' if 'fork' in mp.get_all_start_methods()
                             else 'spawn')
        pool = ctx.Pool(workers) if workers > 0 and todo else None
        try:
            reader = (pool.imap(read_image_file, todo, chunksize=16) if pool is not None
                      else map(read_image_file, todo))
            txn = env.begin(write=True)
            try:
                for key, value in track(reader, f'folder2lmdb: {src} -> {out}',
                                        total=len(todo)):
                    txn.put(key.encode(), value)
                    done += 1
                    if done % commit_every == 0 or done == len(samples):
                        txn.put(PROGRESS_KEY, str(done).encode())
                        txn.commit()
                        txn = env.begin(write=True)
                        if on_commit is not None:
                            on_commit(done, len(samples))
            finally:
                txn.abort()  # no-op after a commit; drops an unfinished batch
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
    finally:
        env.close()

    manifest = build_manifest(out, classes, samples)
    tmp = manifest_path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(manifest, f)
    os.replace(tmp, manifest_path)  # a manifest exists only for a finished LMDB
    return manifest


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(
        description='Pack <src>/<class>/<image> into one LMDB (key <class>/<file>, '
        'value the file bytes) with manifest.json; re-run to resume.')
    parser.add_argument('src', help='class-folder data set, e.g. data/cifar10/train')
    parser.add_argument('out', help='output LMDB folder')
    parser.add_argument('--workers', type=int, default=min(8, os.cpu_count() or 1),
                        help='reader processes (0: none)')
    parser.add_argument('--commit-every', type=int, default=1000,
                        help='records per transaction, the resume granularity')
    parser.add_argument('--no-check', action='store_true',
                        help='do not decode images to check them')
    parser.add_argument('--overwrite', action='store_true',
                        help='delete OUT first instead of resuming')
    args = parser.parse_args(argv)
    if args.commit_every < 1:
        parser.error('--commit-every must be >= 1')
    if args.workers < 0:
        parser.error('--workers must be >= 0')
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Convert and print a summary."""
    args = parse_args(argv)
    start = time.perf_counter()
    try:  # progress with an ETA comes from track() inside convert()
        manifest = convert(args.src, args.out, workers=args.workers,
                           commit_every=args.commit_every, check=not args.no_check,
                           overwrite=args.overwrite)
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f'folder2lmdb.py: error: {exc}')
    size = osp.getsize(osp.join(args.out, 'data.mdb')) / 2**20
    print(f"wrote {manifest['num_samples']} images of {len(manifest['classes'])} "
          f'classes to {args.out} ({size:.1f} MiB, {time.perf_counter() - start:.1f} '
          f"s); {manifest['checksum']}")


if __name__ == '__main__':
    main()
