"""Loading configs the way the CLI tools do, with clear errors for typos."""
import inspect
import os.path as osp
import re
from typing import Dict, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.utils import import_modules_from_strings


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Load a config file and apply ``--cfg-options`` overrides.

    Args:
        path (str): Path to a Python config file.
        cfg_options (dict, optional): Dotted-key overrides. New keys are allowed
            (``train_dataloader.dataset.indices=100``), and so are new top-level
            sections that mmengine reads (Runner arguments such as
            ``auto_scale_lr.enable=True``, and ``custom_imports.imports=[...]``,
            whose modules are imported here as ``Config.fromfile`` imports a file's
            own). A key whose parent does not exist, or whose last part is a
            near-miss of an existing sibling (``train_cfg.max_epoch`` for
            ``max_epochs``), is an error: mmengine would silently add it and the run
            would ignore it. Defaults to None.

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
        if any(key.split('.')[0] == 'custom_imports' for key in cfg_options):
            import_modules_from_strings(**cfg.custom_imports)
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
        elif i == 0 and part in runner_keys():
            return None  # a new section that mmengine reads (custom_imports too)
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
    known = runner_keys()
    for key in cfg.keys():
        if key in known:
            continue
        close = [k for k in sorted(known) if _edit_distance(key, k) <= 2]
        if close:
            raise KeyError(f'config key {key!r} is not a Runner argument; did you '
                           f'mean {close[0]!r}? ({cfg.filename})')


def runner_keys() -> set:
    """Top-level config keys that mmengine reads: the Runner's arguments, plus
    ``runner_type``, ``compile``, ``strategy`` and ``custom_imports``."""
    known = set(inspect.signature(Runner.__init__).parameters) - {'self'}
    return known | {'runner_type', 'compile', 'strategy', 'custom_imports'}


def init_parameters(cls: type) -> Tuple[Dict[str, inspect.Parameter], bool]:
    """The keyword arguments ``cls(...)`` takes, and whether that list is complete.

    ``**kwargs`` handed to the base class are followed along the MRO. mmengine's
    ``CheckpointHook`` keeps its ``**kwargs`` for ``Runner.save_checkpoint``, which
    takes none beyond those the hook passes itself, so its list is complete too;
    other classes that keep ``**kwargs`` (``EMAHook``) give an incomplete list.
    """
    from mmengine.hooks import CheckpointHook
    params: Dict[str, inspect.Parameter] = {}
    passed_on = False  # an __init__ took **kwargs that reach object.__init__
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if klass is object:
            break
        if init is None:
            continue
        try:
            signature = inspect.signature(init)
        except (TypeError, ValueError):  # built-in or C implemented
            return params, False
        var_keyword = False
        for name, param in list(signature.parameters.items())[1:]:
            if param.kind is param.VAR_KEYWORD:
                var_keyword = True
            elif param.kind is not param.VAR_POSITIONAL:
                params.setdefault(name, param)
        if not var_keyword:
            return params, True
        passed_on = True
    return params, not passed_on or issubclass(cls, CheckpointHook)


def _takes_number(param: inspect.Parameter) -> bool:
    default = param.default
    if default is not param.empty and default is not None:
        return isinstance(default, (int, float)) and not isinstance(default, bool)
    text = param.annotation if isinstance(param.annotation, str) else \
        str(param.annotation)
    return param.annotation is not param.empty and bool(
        re.search(r'\b(float|int)\b', text)) and not re.search(r'\bstr\b', text)


def check_call_arguments(cls: type, cfg: dict, where: str, unknown: bool = True,
                         ignore: Sequence[str] = ('type', )) -> None:
    """Check a config dict against the arguments of the class it builds.

    Args:
        cls (type): The class ``cfg['type']`` resolves to.
        cfg (dict): Its config.
        where (str): The dotted config key of ``cfg`` (``default_hooks.checkpoint``),
            named in the error.
        unknown (bool): Also reject keys ``cls`` does not take. Defaults to True.
        ignore (Sequence[str]): Keys that are not arguments of ``cls``. Defaults to
            ``('type', )``.

    Raises:
        TypeError: A key ``cls`` does not take (with the closest one it does), or
            a string where it takes a number (``lr='abc'`` from ``--cfg-options``).
    """
    params, complete = init_parameters(cls)
    for key, value in cfg.items():
        if key in ignore or key == '_scope_':  # mmengine's registry scope
            continue
        param = params.get(key)
        if param is None:
            if unknown and complete:
                close = min(params, key=lambda k: _edit_distance(key, k), default='')
                hint = f'; did you mean {close!r}?' if close and _edit_distance(
                    key, close) <= max(2, len(key) // 3) else ''
                raise TypeError(
                    f'{where}: {cls.__name__} has no argument {key!r}{hint} (its '
                    f'arguments: {", ".join(params)}). Fix the key in the config or '
                    '--cfg-options.')
            continue
        if isinstance(value, str) and _takes_number(param):
            raise TypeError(
                f'{where}.{key}={value!r} is not a number, but {cls.__name__} takes '
                f'a number for {key!r}; give one, e.g. --cfg-options {where}.{key}='
                f'{param.default if param.default not in (param.empty, None) else 0.1}')


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]
