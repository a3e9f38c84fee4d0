"""DCL: the loss against a hand computation, and the project's config trained by an
mmengine Runner on real CIFAR-10 images, found through ``custom_imports``."""
import math
import os.path as osp
import uuid

import pytest
import torch
from dcl import DCLLoss

from slimselfsup.apis import load_config
from slimselfsup.models.losses import info_nce
from slimselfsup.registry import MODELS, RUNNERS
from slimselfsup.utils import register_all_modules

register_all_modules()  # as tools/train.py does: mmpretrain's and our types, our scope
PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(osp.dirname(osp.dirname(PROJECT)), 'demo', 'cifar10-mini')
CONFIG = osp.join(PROJECT, 'configs', 'dcl_resnet18-cifar_1xb512-coslr-200e_cifar10.py')

POS = [[0.9], [0.2], [-0.3]]
NEG = [[0.1, -0.5, 0.7], [0.4, 0.0, -0.2], [0.8, 0.6, -0.9]]


def reference(pos, neg, temperature, sigma=None):
    """The paper's loss written out with floats: -w s+ / T + log sum_k e^{s_k / T}."""
    n = len(pos)
    weights = [1.0] * n
    if sigma is not None:
        e = [math.exp(p / sigma) for (p, ) in pos]
        weights = [2 - x / (sum(e) / n) for x in e]
    total = 0.0
    for (p, ), negs, w in zip(pos, neg, weights):
        total += -w * p / temperature + math.log(sum(math.exp(s / temperature)
                                                     for s in negs))
    return total / n


@pytest.mark.parametrize('temperature,sigma', [(0.1, None), (0.5, None), (0.2, 0.5)])
def test_loss_equals_hand_computation(temperature, sigma):
    loss = DCLLoss(temperature, sigma)(torch.tensor(POS), torch.tensor(NEG))
    assert loss.item() == pytest.approx(reference(POS, NEG, temperature, sigma), rel=1e-5)


def test_dcl_is_infonce_without_the_positive_in_its_denominator():
    torch.manual_seed(0)
    pos, neg = torch.rand(8, 1) * 2 - 1, torch.rand(8, 30) * 2 - 1
    dcl = DCLLoss(0.2)(pos, neg)
    # log(e^p + S) - p = log(S) - p + log(1 + e^p / S)
    gap = torch.log1p(torch.exp(pos[:, 0] / 0.2 - torch.logsumexp(neg / 0.2, dim=1)))
    torch.testing.assert_close(info_nce(pos, neg, 0.2).mean() - dcl, gap.mean())
    assert DCLLoss(0.2, loss_weight=2.0)(pos, neg).item() == pytest.approx(
        2 * dcl.item(), rel=1e-6)
    with pytest.raises(ValueError, match='temperature and sigma must be > 0'):
        DCLLoss(0.1, sigma=0.0)


@pytest.mark.slow
def test_config_runs_through_the_runner_on_real_images(tmp_path):
    """The project's config, shrunk to a narrow ResNet-18 on 64 demo images: the
    Runner builds SimCLR with DCL through custom_imports, trains 3 epochs and saves
    checkpoints; the loss on a fixed batch falls."""
    cfg = load_config(CONFIG)
    cfg.model.backbone = dict(type='ResNet_CIFAR', depth=18, stem_channels=8,
                              base_channels=8, norm_cfg=dict(type='BN'))
    cfg.model.neck.update(in_channels=64, hid_channels=64, out_channels=32)
    cfg.train_dataloader.update(batch_size=32, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.update(data_root=DEMO, indices=64)
    cfg.merge_from_dict({'train_cfg.max_epochs': 3, 'default_hooks.checkpoint.interval': 1,
                         'default_hooks.logger.interval': 1})
    cfg.param_scheduler = []
    cfg.custom_hooks = []  # the kNN monitor: tested in the core package
    cfg.update(work_dir=str(tmp_path), experiment_name=f'dcl-{uuid.uuid4().hex}',
               randomness=dict(seed=0), log_level='WARNING')
    runner = RUNNERS.build(cfg)
    assert isinstance(runner.model.head.loss_module, DCLLoss)
    runner.train()
    losses = runner.message_hub.log_scalars['train/loss'].data[0]
    assert len(losses) == 6 and all(math.isfinite(v) for v in losses)

    model = MODELS.build(cfg.model)
    data = runner.train_dataloader.collate_fn(
        [runner.train_dataloader.dataset[i] for i in range(32)])

    def fixed_batch_loss(epoch: int) -> float:
        state = torch.load(tmp_path / f'epoch_{epoch}.pth', weights_only=True)
        model.load_state_dict(state['state_dict'])
        model.train()
        with torch.no_grad():
            return model(**model.data_preprocessor(data, True), mode='loss')['loss'].item()

    assert fixed_batch_loss(3) < fixed_batch_loss(1) - 0.1
