"""Resuming a MoCo v2 run reproduces the uninterrupted run exactly.

Real mmengine runs through our ``SelfSupRunner`` on real CIFAR-10 images with the
real random two-view MoCo v2 pipeline of ``configs/_base_/datasets/cifar10_bs256_mocov2.py``:
run A trains 3 epochs straight; run B trains 2 epochs, then a new runner resumes
from ``epoch_2.pth`` (loaded with torch's ``weights_only=True`` default) and trains
the third. Weights, momentum encoder, queue, pointer, optimiser and scheduler must
end up equal.
"""
import os
import random
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from slimselfsup.engine.hooks import RNGStateHook
from slimselfsup.engine.hooks.rng_state_hook import set_rng_state
from slimselfsup.registry import RUNNERS
from slimselfsup.utils import register_all_modules

REPO = Path(__file__).resolve().parents[2]
CIFAR = REPO / 'demo' / 'cifar10-mini'
DATA_CFG = REPO / 'configs' / '_base_' / 'datasets' / 'cifar10_bs256_mocov2.py'
pytestmark = pytest.mark.skipif(not (CIFAR / 'train').is_dir(),
                                reason='no CIFAR-10 JPEG folders')

PER_CLASS = 7  # 70 images, 4 batches of 16 per epoch (drop_last)
BATCH = 16
EPOCHS = 3
QUEUE_LEN = 80  # the pointer ends at 192 % 80 = 32, after epoch 2 at 48
# bit-exact on CPU; CUDA runs use deterministic kernels but may reorder sums
TOL = dict(atol=1e-6, rtol=0) if torch.cuda.is_available() else dict(atol=0, rtol=0)
if torch.cuda.is_available():
    os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')


@pytest.fixture(scope='module')
def data_root(tmp_path_factory) -> str:
    """Symlinks to the first ``PER_CLASS`` training images of every class."""
    root = tmp_path_factory.mktemp('cifar')
    for cls in sorted(os.listdir(CIFAR / 'train')):
        (root / 'train' / cls).mkdir(parents=True)
        for name in sorted(os.listdir(CIFAR / 'train' / cls))[:PER_CLASS]:
            (root / 'train' / cls / name).symlink_to(CIFAR / 'train' / cls / name)
    return str(root)


def build_runner(work_dir: Path, data_root: str, max_epochs: int,
                 resume_from: str = None, rng_hook: bool = True,
                 resume: bool = None, seed: int = 0):
    """A tiny MoCo v2 (BN, shuffle-BN included) with the real MoCo v2 pipeline."""
    register_all_modules()
    data = Config.fromfile(str(DATA_CFG))
    cfg = Config(dict(
        default_scope='slimselfsup',
        runner_type='SelfSupRunner',
        work_dir=str(work_dir),
        experiment_name=f'resume-{uuid.uuid4().hex}',
        model=dict(
            type='MoCoV2',
            queue_len=QUEUE_LEN,
            feat_dim=16,
            momentum=0.99,
            data_preprocessor=data.data_preprocessor,
            backbone=dict(type='ResNet', depth=18, base_channels=8, stem_channels=8,
                          norm_cfg=dict(type='BN'), out_indices=(3, )),
            neck=dict(type='MoCoV2Neck', in_channels=64, hid_channels=32,
                      out_channels=16, with_avg_pool=True),
            head=dict(type='NCEHead',
                      loss=dict(type='InfoNCELoss', temperature=0.2))),
        train_dataloader=dict(
            batch_size=BATCH,
            num_workers=0,
            drop_last=True,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
            dataset=dict(type='ImageFolder', data_root=data_root,
                         data_prefix='train', pipeline=data.train_pipeline)),
        optim_wrapper=dict(type='OptimWrapper', optimizer=dict(
            type='SGD', lr=0.06, momentum=0.9, weight_decay=5e-4)),
        # the schedule of the whole 3-epoch run, also for the interrupted part
        param_scheduler=[dict(type='CosineAnnealingLR', T_max=EPOCHS,
                              by_epoch=True, begin=0, end=EPOCHS)],
        train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=max_epochs),
        default_hooks=dict(
            runtime_info=dict(type='RuntimeInfoHook'),
            timer=dict(type='IterTimerHook'),
            logger=dict(type='LoggerHook', interval=1),
            param_scheduler=dict(type='ParamSchedulerHook'),
            checkpoint=dict(type='CheckpointHook', interval=1),
            sampler_seed=dict(type='DistSamplerSeedHook')),
        custom_hooks=[dict(type='RNGStateHook')] if rng_hook else [],
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'),
                     mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0)),
        randomness=dict(seed=seed, deterministic=torch.cuda.is_available()),
        log_level='WARNING',
        resume=resume_from is not None if resume is None else resume,
        load_from=resume_from,
    ))
    return RUNNERS.build(cfg)


def final_state(runner) -> dict:
    return dict(
        model={k: v.detach().clone() for k, v in runner.model.state_dict().items()},
        optimizer=runner.optim_wrapper.state_dict(),
        lr=runner.optim_wrapper.get_lr()['lr'],
        scheduler=[s.state_dict() for s in runner.param_schedulers],
        epoch=runner.epoch,
        iter=runner.iter)


def assert_tensors_close(actual: dict, expected: dict, what: str):
    assert set(actual) == set(expected), f'{what}: keys differ'
    for key in expected:
        a, e = actual[key], expected[key]
        diff = (a.float() - e.float()).abs().max()
        assert torch.allclose(a.float(), e.float(), **TOL), \
            f'{what}[{key}] differs: max abs diff {diff:.3g}'


@pytest.fixture(scope='module')
def runs(data_root, tmp_path_factory):
    """Run A (3 epochs straight) and run B (2 epochs, then resumed for 1)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        dir_a = tmp_path_factory.mktemp('run_a')
        runner = build_runner(dir_a, data_root, EPOCHS)
        runner.train()
        straight = final_state(runner)

        dir_b = tmp_path_factory.mktemp('run_b')
        build_runner(dir_b, data_root, 2).train()
        ckpt = dir_b / 'epoch_2.pth'
        assert ckpt.is_file()
        resumed_runner = build_runner(dir_b, data_root, EPOCHS, resume_from=str(ckpt))
        resumed_runner.train()
        resumed = final_state(resumed_runner)
    finally:
        torch.set_num_threads(threads)
    return dict(straight=straight, resumed=resumed, ckpt=ckpt)


@pytest.mark.slow
def test_resume_reproduces_uninterrupted_run(runs):
    straight, resumed = runs['straight'], runs['resumed']
    assert resumed['epoch'] == straight['epoch'] == EPOCHS
    assert resumed['iter'] == straight['iter'] == EPOCHS * 4
    model = straight['model']
    # the third epoch (the resumed one in run B) moved weights, queue and pointer
    epoch2 = torch.load(runs['ckpt'], map_location='cpu',
                        weights_only=True)['state_dict']
    for key in ('queue.queue', 'backbone.conv1.weight', 'neck.mlp.0.weight',
                'momentum_encoder.module.0.conv1.weight'):
        assert not torch.allclose(model[key].cpu(), epoch2[key]), key
    assert int(epoch2['queue.ptr']) == 2 * 4 * BATCH % QUEUE_LEN
    assert int(model['queue.ptr']) == EPOCHS * 4 * BATCH % QUEUE_LEN
    for prefix in ('backbone.', 'neck.', 'momentum_encoder.', 'queue.'):
        part = lambda s: {k: v for k, v in s.items() if k.startswith(prefix)}  # noqa
        assert part(model), prefix
        assert_tensors_close(part(resumed['model']), part(model), 'model')
    assert int(resumed['model']['queue.ptr']) == int(model['queue.ptr'])


@pytest.mark.slow
def test_resume_restores_optimizer_and_scheduler(runs):
    straight, resumed = runs['straight'], runs['resumed']
    assert resumed['lr'] == pytest.approx(straight['lr'], abs=1e-12)
    assert resumed['scheduler'] == straight['scheduler']
    opt_a, opt_b = straight['optimizer'], resumed['optimizer']
    assert opt_a['param_groups'] == opt_b['param_groups']
    assert set(opt_a['state']) == set(opt_b['state']) and opt_a['state']
    for idx, state in opt_a['state'].items():
        assert_tensors_close(opt_b['state'][idx], state, f'optimizer state {idx}')


@pytest.mark.slow
def test_checkpoint_loads_with_weights_only(runs):
    """mmengine checkpoints (message hub, RNG state) pass torch's safe unpickler."""
    ckpt = torch.load(runs['ckpt'], map_location='cpu', weights_only=True)
    assert ckpt['meta']['epoch'] == 2
    assert 'queue.queue' in ckpt['state_dict']
    assert 'rng_state' in ckpt


def test_rng_state_round_trips_through_weights_only_checkpoint(tmp_path):
    """The saved state replays exactly the same random draws in all three RNGs."""
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    np.random.standard_normal()  # a cached Gaussian is part of numpy's state
    checkpoint = {}
    RNGStateHook().before_save_checkpoint(None, checkpoint)
    torch.save(checkpoint, tmp_path / 'ckpt.pth')
    expected = (random.random(), np.random.standard_normal(3), torch.rand(3))
    random.seed(10)
    np.random.seed(20)
    torch.manual_seed(30)
    set_rng_state(torch.load(tmp_path / 'ckpt.pth', weights_only=True)['rng_state'][0])
    assert random.random() == expected[0]
    np.testing.assert_array_equal(np.random.standard_normal(3), expected[1])
    assert torch.equal(torch.rand(3), expected[2])


def draws():
    return random.random(), float(np.random.rand()), float(torch.rand(()))


def reseed():
    random.seed(123)
    np.random.seed(123)
    torch.manual_seed(123)


@pytest.mark.slow
@pytest.mark.parametrize('seed', [0, None])
@pytest.mark.parametrize('resume', [True, False])
def test_rng_state_restored_only_on_resume(runs, data_root, tmp_path, resume, seed):
    """``resume`` restores the saved generators; ``load_from`` alone leaves them.

    With ``seed=None`` mmengine's ``Runner.resume`` re-seeds with the checkpoint's
    seed after loading; the hook re-applies the saved state in ``before_train``.
    """
    reseed()
    seeded = draws()
    # what run B drew right after saving epoch_2.pth: its first draws of epoch 3
    set_rng_state(torch.load(runs['ckpt'], weights_only=True)['rng_state'][0])
    saved = draws()
    assert saved != seeded

    # resume=False: `load_from` initialises the weights of a new run
    runner = build_runner(tmp_path, data_root, EPOCHS, resume_from=str(runs['ckpt']),
                          resume=resume, seed=seed)
    runner.train_loop  # built (drawing the sampler seed) before loading, as in train()
    reseed()
    runner.load_or_resume()
    runner.call_hook('before_train')  # what Runner.train() does next
    assert draws() == (saved if resume else seeded)
