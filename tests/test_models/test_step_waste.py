"""What a GPU would pay for needlessly in a training step, checked on the CPU: host
synchronisations (counted with tools/benchmarks/common.HostSyncCounter, which records
the operations that make a GPU host wait), copies that a view avoids, and LARS
computed without reading values back to the host."""
import copy
import sys
from pathlib import Path

import pytest
import torch
from mmpretrain.engine.optimizers import LARS as MMPretrainLARS
from mmpretrain.structures import DataSample
from realdata import load_real_images

from slimselfsup.engine.optimizers import LARS
from slimselfsup.models.data_preprocessors import concat_views
from slimselfsup.models.utils import FeatureQueue, shuffle_batch, unshuffle_batch
from slimselfsup.registry import MODELS, OPTIMIZERS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'tools' / 'benchmarks'))
import common  # noqa: E402
import presets  # noqa: E402


def lars_groups(model, cls, per_param=False, **kwargs):
    """Groups like our LARS recipes: weights adapted, BN and biases excluded (one
    group per parameter as mmengine's paramwise_cfg makes them, or two)."""
    adapted = [p for n, p in model.named_parameters() if n.endswith('weight')
               and p.dim() > 1]
    excluded = [p for n, p in model.named_parameters() if not (
        n.endswith('weight') and p.dim() > 1)]
    if per_param:
        groups = [dict(params=[p]) for p in adapted]
        groups += [dict(params=[p], weight_decay=0., lars_exclude=True) for p in excluded]
        return cls(groups, **kwargs)
    return cls([dict(params=adapted),
                dict(params=excluded, weight_decay=0., lars_exclude=True)], **kwargs)


@pytest.mark.parametrize('per_param', [False, True])
@pytest.mark.parametrize('kwargs', [
    dict(lr=0.3, momentum=0.9, weight_decay=1e-4),
    dict(lr=0.1, momentum=0.9, weight_decay=1e-6, nesterov=True),
    dict(lr=0.2, weight_decay=0.),
])
def test_lars_matches_mmpretrain_lars_without_host_syncs(kwargs, per_param):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8),
                              torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(8 * 6 * 6, 4))
    with torch.no_grad():
        net[4].bias.zero_()  # a zero parameter: trust ratio 1, as in mmpretrain
    ref, start = copy.deepcopy(net), copy.deepcopy(net)
    ours = lars_groups(net, LARS, per_param, **kwargs)
    theirs = lars_groups(ref, MMPretrainLARS, per_param, **kwargs)
    x = torch.randn(6, 3, 8, 8)
    for step in range(3):
        for model, opt in ((net, ours), (ref, theirs)):
            opt.zero_grad()
            model(x * (step + 1)).square().mean().backward()
            if opt is ours:
                syncs = common.HostSyncCounter()
                with syncs.record():
                    opt.step()
                assert len(syncs) == 0, syncs.by_place()
            else:
                opt.step()
        for a, b in zip(net.parameters(), ref.parameters()):
            assert torch.allclose(a, b, rtol=1e-5, atol=1e-7)
    moved = [not torch.equal(a, b) for a, b in zip(net.parameters(), start.parameters())]
    assert moved == [True, True, True, True, True, True]  # bias 0 included
    assert OPTIMIZERS.get('LARS') is LARS  # our recipes' type='LARS' resolves to it


def test_lars_rejects_bad_arguments():
    params = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError, match='LARS: lr must be >= 0'):
        LARS(params, lr=-1.)
    with pytest.raises(ValueError, match='Nesterov momentum needs momentum > 0'):
        LARS(params, lr=0.1, nesterov=True)


@pytest.mark.parametrize('preset', ['tiny'])
def test_mocov2_and_simclr_steps_make_no_host_sync(preset):
    """The whole model step of our tiny MoCo v2 and SimCLR recipes (loss, momentum
    update, queue, backward, the recipe's optimizer: SGD and LARS) reads nothing back
    to the host. Before: MoCo read the queue pointer (``int(ptr)``), SimCLR selected
    negatives with a boolean mask (forward and backward) and mmpretrain's LARS read
    two norms per parameter."""
    settings = common.Settings(device=torch.device('cpu'))
    for case in presets.PRESETS[preset].cases:
        cfg = common.load(case.ours_config, case.ours_overrides)
        model = common.build_model(cfg, settings)
        wrapper, _ = common.build_optimizer(model, cfg.optim_wrapper, 'slimselfsup',
                                            False)
        inputs = common.make_inputs(2, 8, 32, settings)
        step = common.make_step(model, wrapper, inputs,
                                [DataSample() for _ in range(8)], settings)
        step()
        syncs = common.HostSyncCounter()
        with syncs.record():
            step()
        assert len(syncs) == 0, (case.name, syncs.by_place())


def test_queue_pointer_is_read_once_and_follows_loading():
    queue = FeatureQueue(length=8, dim=2)
    keys = torch.nn.functional.normalize(torch.randn(2, 2), dim=1)
    syncs = common.HostSyncCounter()
    queue.enqueue(keys)  # the first reads the pointer once
    with syncs.record():
        queue.enqueue(keys)
    assert len(syncs) == 0 and int(queue.ptr) == 4
    state = queue.state_dict()
    state['ptr'] = torch.tensor([6])
    queue.load_state_dict(state)
    queue.enqueue(-keys)
    assert int(queue.ptr) == 0 and torch.equal(queue.queue[6:], -keys)


def test_queue_copy_is_cast_once_for_autocast():
    queue = FeatureQueue(length=8, dim=4)
    copy_ = queue(torch.bfloat16)
    assert copy_.dtype == torch.bfloat16 and copy_.data_ptr() != queue.queue.data_ptr()
    same = queue()
    assert same.dtype == torch.float32 and same.data_ptr() != queue.queue.data_ptr()
    assert torch.equal(same, queue.queue)


def test_preprocessor_views_are_slices_that_simclr_takes_without_a_copy():
    pre = MODELS.build(dict(type='GPUMultiViewDataPreprocessor', mean=[0.] * 3,
                            std=[1.] * 3, channels_last=True,
                            views=[dict(num_views=2, crop_size=16)]))
    images = (load_real_images(4) * 255).to(torch.uint8)
    views = pre(dict(inputs=images, data_samples=None), True)['inputs']
    assert all(v.is_contiguous(memory_format=torch.channels_last) for v in views)
    batch = concat_views(views)
    assert batch.data_ptr() == views[0].data_ptr() and batch.shape[0] == 8
    assert torch.equal(batch, torch.cat(views))
    separate = [v.clone() for v in views]
    assert torch.equal(concat_views(separate), batch)
    assert concat_views(separate).data_ptr() != separate[0].data_ptr()
    assert torch.equal(concat_views(views[::-1]), torch.cat(views[::-1]))


def test_batch_shuffle_is_skipped_in_one_process():
    x = torch.randn(4, 3)
    shuffled, idx = shuffle_batch(x)
    assert shuffled is x and idx is None and unshuffle_batch(x, idx) is x
