"""Metafiles are honest: ``Results`` only for numbers this toolbox measured.

mmengine's model index (and ``mim``) reads a metafile's ``Results`` as the results of
that model in this toolbox, so a result is allowed only when ``docs/benchmarks.md``
records its run: the model's name and config next to the measured number. The papers'
numbers belong in the method READMEs.
"""
import glob
import os.path as osp

import pytest
import yaml

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METAFILES = sorted(glob.glob(osp.join(REPO, 'configs', '*', 'metafile.yml')))


def _entries():
    for path in METAFILES:
        with open(path) as f:
            for entry in yaml.safe_load(f).get('Models') or []:
                yield osp.relpath(path, REPO), entry


def test_model_index_imports_every_metafile():
    with open(osp.join(REPO, 'model-index.yml')) as f:
        index = yaml.safe_load(f)['Import']
    assert sorted(index) == [osp.relpath(p, REPO) for p in METAFILES]


@pytest.mark.parametrize('metafile,entry', list(_entries()),
                         ids=lambda x: x['Name'] if isinstance(x, dict) else x)
def test_results_only_for_runs_recorded_in_docs(metafile, entry):
    assert osp.isfile(osp.join(REPO, entry['Config'])), entry['Config']
    results = entry.get('Results')
    if not results:
        return
    with open(osp.join(REPO, 'docs', 'benchmarks.md')) as f:
        docs = f.read()
    assert entry['Name'] in docs and entry['Config'] in docs, (
        f"{metafile}: {entry['Name']} has Results, but docs/benchmarks.md records no "
        'run of it (its name, config, command and date); put the paper\'s numbers in '
        'the README instead')
    for result in results:
        for value in result['Metrics'].values():
            assert str(value) in docs, f"{entry['Name']}: {value} is not in the docs"
