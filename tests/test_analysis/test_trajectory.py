"""Trajectory PCA on synthetic checkpoints with a known answer, and the plot tool."""
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from slimselfsup.analysis.trajectory import (evaluate_grid, pca_2d, project, slice_state,
                                             trajectory_directions, trajectory_pca,
                                             unslice_direction)

REPO = Path(__file__).resolve().parents[2]
SHAPES = {'conv.weight': (4, 3, 3, 3), 'conv2.weight': (6, 4, 1, 1),
          'fc.weight': (5, 6), 'fc.bias': (5, )}


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        name, REPO / 'tools' / 'analysis_tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def as_state(flat, template):
    out, offset = {}, 0
    for k, v in template.items():
        if v.dim() > 1:
            out[k] = torch.from_numpy(flat[offset:offset + v.numel()]).float().view_as(v)
            offset += v.numel()
    return out


def synthetic(seed=0):
    """Final weights plus checkpoints along two orthonormal directions u, v."""
    g = torch.Generator().manual_seed(seed)
    final = {k: torch.randn(s, generator=g) for k, s in SHAPES.items()}
    dim = sum(v.numel() for v in final.values() if v.dim() > 1)
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, 2)))
    u, v = q[:, 0], q[:, 1]
    alphas = [6.0, 3.0, -1.0, -3.0, -5.0, 0.0]
    betas = [1.0, -1.0, 1.0, -1.0, 1.0, -1.0]  # less variance, uncorrelated with u
    ckpts = []
    for a, b in zip(alphas, betas):
        delta = as_state(a * u + b * v, final)
        state = {k: final[k] + delta[k] if k in delta else final[k] + 1.0
                 for k in final}  # the bias moves too but must not count
        ckpts.append(state)
    return final, ckpts, u, v, alphas, betas


def flat(d):
    return torch.cat([d[k].flatten() for k in SHAPES if len(SHAPES[k]) > 1]).numpy()


def test_pca_recovers_known_directions():
    final, ckpts, u, v, alphas, betas = synthetic()
    d1, d2 = trajectory_directions(ckpts, final)
    assert set(d1) == set(SHAPES) and d1['conv.weight'].shape == (4, 3, 3, 3)
    assert torch.count_nonzero(d1['fc.bias']) == 0  # ndim 1 contributes zeros
    assert abs(flat(d1) @ u) == pytest.approx(1.0, abs=1e-5)
    assert abs(flat(d2) @ v) == pytest.approx(1.0, abs=1e-5)
    s1, s2 = np.sign(flat(d1) @ u), np.sign(flat(d2) @ v)
    for state, a, b in zip(ckpts, alphas, betas):
        x, y = project(state, final, d1, d2)
        assert x == pytest.approx(s1 * a, abs=1e-4)
        assert y == pytest.approx(s2 * b, abs=1e-4)
    _, ratio = trajectory_pca(ckpts, final)
    assert ratio.sum() == pytest.approx(1.0, abs=1e-6) and ratio[0] > ratio[1]


def test_pca_2d_edge_cases():
    axes, ratio = pca_2d(np.array([[1.0, 0.0], [3.0, 0.0]]))
    assert np.allclose(axes[0], [1, 0]) and np.allclose(axes[1], 0)
    assert ratio.tolist() == [1.0, 0.0]
    with pytest.raises(ValueError):
        pca_2d(np.zeros((1, 3)))


def test_slicing_and_grid():
    state = {'conv1.weight': torch.zeros(8, 3, 3, 3),
             'l.weight': torch.zeros(8, 8, 3, 3), 'bn.weight': torch.zeros(8)}
    half = slice_state(state, 0.5)
    assert half['conv1.weight'].shape == (4, 3, 3, 3)  # the stem keeps RGB
    assert half['l.weight'].shape == (4, 4, 3, 3) and half['bn.weight'].shape == (8, )
    d = unslice_direction({'l.weight': torch.ones(4, 4, 3, 3)}, state)
    assert d['l.weight'].shape == (8, 8, 3, 3) and d['l.weight'].sum() == 144
    final = {'w': torch.zeros(2, 2)}
    d1, d2 = {'w': torch.eye(2)}, {'w': torch.ones(2, 2)}
    grid = evaluate_grid(lambda s: float(s['w'].sum()), final, d1, d2, [0, 1, 2], [0, 3])
    assert grid.tolist() == [[0, 2, 4], [12, 14, 16]]


def tiny_config(path: Path) -> Path:
    data_root = REPO / 'demo' / 'cifar10-mini'
    path.write_text(f"""
_base_ = ['{REPO}/configs/_base_/datasets/cifar10_bs512_simclr.py',
          '{REPO}/configs/_base_/default_runtime.py']
model = dict(
    type='SimCLR',
    backbone=dict(type='SlimmableResNetCIFAR', depth=18, stem_channels=8,
                  base_channels=8, widths=[1.0, 0.5]),
    neck=dict(type='NonLinearNeck', in_channels=64, hid_channels=32,
              out_channels=16, num_layers=2, with_avg_pool=True),
    head=dict(type='NCEHead', loss=dict(type='InfoNCELoss', temperature=0.1)))
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root='{data_root}'))
""")
    return path


def test_plot_trajectory_tool(tmp_path):
    from slimselfsup.apis import load_config
    from slimselfsup.registry import MODELS
    from slimselfsup.utils import register_all_modules
    register_all_modules()
    config = tiny_config(tmp_path / 'cfg.py')
    cfg = load_config(str(config))
    torch.manual_seed(0)
    model = MODELS.build(dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
    final = model.state_dict()
    rng = np.random.default_rng(0)
    paths = []
    for epoch in (1, 2, 3, 10):  # natural sort: 10 comes last
        state = {k: v + 0.01 * (11 - epoch) * torch.from_numpy(
            rng.standard_normal(v.shape)).float() if v.is_floating_point() else v
            for k, v in final.items()}
        paths.append(str(tmp_path / f'epoch_{epoch}.pth'))
        torch.save(dict(state_dict=state, meta=dict(epoch=epoch)), paths[-1])
    torch.save(dict(state_dict=final), tmp_path / 'final.pth')
    tool = load_tool('plot_trajectory')

    out = tmp_path / 'traj.png'
    result = tool.main(sorted(paths) + ['--final', str(tmp_path / 'final.pth'),
                                        '--out', str(out)])
    assert [Path(p).name for p in result['paths']] == \
        ['epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth', 'epoch_10.pth']
    assert result['coords'].shape == (4, 2)
    # epoch 1 moved furthest from the final weights
    dist = np.linalg.norm(result['coords'], axis=1)
    assert dist.argmax() == 0

    out_w = tmp_path / 'traj_w05.png'
    tool.main(paths + ['--final', str(tmp_path / 'final.pth'), '--out', str(out_w),
                       '--width', '0.5'])

    out_l = tmp_path / 'traj_landscape.png'
    result = tool.main(paths + ['--final', str(tmp_path / 'final.pth'), '--out',
                                str(out_l), '--landscape', str(config), '--grid', '3'])
    values = result['landscape']['values']
    assert values.shape == (3, 3) and np.isfinite(values).all() and values.min() > 0
    for png in (out, out_w, out_l):
        assert os.path.getsize(png) > 0
        with Image.open(png) as img:
            img.load()
