"""Loading configs the way the CLI tools do, with clear errors for typos."""
import inspect
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.runner import Runner


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Load a config file and apply ``--cfg-options`` overrides.

    Args:
        path (str): Path to a Python config file.
        cfg_options (dict, optional): Dotted-key overrides. New keys are allowed
            (``train_dataloader.dataset.indices=100``), but a key whose parent does
            not exist, or whose last part is a near-miss of an existing sibling
            (``train_cfg.max_epoch`` for ``max_epochs``), is an error: mmengine would
            silently add it and the run would ignore it. Defaults to None.

    Returns:
        Config: The merged config.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'config file not found: {path!r}. Configs live under configs/<method>/, '
            'e.g. configs/mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py')
    cfg = Config.fromfile(path)
    if cfg_options:
        tree = cfg.to_dict()
        for key in cfg_options:
            problem = _override_problem(tree, key)
            if problem:
                raise KeyError(f'--cfg-options {key}: {problem} in {path}. Check the '
                               'spelling with `python tools/misc/print_config.py '
                               'CONFIG`.')
        cfg.merge_from_dict(cfg_options)
    check_top_level_keys(cfg)
    return cfg


def _override_problem(tree: dict, dotted: str) -> Optional[str]:
    """Why overriding ``dotted`` looks like a typo, or None if it looks fine."""
    *parents, leaf = dotted.split('.')
    node = tree
    for i, part in enumerate(parents):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return f"'{'.'.join(parents[:i + 1])}' does not exist"
    if not isinstance(node, dict) or leaf in node:
        return None
    close = [k for k in node if isinstance(k, str) and _edit_distance(leaf, k) <= 2]
    return f"'{leaf}' does not exist; did you mean '{close[0]}'?" if close else None


def check_top_level_keys(cfg: Config) -> None:
    """Reject top-level keys that look like misspelt Runner arguments.

    mmengine's Runner ignores unknown top-level keys, so ``train_dataloder = ...``
    would silently train with nothing. Configs legitimately define helper variables
    (``data_root``, ``train_pipeline``), so only near-misses of Runner arguments
    are errors.

    Args:
        cfg (Config): The loaded config.
    """
    known = set(inspect.signature(Runner.__init__).parameters) - {'self'}
    known |= {'runner_type', 'compile', 'strategy'}
    for key in cfg.keys():
        if key in known:
            continue
        close = [k for k in sorted(known) if _edit_distance(key, k) <= 2]
        if close:
            raise KeyError(f'config key {key!r} is not a Runner argument; did you '
                           f'mean {close[0]!r}? ({cfg.filename})')


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]
