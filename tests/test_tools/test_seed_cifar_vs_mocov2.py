"""The SEED-vs-MoCo-v2 CIFAR benchmark runs end to end (smoke size, real images)."""
import importlib.util
import os.path as osp

import pytest
import torch
from realdata import DEMO, REPO

pytestmark = pytest.mark.slow  # subprocess or end-to-end runs


def test_smoke_run_prints_the_three_rows(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        'seed_cifar_vs_mocov2',
        osp.join(REPO, 'tools', 'benchmarks', 'seed_cifar_vs_mocov2.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main(['--smoke', '--epochs', '1', '--data-root', DEMO, '--work-dir',
               str(tmp_path)])
    rows = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith('| ResNet-')]
    assert [r.split(' | ')[1] for r in rows] == [
        'MoCo v2', 'SEED from the ResNet-50', 'MoCo v2 alone']
    teacher = torch.load(tmp_path / 'teacher_r50' / 'epoch_1.pth',
                         weights_only=True)['state_dict']
    student = torch.load(tmp_path / 'seed_r18' / 'epoch_1.pth',
                         weights_only=True)['state_dict']
    # the student run distilled from exactly the teacher run's weights
    for key in ('backbone.conv1.weight', 'neck.mlp.2.weight'):
        assert torch.equal(student['target_generator.' + key], teacher[key])
    assert student['backbone.layer4.1.conv2.weight'].shape[0] == 512  # a ResNet-18
