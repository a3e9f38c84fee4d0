"""Progress with a time estimate for long loops, once per job and quiet in CI logs."""
import sys
import time
from typing import Iterable, Iterator, Optional, TextIO, TypeVar

from mmengine.dist import get_rank
from mmengine.utils import ProgressBar

T = TypeVar('T')


def track(iterable: Iterable[T],
          desc: str,
          total: Optional[int] = None,
          file: Optional[TextIO] = None,
          steps: int = 10) -> Iterator[T]:
    """Yield from ``iterable`` while showing progress and an ETA on rank 0.

    On a terminal this is mmengine's :class:`~mmengine.utils.ProgressBar` (one
    line redrawn with ``\\r``). When the output is not a terminal (CI logs, files),
    where that redrawing leaves one long line of carriage returns, it prints a plain
    line at every ``1 / steps`` of the work and one at the end. Other ranks print
    nothing.

    Args:
        iterable (Iterable): The work items (a dataloader, a list...).
        desc (str): What is being done, e.g. ``'extracting features (test)'``.
        total (int, optional): Number of items. Defaults to None, meaning
            ``len(iterable)`` when it has one.
        file (TextIO, optional): Where to write. Defaults to None (``sys.stdout``).
        steps (int): Lines printed when not on a terminal. Defaults to 10.

    Yields:
        The items of ``iterable``.
    """
    if get_rank() != 0:
        yield from iterable
        return
    file = file or sys.stdout
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = 0
    start = time.perf_counter()
    if file.isatty():
        file.write(f'{desc}\n')
        bar = ProgressBar(total, file=file)
        for item in iterable:
            yield item
            bar.update()
        file.write('\n')
        file.flush()
        return
    done, next_mark = 0, 1
    for item in iterable:
        yield item
        done += 1
        if total and done * steps >= next_mark * total and done < total:
            elapsed = time.perf_counter() - start
            eta = elapsed * (total - done) / done
            file.write(f'{desc}: {done}/{total} ({100 * done // total}%), elapsed '
                       f'{elapsed:.0f}s, ETA {eta:.0f}s\n')
            file.flush()
            next_mark = done * steps // total + 1
    file.write(f'{desc}: {done}{f"/{total}" if total else ""} done in '
               f'{time.perf_counter() - start:.1f}s\n')
    file.flush()
