"""Runs the tests of every project under projects/ (each in its own pytest process, as
a user would: its package and conftest.py stay out of this session), and checks that
the package never imports a project."""
import ast
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROJECTS = osp.join(REPO, 'projects')
WITH_TESTS = sorted(name for name in os.listdir(PROJECTS)
                    if osp.isdir(osp.join(PROJECTS, name, 'tests')))


def test_every_project_has_tests_and_a_readme():
    assert WITH_TESTS, 'no project with tests under projects/'
    for name in os.listdir(PROJECTS):
        if osp.isdir(osp.join(PROJECTS, name)):
            assert osp.isfile(osp.join(PROJECTS, name, 'README.md')), name
            assert name in WITH_TESTS, f'projects/{name} has no tests/'


def test_the_package_imports_no_project():
    folders = [n for n in os.listdir(PROJECTS) if osp.isdir(osp.join(PROJECTS, n))]
    projects = {'projects', *folders} | {  # and the packages they hold
        package for name in folders for package in os.listdir(osp.join(PROJECTS, name))
        if osp.isfile(osp.join(PROJECTS, name, package, '__init__.py'))}
    for folder, _, files in os.walk(osp.join(REPO, 'slimselfsup')):
        for file in (f for f in files if f.endswith('.py')):
            tree = ast.parse(open(osp.join(folder, file)).read())
            names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                     for a in n.names]
            names += [n.module for n in ast.walk(tree)
                      if isinstance(n, ast.ImportFrom) and n.module and not n.level]
            assert not {m.split('.')[0] for m in names} & projects, (folder, file)


@pytest.mark.slow
@pytest.mark.parametrize('name', WITH_TESTS)
def test_project_tests_pass(name):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [REPO] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    proc = subprocess.run(
        [sys.executable, '-m', 'pytest', osp.join('projects', name), '-q', '-x',
         '-p', 'no:cacheprovider'], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert ' passed' in proc.stdout and 'skipped' not in proc.stdout, proc.stdout[-2000:]
