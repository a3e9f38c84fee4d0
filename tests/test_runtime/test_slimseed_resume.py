"""Resuming a Slimmable SEED run reproduces the uninterrupted run bit for bit.

Real mmengine runs through our ``SelfSupRunner`` on real CIFAR-10 images with the real
random one-view SEED pipeline (``configs/_base_/datasets/cifar10_bs256_seed.py``): run A
trains 3 epochs straight; run B trains 2, then a new runner resumes from
``epoch_2.pth`` and trains the third. The narrower widths join at epoch 2.4 (slow start),
i.e. inside the resumed part, so the fractional epoch that switches them on must come
back with the checkpoint too. Student weights at every width (switchable BNs included),
the teacher queue and its pointer, the optimiser and the scheduler must end up equal,
and the resumed teacher must still be the checkpoint's, frozen and in eval mode.
"""
import uuid

import pytest
import torch
from mmengine.config import Config
from realdata import REPO

from slimselfsup.registry import MODELS, RUNNERS

pytestmark = pytest.mark.slow  # six short end-to-end runs

BATCH, ITERS, EPOCHS, QUEUE_LEN = 8, 5, 3, 24  # the conftest data_root: 40 images
SLIM_START = 2.4  # iteration 12 of 15: after the resume point (iteration 10)
WIDTHS = (1.0, 0.5)
TEACHER = dict(
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8,
                  norm_cfg=dict(type='BN')),
    neck=dict(type='MoCoV2Neck', in_channels=64, hid_channels=32, out_channels=16,
              with_avg_pool=True))
STUDENT = dict(
    type='SlimSEED', queue_len=QUEUE_LEN, feat_dim=16, slim_start_epoch=SLIM_START,
    backbone=dict(type='SlimmableResNetCIFAR', depth=18, stem_channels=8,
                  base_channels=8, widths=WIDTHS),
    neck=dict(type='SlimmableMLPNeck', in_channels=64, hid_channels=64, out_channels=16,
              widths=WIDTHS, with_bias=True, with_hidden_bn=False, with_last_bias=True,
              with_last_bn=False),
    head=dict(type='SEEDHead'), teacher=TEACHER)
NARROW_BN = 'backbone.layer1.0.bn1.bns.1.'  # private to width 0.5


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory) -> str:
    """A 'pretrained' teacher: random weights, BN statistics unlike the init's."""
    torch.manual_seed(1)
    teacher = MODELS.build(dict(STUDENT, teacher_ckpt='unused')).target_generator.model
    state = {k: v + 0.1 * torch.rand_like(v) if 'running_var' in k else v
             for k, v in teacher.state_dict().items()}
    path = tmp_path_factory.mktemp('teacher') / 'epoch_200.pth'
    torch.save(dict(meta=dict(epoch=200), state_dict=state), path)
    return str(path)


def build_runner(work_dir, data_root: str, teacher_ckpt: str, max_epochs: int,
                 resume_from: str = None):
    data = Config.fromfile(f'{REPO}/configs/_base_/datasets/cifar10_bs256_seed.py')
    cfg = Config(dict(
        default_scope='slimselfsup',
        runner_type='SelfSupRunner',
        work_dir=str(work_dir),
        experiment_name=f'slimseed-resume-{uuid.uuid4().hex}',
        model=dict(STUDENT, teacher_ckpt=teacher_ckpt,
                   data_preprocessor=data.data_preprocessor),
        train_dataloader=dict(
            batch_size=BATCH, num_workers=0, drop_last=True,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
            dataset=dict(type='ImageFolder', data_root=data_root, data_prefix='train',
                         pipeline=data.train_pipeline)),
        optim_wrapper=dict(type='OptimWrapper', optimizer=dict(
            type='SGD', lr=0.06, momentum=0.9, weight_decay=5e-4)),
        # the schedule of the whole 3-epoch run, also for the interrupted part
        param_scheduler=[dict(type='CosineAnnealingLR', T_max=EPOCHS, by_epoch=True,
                              begin=0, end=EPOCHS, convert_to_iter_based=True)],
        train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=max_epochs),
        default_hooks=dict(
            runtime_info=dict(type='RuntimeInfoHook'),
            timer=dict(type='IterTimerHook'),
            logger=dict(type='LoggerHook', interval=1),
            param_scheduler=dict(type='ParamSchedulerHook'),
            checkpoint=dict(type='CheckpointHook', interval=1),
            sampler_seed=dict(type='DistSamplerSeedHook')),
        custom_hooks=[dict(type='RNGStateHook')],
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo')),
        randomness=dict(seed=0),
        log_level='WARNING',
        resume=resume_from is not None,
        load_from=resume_from))
    return RUNNERS.build(cfg)


def snapshot(runner) -> dict:
    return dict(
        model={k: v.detach().clone() for k, v in runner.model.state_dict().items()},
        optimizer=runner.optim_wrapper.state_dict(),
        scheduler=[s.state_dict() for s in runner.param_schedulers],
        epoch=runner.epoch, iter=runner.iter)


@pytest.fixture(scope='module')
def runs(data_root, teacher_ckpt, tmp_path_factory):
    straight = build_runner(tmp_path_factory.mktemp('a'), data_root, teacher_ckpt, EPOCHS)
    straight.train()
    dir_b = tmp_path_factory.mktemp('b')
    build_runner(dir_b, data_root, teacher_ckpt, 2).train()
    resumed = build_runner(dir_b, data_root, teacher_ckpt, EPOCHS,
                           resume_from=str(dir_b / 'epoch_2.pth'))
    resumed.train()
    epoch2 = torch.load(dir_b / 'epoch_2.pth', map_location='cpu', weights_only=True)
    return dict(straight=snapshot(straight), resumed=snapshot(resumed),
                resumed_runner=resumed, epoch2=epoch2['state_dict'])


def test_resume_is_bit_identical_at_every_width(runs):
    straight, resumed = runs['straight'], runs['resumed']
    assert resumed['epoch'] == straight['epoch'] == EPOCHS
    assert resumed['iter'] == straight['iter'] == EPOCHS * ITERS
    a, b = straight['model'], resumed['model']
    assert set(a) == set(b)
    for key in a:
        assert torch.equal(a[key], b[key]), (
            f'{key}: max abs diff {(a[key].float() - b[key].float()).abs().max():.3g}')
    assert int(b['queue.ptr']) == EPOCHS * ITERS * BATCH % QUEUE_LEN


def test_the_resumed_epoch_did_the_slow_start(runs, teacher_ckpt):
    """Width 0.5's private BN was untouched at the checkpoint (slow start) and trained
    after it: the sub-networks joined inside the resumed part."""
    epoch2, final = runs['epoch2'], runs['resumed']['model']
    fresh = MODELS.build(dict(STUDENT, teacher_ckpt=teacher_ckpt))
    fresh.init_weights()  # BN init is constant: weight 1, bias 0, mean 0, var 1
    init = fresh.state_dict()
    for leaf in ('weight', 'bias', 'running_mean', 'running_var'):
        key = NARROW_BN + leaf
        assert torch.equal(epoch2[key], init[key]), key
        assert not torch.equal(final[key], epoch2[key]), key
    for key in ('queue.queue', 'backbone.conv1.weight', 'neck.mlp.0.weight'):
        assert not torch.equal(final[key], epoch2[key]), key


def test_resume_restores_optimizer_and_scheduler(runs):
    straight, resumed = runs['straight'], runs['resumed']
    assert resumed['scheduler'] == straight['scheduler']
    opt_a, opt_b = straight['optimizer'], resumed['optimizer']
    assert opt_a['param_groups'] == opt_b['param_groups']
    assert set(opt_a['state']) == set(opt_b['state']) and opt_a['state']
    for idx, state in opt_a['state'].items():
        for name, value in state.items():
            assert torch.equal(opt_b['state'][idx][name], value), (idx, name)


def test_resumed_teacher_is_the_checkpoints_frozen_and_eval(runs, teacher_ckpt):
    teacher = runs['resumed_runner'].model.target_generator.model
    assert not teacher.training
    assert not any(p.requires_grad for p in teacher.parameters())
    saved = torch.load(teacher_ckpt, map_location='cpu', weights_only=True)['state_dict']
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, saved[key]), key
