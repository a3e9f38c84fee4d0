"""SlimCLR's shared parts: loss weights, soft distillation, configs, the MoCo v3 LR
jump, and a real training run of a CIFAR config. Also the helpers of the three
``test_slimclr_*`` algorithm tests."""
import copy
import glob
import math
import os.path as osp
import uuid

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.registry import PARAM_SCHEDULERS

from slimselfsup.apis import load_config
from slimselfsup.models.algorithms import LOSS_WEIGHT_MODES, slim_loss_weights
from slimselfsup.models.losses import SoftDistillLoss
from slimselfsup.registry import MODELS, RUNNERS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'slimclr', '*.py')))
CIFAR = osp.join(REPO, 'demo', 'cifar10-mini')

WIDTHS = (1.0, 0.5)
SLIM_RESNET = dict(type='SlimmableResNet', depth=18, stem_channels=16, base_channels=16,
                   widths=WIDTHS)


# ----------------------------------------------------------------- helpers
def set_epoch(epoch: float, max_epochs: int = 10, iters_per_epoch: int = 10) -> None:
    """Make a fresh current MessageHub say training is at fractional ``epoch``."""
    hub = MessageHub.get_instance(f'slimclr-test-{uuid.uuid4().hex}')
    hub.update_info('iter', int(round(epoch * iters_per_epoch)))
    hub.update_info('max_iters', max_epochs * iters_per_epoch)
    hub.update_info('max_epochs', max_epochs)


def forward_losses(model, inputs: list) -> dict:
    """``model.loss`` of a real two-view batch (0-255 images), with the graph."""
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=None), True)
    return model.loss(data['inputs'], None)


def losses_on(model, inputs: list, restore=None) -> dict:
    """Per-key float losses under a copy of ``model`` (no side effects)."""
    probe = copy.deepcopy(model)
    if restore is not None:
        restore(probe)
    with torch.no_grad():
        return {k: float(v) for k, v in forward_losses(probe, inputs).items()}


def switchable_bn_params(model, index: int) -> list:
    """Affine parameters of the BN of width ``index`` in every switchable BN of the
    online network (backbone and neck)."""
    params = []
    for part in (model.backbone, model.neck):
        for m in part.modules():
            if hasattr(m, 'bns') and m.bns[index].affine:
                params += [m.bns[index].weight, m.bns[index].bias]
    return params


def has_grad(p: torch.Tensor) -> bool:
    return p.grad is not None and bool(p.grad.abs().sum() > 0)


def check_weighted_total(model, inputs: list, weights: list, alpha: float) -> None:
    """The total equals sum_i w_i * term_i, built by hand from the logged terms."""
    out = forward_losses(model, inputs)
    expected = weights[0] * out['ctr_w1.0']
    for w, width in zip(weights[1:], model.widths[1:]):
        term = out[f'ctr_w{width}']
        if model.distill:
            term = (1 - alpha) * term + alpha * out[f'kd_w{width}']
        expected = expected + w * term
    assert torch.allclose(out['loss'].detach(), expected, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------- tests
@pytest.mark.parametrize('mode,expected', [
    (0, [1, 1, 1, 1]),
    (1, [0.4, 0.3, 0.2, 0.1]),
    (2, [1, 0.75, 0.5, 0.25]),
    (3, [1.6, 1.2, 0.8, 0.4]),
    (5, [2.5, 1, 1, 1]),
    (6, [1.538, 1.077, 0.769, 0.615]),
    (7, [1.75, 1, 1, 1]),
    ([3, 2, 1, 0], [3, 2, 1, 0]),
])
def test_loss_weight_modes(mode, expected):
    assert slim_loss_weights(mode, (1.0, 0.75, 0.5, 0.25)) == pytest.approx(expected)


@pytest.mark.parametrize('widths', [(1.0, 0.75, 0.5, 0.25), (1.0, 0.5), (1.0, 0.5, 0.25)])
def test_named_loss_weight_modes_equal_the_reference_integers(widths):
    # the seven modes of the reference's --slim_loss_weighted, each under one name
    assert sorted(LOSS_WEIGHT_MODES.values()) == [0, 1, 2, 3, 5, 6, 7]
    for name, number in LOSS_WEIGHT_MODES.items():
        assert slim_loss_weights(name, widths) == slim_loss_weights(number, widths), name
    assert slim_loss_weights('full_plus_others', (1.0, 0.75, 0.5, 0.25)) == \
        [2.5, 1.0, 1.0, 1.0]


def test_loss_weight_errors():
    with pytest.raises(ValueError, match='unknown loss weight mode'):
        slim_loss_weights(4, (1.0, 0.5))
    with pytest.raises(ValueError, match="unknown loss weight mode 'full'; use one of "
                       r"\['equal', 'full_plus_others'"):
        slim_loss_weights('full', (1.0, 0.5))
    with pytest.raises(ValueError, match='2 loss weights for 3 widths'):
        slim_loss_weights([1, 1], (1.0, 0.5, 0.25))


def test_soft_distill_formula_and_teacher_gets_no_gradient():
    g = torch.Generator().manual_seed(0)
    student = torch.randn(6, 9, generator=g).requires_grad_()
    teacher = torch.randn(6, 9, generator=g).requires_grad_()
    loss = SoftDistillLoss(teacher_temperature=4.0, student_temperature=2.0)(
        student, teacher)
    ref = -(F.softmax(teacher / 4, 1) * F.log_softmax(student / 2, 1)).sum(1).mean() * 4
    assert torch.allclose(loss, ref)
    loss.backward()
    assert student.grad is not None and teacher.grad is None
    # a KL up to the teacher's entropy: same student gradient as F.kl_div
    student2 = student.detach().clone().requires_grad_()
    kl = F.kl_div(F.log_softmax(student2 / 2, 1), F.softmax(teacher.detach() / 4, 1),
                  reduction='batchmean') * 4
    kl.backward()
    assert torch.allclose(student.grad, student2.grad, atol=1e-6)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_configs_build(path):
    cfg = load_config(path)
    model = MODELS.build(cfg.model)
    assert type(model).__name__.startswith('SlimCLR')
    assert model.widths == (1.0, 0.75, 0.5, 0.25)
    assert model.loss_weights == [2.5, 1.0, 1.0, 1.0]
    assert model.distill and model.distill_alpha == 0.5
    assert model.slim_start_epoch == cfg.train_cfg.max_epochs / 2
    assert cfg.model_wrapper_cfg.find_unused_parameters
    if 'in1k' in path or path.endswith('mocov2_r50_800e.py'):
        assert cfg.train_dataloader.batch_size * 8 == 1024


def test_alias_is_the_800_epoch_recipe():
    alias = load_config(osp.join(REPO, 'configs/slimclr/mocov2_r50_800e.py'))
    full = load_config(osp.join(
        REPO, 'configs/slimclr/slimclr-mocov2_slimmable-resnet50_8xb128-amp-coslr-800e'
        '_in1k.py'))
    assert alias.model == full.model and alias.param_scheduler == full.param_scheduler
    assert alias.train_cfg.max_epochs == 800 and alias.model.slim_start_epoch == 400
    assert alias.optim_wrapper.optimizer.lr == 0.2


def _lr_curve(cfg, epoch_length: int) -> list:
    """The LR mmengine uses at every iteration under the config's schedulers."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=cfg.optim_wrapper.optimizer.lr)
    schedulers = []
    for sched in copy.deepcopy(cfg.param_scheduler):
        cls = PARAM_SCHEDULERS.get(sched.pop('type'))
        assert sched.pop('convert_to_iter_based')
        schedulers.append(cls.build_iter_from_epoch(
            optimizer, epoch_length=epoch_length, **sched))
    lrs = []
    for _ in range(cfg.train_cfg.max_epochs * epoch_length):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        for s in schedulers:
            s.step()
    return lrs


def test_mocov3_lr_jumps_to_slim_start_lr_at_slow_start():
    """Reference: from epoch 150 the cosine's base LR is 3.2 instead of 1.2, the
    cosine (after a 10-epoch warm-up) keeping its phase."""
    cfg = load_config(osp.join(
        REPO, 'configs/slimclr/slimclr-mocov3_slimmable-resnet50_8xb128-amp-lars-coslr'
        '-300e_in1k.py'))
    length, warm, total = 3, 10, 300
    lrs = _lr_curve(cfg, length)

    def cosine(base, it):
        return 0.5 * base * (1 + math.cos(math.pi * (it - warm * length)
                                          / ((total - warm) * length)))

    jump = 150 * length
    for it in (warm * length, 100 * length, jump - 1):
        assert lrs[it] == pytest.approx(cosine(1.2, it), rel=1e-6)
    for it in (jump, jump + 1, 200 * length, total * length - 1):
        assert lrs[it] == pytest.approx(cosine(3.2, it), rel=1e-6)
    # one iteration of cosine decay besides the jump
    assert lrs[jump] / lrs[jump - 1] == pytest.approx(
        3.2 / 1.2 * cosine(1, jump) / cosine(1, jump - 1), rel=1e-6)
    # 0.6 * (1 + cos(pi * 140 / 290)) = 0.63 -> 1.69
    assert (lrs[jump - 1], lrs[jump]) == pytest.approx((0.63, 1.69), abs=5e-3)
    assert lrs[0] < 1e-3 and lrs[warm * length] == pytest.approx(1.2)


def test_mocov2_lr_stays_continuous_at_slow_start():
    cfg = load_config(osp.join(
        REPO, 'configs/slimclr/slimclr-mocov2_slimmable-resnet50_8xb128-amp-coslr-200e'
        '_in1k.py'))
    lrs = _lr_curve(cfg, 2)
    jump = 100 * 2
    for it in (jump - 1, jump, jump + 1):  # the plain cosine of base LR 0.2
        assert lrs[it] == pytest.approx(
            0.1 * (1 + math.cos(math.pi * (it - 20) / (190 * 2))), rel=1e-6)


@pytest.mark.slow
@pytest.mark.skipif(not osp.isdir(osp.join(CIFAR, 'train')), reason='no demo data')
def test_cifar_config_trains_through_the_runner(tmp_path):
    """The CIFAR-10 SlimCLR-MoCo v2 config on 32 real images: 2 iterations of 16,
    sub-networks joining at epoch 0.5 (the 2nd iteration), then the online kNN."""
    cfg = load_config(osp.join(
        REPO, 'configs/slimclr/slimclr-mocov2_slimmable-resnet18-cifar_1xb512-coslr'
        '-200e_cifar10.py'))
    loader = dict(batch_size=16, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.update(loader)
    cfg.train_dataloader.dataset.update(data_root=CIFAR, indices=32)
    hook = cfg.custom_hooks[0]
    hook['k'] = 10
    for key in ('train_dataloader', 'val_dataloader'):
        hook[key].update(loader)
        hook[key].dataset.update(data_root=CIFAR, indices=32)
    cfg.merge_from_dict({'train_cfg.max_epochs': 1, 'model.queue_len': 64,
                         'model.slim_start_epoch': 0.5,
                         'default_hooks.logger.interval': 1})
    cfg.param_scheduler[0].update(T_max=1, end=1)
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = f'slimclr-{uuid.uuid4().hex}'
    runner = RUNNERS.build(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert len(scalars['train/ctr_w1.0'].data[0]) == 2  # both iterations
    for width in (0.75, 0.5, 0.25):  # only the iteration after slow start
        assert len(scalars[f'train/ctr_w{width}'].data[0]) == 1
        assert len(scalars[f'train/kd_w{width}'].data[0]) == 1
    assert all(math.isfinite(v) for v in scalars['train/loss'].data[0])
    assert int(runner.model.queue.ptr) == 32
    assert runner.model.backbone.width == 1.0
    assert runner.hooks[[type(h).__name__ for h in runner.hooks].index(
        'KNNHook')].last_result['num_val'] == 32
