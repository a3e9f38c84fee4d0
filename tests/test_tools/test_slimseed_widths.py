"""The Slimmable SEED widths benchmark runs end to end (smoke size, real images)."""
import importlib.util
import os.path as osp

import pytest
import torch
from realdata import DEMO, REPO

pytestmark = pytest.mark.slow  # seven short end-to-end runs (about a minute)


def test_smoke_run_prints_one_row_per_width(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        'slimseed_widths', osp.join(REPO, 'tools', 'benchmarks', 'slimseed_widths.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main(['--smoke', '--epochs', '1', '--widths', '1.0', '0.5', '--data-root', DEMO,
               '--work-dir', str(tmp_path)])
    out = capsys.readouterr().out
    rows = [line.split(' | ') for line in out.splitlines() if line.startswith('| 1.0 ')
            or line.startswith('| 0.5 ')]
    assert [r[0] for r in rows] == ['| 1.0', '| 0.5']
    assert all(len(r) == 5 for r in rows)

    def state(run):
        return torch.load(tmp_path / run / 'epoch_1.pth', map_location='cpu',
                          weights_only=True)['state_dict']

    teacher, slimseed = state('teacher_r50'), state('slimseed')
    # both SEED runs distilled from exactly the teacher run's weights
    for run in ('slimseed', 'seed_alone_w1.0', 'seed_alone_w0.5'):
        student = slimseed if run == 'slimseed' else state(run)
        for key in ('backbone.conv1.weight', 'neck.mlp.2.weight'):
            assert torch.equal(student['target_generator.' + key], teacher[key]), run
    # one slimmable student trained at the two widths (a private BN each) ...
    assert slimseed['backbone.conv1.weight'].shape[0] == 64
    assert {k.split('.bns.')[1].split('.')[0] for k in slimseed
            if k.startswith('backbone.bn1.bns.')} == {'0', '1'}
    # ... against plain students of the sub-networks' shapes
    half = state('seed_alone_w0.5')
    assert half['backbone.conv1.weight'].shape[0] == 32
    assert half['neck.mlp.0.weight'].shape == (256, 256)
    assert not any(k.startswith('target_generator.') for k in state('slimclr'))
