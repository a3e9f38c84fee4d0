"""Every shipped config loads, and every pretraining/evaluation model builds."""
import glob
import os.path as osp

import pytest

from slimselfsup.apis import load_config
from slimselfsup.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p and '/mmdetection/' not in p)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_builds(path):
    cfg = load_config(path)
    assert cfg.default_scope == 'slimselfsup'
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    name = osp.basename(path)
    if name.endswith('_cifar10.py') and 'linear' not in name and '/benchmarks/' not in path \
            and '/supervised/' not in path:
        # CIFAR pretraining recipes monitor kNN accuracy online
        assert any(h['type'] == 'KNNHook' for h in cfg.custom_hooks), name
