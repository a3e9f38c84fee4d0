"""Contrastive-training monitors: the formulas against sums written out by hand, and
ContrastiveMonitorHook in a real SimCLR run on real images (values, one read-back per
record, the collapse warning)."""
import glob
import json
import math
import os.path as osp
import re
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from realdata import DEMO

from slimselfsup.analysis.monitors import (alignment, collapse_problems, effective_rank,
                                           embedding_monitors, similarity_monitors, uniformity)
from slimselfsup.models.losses import FlatNCELoss, InfoNCELoss


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_alignment_uniformity_effective_rank_by_hand():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 5)), rng.normal(size=(12, 5))
    ux, uy = _unit(x), _unit(y)
    align = sum(float(np.sum((ux[i] - uy[i])**2)) for i in range(12)) / 12
    pairs = [float(np.sum((ux[i] - ux[j])**2)) for i in range(12) for j in range(i + 1, 12)]
    unif = math.log(sum(math.exp(-2 * d) for d in pairs) / len(pairs))
    s = np.linalg.svd(x, compute_uv=False)
    p = s / s.sum()
    erank = math.exp(-sum(pk * math.log(pk) for pk in p))
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    assert alignment(tx, ty).item() == pytest.approx(align, rel=1e-6)
    assert uniformity(tx).item() == pytest.approx(unif, rel=1e-5)
    assert effective_rank(tx).item() == pytest.approx(erank, rel=1e-5)
    # alpha = 1: mean distance
    dist = sum(float(np.linalg.norm(ux[i] - uy[i])) for i in range(12)) / 12
    assert alignment(tx, ty, alpha=1).item() == pytest.approx(dist, rel=1e-6)


def test_effective_rank_extremes_and_collapse():
    same = torch.randn(1, 8).repeat(16, 1)  # every row the same vector
    assert effective_rank(same).item() == pytest.approx(1.0, abs=1e-4)
    assert uniformity(same).item() == pytest.approx(0.0, abs=1e-6)
    assert effective_rank(torch.eye(6)).item() == pytest.approx(6.0, rel=1e-6)
    values = {k: v.item() for k, v in embedding_monitors(same).items()}
    problems = collapse_problems(values)
    assert len(problems) == 2
    assert problems[0].startswith(f"effective_rank={values['effective_rank']:.4g} is below 1.5")
    assert problems[1].startswith(f"uniformity={values['uniformity']:.4g} is above -0.05")
    healthy = {k: v.item() for k, v in embedding_monitors(torch.eye(6)).items()}
    assert collapse_problems(healthy) == []


def test_similarity_monitors_match_the_losses_and_hand_values():
    torch.manual_seed(0)
    q, k, queue = (F.normalize(torch.randn(n, 16), dim=1) for n in (8, 8, 20))
    pos = (q * k).sum(1, keepdim=True)
    neg = q @ queue.T
    out = similarity_monitors(pos, neg, temperature=0.2)
    assert out['infonce'].item() == pytest.approx(InfoNCELoss(0.2)(pos, neg).item(),
                                                  rel=1e-5)
    flat = FlatNCELoss(0.2)(pos, neg)
    assert out['log_xi'].item() == pytest.approx(flat['loss'].item(), rel=1e-5)
    assert out['infonce_bound'].item() == pytest.approx(math.log(21))
    hardest = sum(max(neg[i].tolist()) for i in range(8)) / 8
    assert out['hardest_neg_cos'].item() == pytest.approx(hardest, rel=1e-6)
    assert out['pos_cos'].item() == pytest.approx(pos.mean().item(), rel=1e-6)
    assert out['cos_gap'].item() == pytest.approx(pos.mean().item() - hardest, rel=1e-5)
    # alignment from similarities equals the embedding form on the same pairs
    assert out['alignment'].item() == pytest.approx(alignment(q, k).item(), rel=1e-5)
    assert set(similarity_monitors(pos, neg)) == {'pos_cos', 'hardest_neg_cos', 'cos_gap',
                                                  'alignment'}


# --------------------------------------------------------------- the hook in a run
def _runner(work_dir, hook_cfg, backends=('LocalVisBackend', )):
    from mmengine.config import Config

    from slimselfsup.registry import RUNNERS
    from slimselfsup.utils import register_all_modules
    register_all_modules()
    cfg = Config(dict(
        default_scope='slimselfsup',
        work_dir=str(work_dir),
        model=dict(
            type='SimCLR',
            data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[125.3, 123.0, 113.9],
                                   std=[63.0, 62.1, 66.7], to_rgb=True),
            backbone=dict(type='ResNet', depth=18, base_channels=8, stem_channels=8,
                          norm_cfg=dict(type='BN')),
            neck=dict(type='NonLinearNeck', in_channels=64, hid_channels=32, out_channels=16,
                      num_layers=2, with_avg_pool=True),
            head=dict(type='NCEHead', loss=dict(type='InfoNCELoss', temperature=0.2))),
        train_dataloader=dict(
            batch_size=8, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            dataset=dict(type='ImageFolder', data_root=DEMO, data_prefix='test', indices=32,
                         pipeline=[dict(type='LoadImageFromFile'),
                                   dict(type='MultiView', num_views=2, transforms=[[
                                       dict(type='RandomFlip', prob=0.5)]]),
                                   dict(type='PackInputs')])),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=4),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                           checkpoint=dict(type='CheckpointHook', interval=100)),
        custom_hooks=[hook_cfg],
        randomness=dict(seed=0),
        visualizer=dict(type='Visualizer', vis_backends=[dict(type=b) for b in backends]),
        log_level='INFO'))
    return RUNNERS.get('SelfSupRunner').from_cfg(cfg)


def _scalars(work_dir):
    rows = []
    for path in glob.glob(osp.join(str(work_dir), '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            rows += [json.loads(line) for line in f]
    return {r['step']: r for r in rows if any(k.startswith('monitor/') for k in r)}


def test_hook_logs_what_a_direct_computation_gives(tmp_path):
    runner = _runner(tmp_path, dict(type='ContrastiveMonitorHook', interval=2))
    seen = {}
    calls = []

    def keep(module, inputs, output):  # the embeddings of every step, independently
        seen[runner.iter + 1] = output[0].detach().clone()

    runner.model.neck.register_forward_hook(keep)
    originals = {name: getattr(torch.Tensor, name) for name in ('tolist', 'item', 'cpu')}

    def counting(name):
        def read_back(self, *args, **kwargs):
            if sys._getframe(1).f_code.co_filename.endswith('contrastive_monitor_hook.py'):
                calls.append((name, runner.iter + 1))
            return originals[name](self, *args, **kwargs)
        return read_back

    for name in originals:
        setattr(torch.Tensor, name, counting(name))
    try:
        runner.train()
    finally:
        for name, method in originals.items():
            setattr(torch.Tensor, name, method)
    logged = _scalars(tmp_path)
    assert sorted(logged) == [2, 4]  # every 2 iterations
    # one read-back of the hook per record, none on other steps
    assert calls == [('tolist', 2), ('tolist', 4)]
    for step, row in logged.items():
        z = seen[step].double().numpy()
        b = len(z) // 2
        u = _unit(z)
        align = np.mean(np.sum((u[:b] - u[b:])**2, axis=1))
        d = [np.sum((u[i] - u[j])**2) for i in range(len(u)) for j in range(i + 1, len(u))]
        unif = math.log(np.mean(np.exp(-2 * np.array(d))))
        s = np.linalg.svd(z, compute_uv=False)
        p = s / s.sum()
        erank = math.exp(-np.sum(p * np.log(p)))
        assert row['monitor/alignment'] == pytest.approx(align, rel=1e-4)
        assert row['monitor/uniformity'] == pytest.approx(unif, rel=1e-4)
        assert row['monitor/effective_rank'] == pytest.approx(erank, rel=1e-4)
        # SimCLR: 2B anchors, 2B - 2 negatives each
        assert row['monitor/infonce_bound'] == pytest.approx(math.log(2 * b - 1))
        infonce, log_xi, hardest = [], [], []
        for i in range(2 * b):
            sims = u[i] @ u.T / 0.2
            j = (i + b) % (2 * b)
            negs = [sims[m] for m in range(2 * b) if m not in (i, j)]
            infonce.append(-sims[j] + math.log(math.exp(sims[j]) + sum(map(math.exp, negs))))
            log_xi.append(math.log(sum(math.exp(n - sims[j]) for n in negs)))
            hardest.append(max(negs) * 0.2)
        assert row['monitor/infonce'] == pytest.approx(np.mean(infonce), rel=1e-4)
        assert row['monitor/log_xi'] == pytest.approx(np.mean(log_xi), rel=1e-4, abs=1e-5)
        assert row['monitor/hardest_neg_cos'] == pytest.approx(np.mean(hardest), rel=1e-4)


def test_collapsed_embeddings_warn_once_naming_the_metric(tmp_path):
    runner = _runner(tmp_path, dict(type='ContrastiveMonitorHook', interval=1))
    # every row of the embedding made the same vector: a collapsed encoder
    runner.model.neck.register_forward_hook(
        lambda m, i, o: [o[0][:1].expand_as(o[0]).contiguous()])
    runner.train()
    with open(glob.glob(osp.join(str(tmp_path), '*', '*.log'))[0]) as f:
        log = f.read()
    rank = [line for line in log.splitlines() if 'effective_rank=' in line and 'WARNING' in line]
    unif = [line for line in log.splitlines() if 'uniformity=' in line and 'WARNING' in line]
    assert len(rank) == 1 and len(unif) == 1, log[-3000:]  # 4 records, warned once each
    assert re.search(r'ContrastiveMonitorHook at iteration 1: effective_rank=1(\.0+\d*)? is '
                     r'below 1.5: the embeddings span about one direction', rank[0]), rank[0]
    assert re.search(r'ContrastiveMonitorHook at iteration 1: uniformity=-?[0-9.e-]+ is above '
                     r'-0.05: the embeddings are nearly identical', unif[0]), unif[0]


def test_hook_needs_a_contrastive_model(tmp_path):
    runner = _runner(tmp_path, dict(type='ContrastiveMonitorHook', embed_module='nope',
                                    loss_module='head.nope'))
    with pytest.raises(ValueError, match=r"SimCLR has neither 'head.nope' .* nor 'nope'"):
        runner.train()


def test_monitors_reach_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    runner = _runner(tmp_path, dict(type='ContrastiveMonitorHook', interval=2),
                     backends=('LocalVisBackend', 'TensorboardVisBackend'))
    runner.train()
    logged = _scalars(tmp_path)
    events = EventAccumulator(glob.glob(osp.join(str(tmp_path), '*', 'vis_data'))[0])
    events.Reload()
    got = {e.step: e.value for e in events.Scalars('monitor/effective_rank')}
    assert got == pytest.approx({s: r['monitor/effective_rank'] for s, r in logged.items()})
