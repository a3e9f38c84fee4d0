"""The version of slimselfsup and the versions of the stack it is tested with.

This module imports nothing heavy, so ``import slimselfsup`` can check the installed
torch, mmengine, mmcv and mmpretrain (read from their package metadata) before any
of them is imported, and name the fix instead of failing deep inside one of them.
"""
import importlib.metadata
import os
import re
from typing import Dict, Optional, Tuple

__version__ = '0.1.0'

#: ``package: (lowest accepted, first refused or None)``. The lower bounds are the
#: tested releases (torch 2.14.1, mmengine 0.10.7, mmcv 2.1.0, mmpretrain 1.2.0),
#: except torch's, whose older releases lack nothing we use since 2.1; the upper
#: bounds are the next releases that may break the APIs we rely on (mmdet 3.3.0
#: itself refuses mmcv >= 2.2.0).
SUPPORTED: Dict[str, Tuple[str, Optional[str]]] = {
    'torch': ('2.1.0', None),
    'mmengine': ('0.10.7', '1.0.0'),
    'mmcv': ('2.1.0', '2.2.0'),
    'mmpretrain': ('1.2.0', '1.3.0'),
}
#: Set to 1 to import with versions outside :data:`SUPPORTED` (at your own risk).
SKIP_ENV = 'SLIMSELFSUP_SKIP_VERSION_CHECK'


class VersionMismatchError(ImportError):
    """A library of the stack is missing or outside :data:`SUPPORTED`."""


def digit_version(version: str) -> Tuple[int, ...]:
    """``'2.14.1+cpu'`` -> ``(2, 14, 1)``; pre-releases count as their release."""
    parts = []
    for part in version.split('+')[0].split('.'):
        m = re.match(r'\d+', part)
        if not m:
            break
        parts.append(int(m.group()))
    return tuple(parts)


def installed_version(package: str) -> Optional[str]:
    """Version of ``package`` from its metadata (``mmcv`` also as ``mmcv-lite``)."""
    for dist in (package, 'mmcv-lite') if package == 'mmcv' else (package, ):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def version_problems(installed: Dict[str, Optional[str]]) -> list:
    """One line per package of ``installed`` that is missing or outside
    :data:`SUPPORTED`, each naming the fix; empty when all fit."""
    problems = []
    for package, (low, high) in SUPPORTED.items():
        if package not in installed:
            continue
        version = installed[package]
        wanted = f'{package}>={low}' + (f',<{high}' if high else '')
        if version is None:
            problems.append(f'{package} is not installed; slimselfsup needs {wanted}')
        elif digit_version(version) < digit_version(low) or (
                high and digit_version(version) >= digit_version(high)):
            problems.append(f'{package} {version} is installed but slimselfsup needs '
                            f'{wanted}')
    return problems


def check_versions() -> None:
    """Raise :class:`VersionMismatchError` (one line: what, and the fix) when a
    library of the stack is missing or outside :data:`SUPPORTED`.

    Skipped when the environment variable ``SLIMSELFSUP_SKIP_VERSION_CHECK`` is 1.
    """
    if os.environ.get(SKIP_ENV) == '1':
        return
    problems = version_problems({p: installed_version(p) for p in SUPPORTED})
    if problems:
        raise VersionMismatchError(
            '; '.join(problems) + '. Fix: run `bash tools/install.sh` in the '
            f'slimselfsup checkout (or pip install the versions named), or set '
            f'{SKIP_ENV}=1 to try anyway.')
