"""No import cycles among the package's modules: a static check of every import
statement (lazy ones inside functions included), and every module imported first, on
its own, with none of the package loaded before it."""
import ast
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Set

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PACKAGE = 'slimselfsup'


def package_modules() -> Dict[str, str]:
    """Dotted name -> file of every module of the package (packages by name)."""
    modules = {}
    for folder, _, files in os.walk(osp.join(REPO, PACKAGE)):
        for file in files:
            if file.endswith('.py'):
                path = osp.join(folder, file)
                name = osp.relpath(path, REPO)[:-3].replace(os.sep, '.')
                modules[name[:-len('.__init__')] if name.endswith('.__init__')
                        else name] = path
    return modules


def imported_modules(name: str, path: str, modules: Dict[str, str]) -> Set[str]:
    """The package's modules that the import statements of ``name`` name, wherever
    they stand (lazy imports inside functions too): ``from a.b import c`` names
    ``a.b``, and ``a.b.c`` when that is a module. Parent packages that Python
    initialises on the way are not counted."""
    base = name if path.endswith('__init__.py') else name.rpartition('.')[0]
    out = set()
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split('.')[:len(base.split('.')) - node.level + 1]
                target = '.'.join(parts + ([node.module] if node.module else []))
            else:
                target = node.module or ''
            out.add(target)
            out.update(f'{target}.{alias.name}' for alias in node.names)
    return {m for m in out if m in modules and m != name}


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    found: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while component[-1:] != [v]:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_lazy_imports_included():
    modules = package_modules()
    graph = {name: imported_modules(name, path, modules) for name, path in modules.items()}
    assert 'slimselfsup.models.algorithms.seed' in graph  # the walk found the package
    assert cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c']]


IMPORT_EACH = '''
import importlib, os, sys, traceback
import slimselfsup  # compat patches first, as for any import of the package, then
import mmpretrain.datasets, mmpretrain.engine, mmpretrain.evaluation, mmpretrain.models
import mmdet.models  # the libraries we build on, loaded once for all modules
for loaded in [m for m in sys.modules if m.split('.')[0] == 'slimselfsup']:
    del sys.modules[loaded]
failed = 0
for name in sys.argv[1:]:
    pid = os.fork()  # a child with none of the package loaded and fresh registries
    if pid == 0:
        try:
            importlib.import_module(name)
            code = 0
        except BaseException:
            print(name + ':', traceback.format_exc(limit=-4), flush=True)
            code = 1
        os._exit(code)
    failed += os.waitpid(pid, 0)[1] != 0
print(f'{len(sys.argv) - 1} modules, {failed} failed')
'''


@pytest.mark.slow
def test_every_module_imports_alone_first():
    """Each module is imported as the first of the package, in a process forked from
    one that has loaded only the libraries we build on (so this is fast)."""
    names = sorted(package_modules())
    proc = subprocess.run([sys.executable, '-c', IMPORT_EACH, *names], cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=REPO), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == f'{len(names)} modules, 0 failed', \
        proc.stdout[-6000:]
