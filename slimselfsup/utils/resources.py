"""Where the files shipped next to the code are: configs, tools, model-index.yml.

As in OpenMMLab packages, a built wheel (``pip install .``) carries them inside the
package, in ``slimselfsup/.mim/`` (see ``setup.py``); a checkout (``pip install -e .``
or ``PYTHONPATH``) has them at the repository root, next to ``slimselfsup/``.
"""
import os.path as osp

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
INSTALLED_ROOT = osp.join(PACKAGE_DIR, '.mim')
CHECKOUT_ROOT = osp.dirname(PACKAGE_DIR)


def resource_root() -> str:
    """The folder holding ``configs/``, ``tools/`` and ``model-index.yml``:
    :data:`INSTALLED_ROOT` when it holds them (a wheel), else :data:`CHECKOUT_ROOT`."""
    if osp.isfile(osp.join(INSTALLED_ROOT, 'model-index.yml')):
        return INSTALLED_ROOT
    return CHECKOUT_ROOT


def config_path(name: str) -> str:
    """Absolute path of config ``name`` relative to ``configs/``, e.g.
    ``'slimclr/mocov2_r50_800e.py'``.

    Raises:
        FileNotFoundError: No such config; the message names the configs folder.
    """
    root = osp.join(resource_root(), 'configs')
    path = osp.join(root, name)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'slimselfsup::{name}: no such config in {root}; give a path relative to '
            "that folder, e.g. 'slimselfsup::slimclr/mocov2_r50_800e.py'")
    return path
