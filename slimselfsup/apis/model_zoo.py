"""The model zoo: models by metafile name, verified checkpoint downloads.

Every model of ``model-index.yml`` (``configs/*/metafile.yml``, ``Models:`` entries)
can be built by name; entries with a ``Weights:`` URL can also be loaded
pretrained. Published weight files carry the first 8 hex digits of their sha256 in
their name (``name-1a2b3c4d.pth``, written by ``tools/misc/publish_model.py``);
downloads are checked against it and cached in ``$SLIMSELFSUP_HOME/checkpoints``
(default ``~/.cache/slimselfsup/checkpoints``). Checkpoints are always loaded with
``torch.load(weights_only=True)``: a file cannot run code when it is read.

Example:
    >>> import slimselfsup
    >>> model = slimselfsup.get_model(
    ...     'mocov2_resnet18-cifar_1xb512-coslr-200e_cifar10', pretrained='ckpt.pth')
"""
import difflib
import hashlib
import http.client
import os
import os.path as osp
import re
import urllib.error
import urllib.parse
import urllib.request
import warnings
from typing import Dict, List, Optional, Union

import torch
from torch import nn

from slimselfsup.utils.resources import resource_root

#: The model index read by :func:`list_models` / :func:`get_model` (inside the
#: package when installed from a wheel, at the root of a checkout).
MODEL_INDEX = osp.join(resource_root(), 'model-index.yml')
HASH_IN_NAME = re.compile(r'-([0-9a-f]{8,64})\.[A-Za-z0-9]+$')
CHUNK = 1 << 20


def home_dir() -> str:
    """``$SLIMSELFSUP_HOME``, default ``~/.cache/slimselfsup``."""
    return os.environ.get('SLIMSELFSUP_HOME') or osp.join(
        osp.expanduser('~'), '.cache', 'slimselfsup')


def checkpoint_dir() -> str:
    """Where downloaded checkpoints are cached: ``<home_dir()>/checkpoints``."""
    return osp.join(home_dir(), 'checkpoints')


def _read_yaml(path: str) -> dict:
    import yaml
    with open(path) as f:
        return yaml.safe_load(f) or {}


def load_model_index(index: Optional[str] = None) -> Dict[str, dict]:
    """Model entries by name from ``index`` (default :data:`MODEL_INDEX`).

    Relative ``Import``, ``Config`` and ``Weights`` paths are resolved against the
    folder of the index file.
    """
    index = index or MODEL_INDEX
    root = osp.dirname(osp.abspath(index))
    models: Dict[str, dict] = {}
    for metafile in _read_yaml(index).get('Import', []):
        meta_path = osp.join(root, metafile)
        for entry in _read_yaml(meta_path).get('Models') or []:
            entry = dict(entry)
            entry['Config'] = osp.join(root, entry['Config'])
            entry['Metafile'] = meta_path
            models[entry['Name']] = entry
    return models


def list_models(pattern: Optional[str] = None) -> List[str]:
    """Names of the zoo's models, optionally those containing ``pattern``."""
    return sorted(n for n in load_model_index() if not pattern or pattern in n)


def model_info(name: str) -> dict:
    """The metafile entry of ``name`` (``Name``, ``Config``, optional ``Weights``).

    Raises:
        KeyError: Unknown name; the message suggests close names.
    """
    models = load_model_index()
    if name not in models:
        close = difflib.get_close_matches(name, list(models), n=3, cutoff=0.5)
        raise KeyError(f'no model named {name!r} in {MODEL_INDEX}'
                       + (f'; did you mean {close}?' if close else '')
                       + ' (slimselfsup.list_models() lists them)')
    return models[name]


def sha256_of(path: str) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(CHUNK), b''):
            digest.update(block)
    return digest.hexdigest()


def expected_hash(url_or_path: str) -> Optional[str]:
    """The hash prefix in a published file name (``name-<hex>.pth``), if any."""
    m = HASH_IN_NAME.search(osp.basename(urllib.parse.urlparse(url_or_path).path))
    return m.group(1) if m else None


def download_checkpoint(url: str, sha256: Optional[str] = None,
                        cache_dir: Optional[str] = None, timeout: float = 60.) -> str:
    """Download ``url`` into the cache (once) and return the local path.

    The file is streamed to ``<name>.<pid>.part`` next to its final name, its
    sha256 compared with ``sha256`` (or the hash prefix in the file name), and only
    then renamed to its final name; a broken or corrupt download leaves nothing
    behind. A cached file is re-checked and used without network access.

    Args:
        url (str): ``http(s)://`` or ``file://`` URL of a published checkpoint.
        sha256 (str, optional): Expected sha256 or a prefix of it. Defaults to
            None: the ``-<hex>`` suffix of the file name.
        cache_dir (str, optional): Defaults to :func:`checkpoint_dir`.
        timeout (float): Socket timeout in seconds. Defaults to 60.

    Raises:
        ValueError: Nothing to check the file against.
        ConnectionError: The download failed (offline...); names where to put the
            file by hand.
        RuntimeError: The sha256 does not match; nothing is cached.
    """
    name = osp.basename(urllib.parse.urlparse(url).path)
    expected = (sha256 or expected_hash(url) or '').lower()
    if not name or not expected:
        raise ValueError(f'cannot verify {url}: its file name has no sha256 prefix '
                         '(published weights are named NAME-<8 hex of sha256>.pth); '
                         'pass sha256=... (--sha256) to download it')
    folder = cache_dir or checkpoint_dir()
    dst = osp.join(folder, name)
    if osp.isfile(dst):
        if sha256_of(dst).startswith(expected):
            return dst
        warnings.warn(f'cached {dst} does not match sha256 {expected}...; '
                      'downloading it again')
    os.makedirs(folder, exist_ok=True)
    tmp = f'{dst}.{os.getpid()}.part'
    digest, size = hashlib.sha256(), 0
    try:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, \
                    open(tmp, 'wb') as f:
                total = response.headers.get('Content-Length')
                for block in iter(lambda: response.read(CHUNK), b''):
                    f.write(block)
                    digest.update(block)
                    size += len(block)
                if total is not None and size != int(total):
                    raise http.client.IncompleteRead(b'', int(total) - size)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            raise ConnectionError(
                f'cannot download {url} ({type(err).__name__}: {err}). If this '
                f'machine is offline, fetch the file elsewhere and put it at\n  {dst}\n'
                f'(its sha256 must start with {expected}); set SLIMSELFSUP_HOME to '
                'use another cache folder.') from err
        got = digest.hexdigest()
        if not got.startswith(expected):
            raise RuntimeError(
                f'{url}: sha256 {got[:len(expected)]}... does not match the expected '
                f'{expected}; the download is corrupt or not the published file. '
                'Nothing was cached.')
        from slimselfsup.utils.checkpoint_io import commit
        commit(tmp, dst)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return dst


def load_checkpoint_file(path: str, given_as: Optional[str] = None) -> dict:
    """Weights-only ``torch.load`` on CPU with errors naming the file: see
    :func:`slimselfsup.utils.checkpoint_io.load_checkpoint_file` (imported
    on use, so the zoo stays light)."""
    from slimselfsup.utils.checkpoint_io import load_checkpoint_file as load
    return load(path, given_as)


def resolve_checkpoint(pretrained: Union[bool, str], name: str) -> str:
    """Local path of the weights asked for by ``get_model(name, pretrained)``."""
    if pretrained is True:
        url = model_info(name).get('Weights')
        if not url:
            raise ValueError(
                f'{name} has no published weights (no `Weights:` in '
                f'{model_info(name)["Metafile"]}); train it with tools/train.py and '
                'pass pretrained=PATH')
        pretrained = url
    if re.match(r'^(https?|file)://', pretrained):
        return download_checkpoint(pretrained)
    if not osp.isfile(pretrained):
        raise FileNotFoundError(f'checkpoint {pretrained} does not exist')
    return pretrained


def load_weights(model: nn.Module, checkpoint: dict, source: str, name: str) -> None:
    """Strictly load a checkpoint's state dict, naming what does not fit."""
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) \
        else None
    if not isinstance(state, dict) or not state:
        raise RuntimeError(f'{source} holds no state dict')
    if all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f'{k}: {tuple(state[k].shape)} vs {tuple(v.shape)}' for k, v in own.items()
              if k in state and hasattr(state[k], 'shape') and state[k].shape != v.shape]
    if missing or unexpected or shapes:
        raise RuntimeError(
            f'checkpoint {source} does not fit model {name} (it looks like another '
            f'architecture): {len(missing)} missing keys {missing[:5]}, '
            f'{len(unexpected)} unexpected keys {unexpected[:5]}, {len(shapes)} shape '
            f'mismatches {shapes[:3]}. Backbone-only files load through '
            "init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...); other "
            'layouts convert with tools/convert_ckpt.py.')
    model.load_state_dict(state, strict=True)


def get_model(name: str, pretrained: Union[bool, str] = False,
              device: Union[str, torch.device] = 'cpu', **kwargs) -> nn.Module:
    """Build a zoo model from its config and optionally load its weights.

    Args:
        name (str): A model name from the metafiles (:func:`list_models`).
        pretrained (bool | str): ``True`` loads the metafile's published
            ``Weights`` (downloaded and verified once), a string is a local path or
            a URL of a checkpoint, ``False`` keeps the initialisation. Loading is
            strict. Defaults to False.
        device (str | torch.device): Where to put the model. Defaults to 'cpu'.
        **kwargs: Overrides merged into the config's ``model`` dict, e.g.
            ``backbone=dict(frozen_stages=4)``.

    Returns:
        nn.Module: The model, in eval mode, with the data preprocessor it was
        trained with (the config's ``model.data_preprocessor``, else its top-level
        ``data_preprocessor``, as mmengine's Runner does): ``model.data_preprocessor(
        dict(inputs=images_uint8_bgr), False)`` normalises and orders channels as in
        training.
    """
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from slimselfsup.registry import MODELS
    from slimselfsup.utils import register_all_modules

    info = model_info(name)
    register_all_modules()
    cfg = Config.fromfile(info['Config'])
    if kwargs:
        cfg.merge_from_dict({'model': kwargs})
    model_cfg = cfg.model
    if cfg.get('data_preprocessor') is not None:
        # the Runner's rule: the top-level data_preprocessor (mean/std, BGR->RGB) is
        # the model's unless the model dict has its own; without it the model
        # would neither normalise nor convert the images it was trained on
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'slimselfsup')):
        model = MODELS.build(model_cfg)
    if pretrained:
        path = resolve_checkpoint(pretrained, name)
        load_weights(model, load_checkpoint_file(path), path, name)
    model.to(device)
    model.eval()
    return model
