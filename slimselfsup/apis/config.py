"""Loading configs the way the CLI tools do, with clear errors for typos and for
overrides that would change nothing."""
import ast
import functools
import inspect
import os
import os.path as osp
import re
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

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
            would ignore it. So is a config variable (``max_epochs``,
            ``data_root``...): its value was used while the file was parsed and
            nothing reads it afterwards; the error names the keys that were computed
            from it. Defaults to None.

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
        problems = [f'--cfg-options {key}={value}: {problem}.' for key, value, problem in (
            (k, v, _variable_problem(cfg, tree, k)) for k, v in cfg_options.items())
            if problem]
        if problems:
            raise KeyError(' '.join(problems) + f' ({path})')
        cfg.merge_from_dict(cfg_options)
        if any(key.split('.')[0] == 'custom_imports' for key in cfg_options):
            import_modules_from_strings(**cfg.custom_imports)
    check_top_level_keys(cfg)
    follow_backbone_width(cfg)
    return cfg


def follow_backbone_width(cfg: Config) -> None:
    """Make what reads a narrow backbone follow ``model.backbone.width``.

    ``--cfg-options model.backbone.width=W`` is the one option that picks the width of
    a slimmable network in the evaluation configs. A ``DetSlimmableResNet`` (the
    mmdet configs) runs at it, and the FPN that reads it needs that width's stage
    outputs as ``in_channels``, which are set here (mmengine computed them from the
    file's own width when it parsed the file). A ``SlimmableResNet`` probe needs
    nothing here: ``SlimmableClassifier`` follows its backbone's ``width`` itself.

    Args:
        cfg (Config): A loaded config, changed in place.
    """
    model = cfg.get('model') or {}
    backbone, neck = model.get('backbone') or {}, model.get('neck') or {}
    if backbone.get('type') != 'DetSlimmableResNet' or 'in_channels' not in neck:
        return
    from slimselfsup.models.slimmable.extract import resnet_stage_channels
    neck['in_channels'] = resnet_stage_channels(
        backbone['depth'], backbone.get('width', 1.0),
        backbone.get('out_indices', (0, 1, 2, 3)))


def _override_problem(tree: dict, dotted: str) -> Optional[str]:
    """Why overriding ``dotted`` looks like a typo, or None if it looks fine."""
    *parents, leaf = dotted.split('.')
    node = tree
    for i, part in enumerate(parents):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        elif i == 0 and part in runtime_keys():
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
    known = runtime_keys()
    for key in cfg.keys():
        if key in known:
            continue
        close = [k for k in sorted(known) if _edit_distance(key, k) <= 2]
        if close:
            raise KeyError(f'config key {key!r} is not a Runner argument; did you '
                           f'mean {close[0]!r}? ({cfg.filename})')


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


#: Top-level keys read after parsing (besides the Runner's arguments): by
#: ``Runner.from_cfg``/``Runner`` (``cfg.get(...)``), by ``Config.fromfile`` and by
#: our tools. Every other top-level key is a variable of the config file.
RUNTIME_KEYS = {'runner_type', 'compile', 'strategy', 'find_unused_parameters',
                'activation_checkpointing', 'efficient_conv_bn_eval', 'sync_bn',
                'custom_imports', 'gpu_ids'}

Path = Tuple  # keys (str) and list indices (int) from a top-level key down


def runtime_keys() -> Set[str]:
    """Top-level keys something reads after the config is parsed."""
    return (set(inspect.signature(Runner.__init__).parameters) - {'self'}) | RUNTIME_KEYS


def _variable_problem(cfg: Config, tree: dict, dotted: str) -> Optional[str]:
    """Why overriding ``dotted`` would change nothing because its first part is a
    variable of the config file, or None."""
    var, *sub = dotted.split('.')
    if var not in tree or var in runtime_keys():
        return None
    keys = []
    for path in variable_keys(cfg, dotted, tree):
        value = _lookup(tree, path)
        shown = f' (now {value!r})' if isinstance(
            value, (int, float, str, bool, type(None))) else ''
        keys.append('.'.join(map(str, path)) + shown)
    fix = ('set the keys computed from it instead: ' + ', '.join(keys)) if keys else \
        'no setting of the config uses it'
    return (f"'{var}' is a variable of the config file: it was used while the file "
            'was parsed and nothing reads it afterwards, so overriding it would change '
            f'nothing; {fix}')


def variable_keys(cfg: Config, dotted: str, tree: Optional[dict] = None) -> List[Path]:
    """The paths of ``cfg`` whose values were computed from the variable (part)
    ``dotted`` (``'max_epochs'``, ``'knn_loader.batch_size'``), found by
    :func:`variable_uses`; only paths that exist in ``cfg`` are returned."""
    tree = cfg.to_dict() if tree is None else tree
    var, *sub = dotted.split('.')
    sub = tuple(int(p) if p.isdigit() else p for p in sub)
    out = []
    for path, access in variable_uses(cfg).get(var, []):
        if sub[:len(access)] == access:  # the overridden part lands below path
            path = path + sub[len(access):]
        elif access[:len(sub)] != sub:
            continue  # another part of the variable lands there
        if _lookup(tree, path) is not _MISSING:
            out.append(path)
    return list(dict.fromkeys(out))


_MISSING = object()


def _lookup(tree, path: Path):
    node = tree
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and isinstance(part, int) and \
                part < len(node):
            node = node[part]
        else:
            return _MISSING
    return node


def variable_uses(cfg: Config) -> Dict[str, List[Tuple[Path, Path]]]:
    """Where each top-level variable of ``cfg``'s files ended up.

    The config file and its ``_base_`` files are read as Python syntax trees (not
    executed). A variable ``v`` used in the value of a Runner key (directly, in an
    expression such as ``max_epochs - 1``, or through other variables such as
    ``train_pipeline`` holding ``view_pipeline``) lands at a path under that key.
    Uses in a base file that a later file replaced (a list, a scalar or a
    ``_delete_`` dict at or above the path) are dropped.

    Args:
        cfg (Config): A config loaded from a file.

    Returns:
        dict: ``{variable: [(path, access), ...]}``: the part ``access`` of the
        variable's value (``()``: all of it; ``('dataset',)`` for
        ``knn_loader['dataset']``) lands at ``path``.
    """
    files = _config_files(cfg.filename)
    trees = [_parse(path) for path in files]
    replaced = [_replaced_paths(tree) for tree in trees]
    uses: Dict[str, List[Tuple[int, str, Path, Path]]] = {}
    for i, tree in enumerate(trees):
        for target, value in _assignments(tree):
            for var, path, access in _references(value, ()):
                uses.setdefault(var, []).append((i, target, path, access))
    runtime = runtime_keys()

    def lands(var: str, seen: frozenset) -> Iterator[Tuple[Path, Path]]:
        for i, target, path, access in uses.get(var, []):
            if any(q == path[:len(q)] for later in replaced[i + 1:]
                   for q in later.get(target, ())):
                continue  # a later file replaced what this use produced
            if target in runtime:
                yield (target, ) + path, access
            if target not in seen:  # `test_dataloader = val_dataloader` too
                for where, taken in lands(target, seen | {target}):
                    if path[:len(taken)] == taken:  # var sits inside the part taken
                        yield where + path[len(taken):], access
                    elif taken[:len(path)] == path:  # only a part of var is taken
                        yield where, access + taken[len(path):]

    return {var: list(dict.fromkeys(lands(var, frozenset({var})))) for var in uses}


def _config_files(filename: str) -> List[str]:
    """``filename`` and its ``_base_`` files (Python only), bases first."""
    out: List[str] = []

    def visit(path: str) -> None:
        if not path.endswith('.py') or path in out:
            return
        for base in _base_paths(path, os.stat(path).st_mtime_ns):
            visit(base)
        out.append(path)

    visit(osp.abspath(filename))
    return out


@functools.lru_cache(maxsize=256)
def _base_paths(path: str, mtime_ns: int) -> List[str]:
    # resolving `mmdet::` bases reads package metafiles: slow, so cached
    return [Config._get_cfg_path(base, path)[0] for base in Config._get_base_files(path)]


def _parse(path: str) -> ast.Module:
    return _parse_cached(path, os.stat(path).st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _parse_cached(path: str, mtime_ns: int) -> ast.Module:
    with open(path, encoding='utf-8') as f:
        return ast.parse(f.read())


def _assignments(tree: ast.Module) -> Iterator[Tuple[str, ast.expr]]:
    """``(name, value)`` of the file's top-level assignments."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name) and target.id != '_base_':
                    yield target.id, stmt.value
        elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)) and \
                isinstance(stmt.target, ast.Name) and stmt.value is not None:
            yield stmt.target.id, stmt.value


def _is_dict_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
        node.func.id == 'dict'


def _reference(node: ast.AST) -> Optional[Tuple[str, Path]]:
    """``(variable, access)`` when ``node`` is ``v``, ``_base_.v``, ``{{_base_.v}}``
    or such a name subscripted with constants (``v['dataset'][0]``)."""
    access: Path = ()
    while isinstance(node, ast.Subscript):
        if isinstance(node.slice, ast.Constant):
            access = (node.slice.value, ) + access
        else:
            access = ()
        node = node.value
    while isinstance(node, ast.Set) and len(node.elts) == 1:  # mmengine's {{ }}
        node = node.elts[0]
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        return node.id, access
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
            node.value.id == '_base_':
        return node.attr, access
    return None


def _references(node: ast.AST, path: Path) -> Iterator[Tuple[str, Path, Path]]:
    """``(variable, path, access)`` for every variable used in ``node``, which
    builds the value at ``path``: dict keys and list indices extend the path, any
    other expression keeps it (``T_max=max_epochs - 1`` lands at ``T_max``)."""
    ref = _reference(node)
    if ref is not None:
        yield ref[0], path, ref[1]
    elif _is_dict_call(node):
        for arg in node.args:  # dict(base, k=v): base's items land at path
            yield from _references(arg, path)
        for kw in node.keywords:
            yield from _references(kw.value, path if kw.arg is None else path + (kw.arg, ))
    elif isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values):
            if isinstance(key, ast.Constant):
                yield from _references(value, path + (key.value, ))
            else:
                yield from _references(value, path)
    elif isinstance(node, (ast.List, ast.Tuple)):
        for i, elt in enumerate(node.elts):
            if isinstance(elt, ast.Starred):
                yield from _references(elt.value, path)
            else:
                yield from _references(elt, path + (i, ))
    else:
        for child in ast.iter_child_nodes(node):
            if not (isinstance(node, ast.Call) and child is node.func):
                yield from _references(child, path)


def _replaced_paths(tree: ast.Module) -> Dict[str, List[Path]]:
    """Per top-level key, the paths where this file puts a value that replaces
    (rather than merges into) what a base file had there: literal lists, tuples,
    constants and ``_delete_=True`` dicts."""
    out: Dict[str, List[Path]] = {}

    def walk(node: ast.AST, path: Path, sink: List[Path]) -> None:
        if _is_dict_call(node) and not node.args:
            items = [(kw.arg, kw.value) for kw in node.keywords]
        elif isinstance(node, ast.Dict):
            items = [(k.value if isinstance(k, ast.Constant) else None, v)
                     for k, v in zip(node.keys, node.values)]
        else:
            if isinstance(node, (ast.List, ast.Tuple, ast.Constant)):
                sink.append(path)
            return
        if any(k == '_delete_' and isinstance(v, ast.Constant) and v.value is True
               for k, v in items):
            sink.append(path)
            return
        for key, value in items:
            if key is not None:
                walk(value, path + (key, ), sink)

    for target, value in _assignments(tree):
        walk(value, (), out.setdefault(target, []))
    return out


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]
