"""The SlimCLR-vs-widths-alone benchmark runs end to end (smoke size, real images)."""
import importlib.util
import os.path as osp

import pytest
import torch
from realdata import DEMO, REPO

pytestmark = pytest.mark.slow  # subprocess or end-to-end runs


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'slimclr_vs_alone', osp.join(REPO, 'tools', 'benchmarks', 'slimclr_vs_alone.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_alone_baseline_is_the_exported_width(tmp_path):
    tool = load_tool()
    from slimselfsup.apis import load_config
    cfg = load_config(osp.join(REPO, tool.CONFIGS['mocov2'][1]))
    tool.scale_plain(cfg, 0.5)
    assert cfg.model.backbone.base_channels == 32
    assert cfg.model.backbone.stem_channels == 32
    assert (cfg.model.neck.in_channels, cfg.model.neck.hid_channels) == (256, 256)


def test_smoke_run_prints_one_row_per_width(tmp_path, capsys):
    tool = load_tool()
    tool.main(['--smoke', '--epochs', '1', '--widths', '1.0', '0.5', '--data-root',
               DEMO, '--work-dir', str(tmp_path)])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith('| 1.0 ')
            or line.startswith('| 0.5 ')]
    assert len(rows) == 2
    # the baseline of width 0.5 really is a half-width network
    ckpt = torch.load(tmp_path / 'alone_w0.5' / 'epoch_1.pth', map_location='cpu')
    assert ckpt['state_dict']['backbone.conv1.weight'].shape[0] == 32
    slim = torch.load(tmp_path / 'slimclr' / 'epoch_1.pth', map_location='cpu')
    assert slim['state_dict']['backbone.conv1.weight'].shape[0] == 64


def test_shorter_budget_keeps_slow_start_at_half_of_training():
    tool = load_tool()
    from slimselfsup.apis import load_config
    cfg = load_config(osp.join(REPO, tool.CONFIGS['mocov2'][0]))
    assert (cfg.model.slim_start_epoch, cfg.train_cfg.max_epochs) == (100, 200)
    tool.rescale_schedule(cfg, 50)
    assert cfg.train_cfg.max_epochs == 50
    assert cfg.model.slim_start_epoch == 25
    assert (cfg.param_scheduler[0].T_max, cfg.param_scheduler[0].end) == (50, 50)
