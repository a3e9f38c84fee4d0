"""balloon_transfer.py (GPU benchmark, owed): commands, metric parsing, table."""
import importlib.util
import json
import os.path as osp

import pytest

from slimselfsup.apis import load_config

pytestmark = pytest.mark.slow  # subprocess or end-to-end runs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
spec = importlib.util.spec_from_file_location(
    'balloon_transfer', osp.join(REPO, 'tools/benchmarks/mmdetection/balloon_transfer.py'))
bt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bt)


def test_dry_run_pretrains_then_compares_with_random_init(tmp_path, capsys):
    bt.main(['--dry-run', '--work-dir', str(tmp_path), '--seeds', '0', '1',
             '--pretrain-epochs', '3', '--data-root', '/data/balloon'])
    cmds = [line for line in capsys.readouterr().out.splitlines() if line.startswith('+')]
    assert len(cmds) == 1 + 2 * 2
    assert 'tools/train.py' in cmds[0] and 'mocov2_resnet18_cifar10.py' in cmds[0]
    ckpt = osp.join(str(tmp_path), 'pretrain', 'epoch_3.pth')
    assert f'dist_train.sh {bt.CONFIG} 1 {ckpt} ' in cmds[1]
    assert f'dist_train.sh {bt.CONFIG} 1 none ' in cmds[2]
    assert 'val_evaluator.ann_file=/data/balloon/annotations/instances_val.json' in cmds[2]
    assert 'randomness.seed=1' in cmds[4]
    cfg = load_config(osp.join(str(tmp_path), 'mocov2_resnet18_cifar10.py'))
    assert cfg.model.backbone.type == 'ResNet' and cfg.train_cfg.max_epochs == 3
    assert cfg.param_scheduler[-1].T_max == 3


def test_final_metrics_and_table(tmp_path):
    vis = tmp_path / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    rows = [dict(loss=1.0, step=1),
            {**{f'coco/{k}': 0.1 for k in bt.KEYS}, 'step': 4},
            {**{f'coco/{k}': 0.25 for k in bt.KEYS}, 'step': 8}]
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in rows) + '\n')
    assert bt.final_metrics(str(tmp_path)) == {k: 0.25 for k in bt.KEYS}
    text = bt.table([dict(init='ours', seed=0, **{k: 0.2 for k in bt.KEYS}),
                     dict(init='ours', seed=1, **{k: 0.3 for k in bt.KEYS}),
                     dict(init='random', seed=0, **{k: 0.1 for k in bt.KEYS})])
    assert '| ours | mean | 25.0 | 25.0 | 25.0 | 25.0 |' in text
    assert '| random | 0 | 10.0 |' in text
