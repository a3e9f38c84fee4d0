"""The fast-step recipe through the Runner on the CPU: the paths a GPU takes, checked
where they can be. The GPU-data-path SimCLR recipe (CIFARTensorDataset, views made by
GPUMultiViewDataPreprocessor, BF16OptimWrapper, ChannelsLastHook) trains a narrow
ResNet-18 on real CIFAR-10 images: the backbone sees channels-last inputs and runs in
bf16 while the weights stay float32, and no hook or model code of ours makes the host
wait for the device during a step. ``torch.compile`` of the online encoder (inductor
on the CPU) gives the eager losses and updates."""
import copy
import sys
from pathlib import Path

import pytest
import torch
from mmpretrain.structures import DataSample

from slimselfsup.registry import RUNNERS

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tools' / 'benchmarks'))
import common  # noqa: E402
import presets  # noqa: E402

DEMO = REPO / 'demo' / 'cifar10-mini'


@pytest.fixture(scope='module')
def fast_run(tmp_path_factory) -> dict:
    """Two epochs of 4 steps; what the backbone saw and the syncs of every step."""
    cfg = common.load(presets.OURS_SIMCLR_GPU, presets.TINY_SIMCLR)
    cfg.work_dir = str(tmp_path_factory.mktemp('fast'))
    cfg.train_dataloader.batch_size = 8
    cfg.train_dataloader.dataset.update(data_root=str(DEMO), device='cpu',
                                        indices=list(range(0, 2000, 62)))
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h['type'] != 'KNNHook']
    cfg.train_cfg.max_epochs = 2
    cfg.param_scheduler = []
    cfg.log_level = 'WARNING'
    runner = RUNNERS.build(cfg)
    seen = []
    runner.model.backbone.conv1.register_forward_hook(
        lambda m, args, out: seen.append((args[0].is_contiguous(
            memory_format=torch.channels_last), out.dtype)))
    syncs = common.HostSyncCounter()
    loop = runner.train_loop
    run_iter = loop.run_iter

    def counted(*args, **kwargs):  # hooks before/after the iteration included
        with syncs.record():
            return run_iter(*args, **kwargs)

    loop.run_iter = counted
    before = copy.deepcopy(runner.model.backbone.state_dict())
    runner.train()
    return dict(runner=runner, seen=seen, syncs=syncs, before=before,
                iters=runner.iter)


@pytest.mark.slow
def test_bf16_and_channels_last_reach_the_backbone_and_weights_stay_fp32(fast_run):
    runner = fast_run['runner']
    assert fast_run['iters'] == 8 and len(fast_run['seen']) == 8
    assert all(cl and dtype == torch.bfloat16 for cl, dtype in fast_run['seen'])
    weights = dict(runner.model.backbone.named_parameters())
    assert all(p.dtype == torch.float32 for p in weights.values())
    assert all(p.is_contiguous(memory_format=torch.channels_last)
               for p in weights.values() if p.dim() == 4)
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(loss))
    moved = [not torch.equal(v, fast_run['before'][k])
             for k, v in runner.model.backbone.state_dict().items()
             if k.endswith('conv1.weight')]
    assert moved and all(moved)


@pytest.mark.slow
def test_no_host_sync_from_our_code_in_a_training_step(fast_run):
    events = fast_run['syncs'].events
    ours = [e for e in events if e[1].startswith('slimselfsup/')]
    assert ours == []
    # the counter does see the syncs of a step: mmengine's RuntimeInfoHook reads
    # every loss to the host each iteration (not ours)
    assert any('mmengine/' in where for _, where in events)


@pytest.mark.slow
def test_compiled_online_encoder_gives_the_eager_steps():
    """Inductor on the CPU compiles the backbone in place (names unchanged) and two
    training steps give the eager losses and weights."""
    cfg = common.load(presets.OURS_SIMCLR_CIFAR, presets.TINY_SIMCLR)
    settings = common.Settings(device=torch.device('cpu'))
    eager = common.build_model(cfg, settings)
    compiled = copy.deepcopy(eager)
    compiled.backbone.compile()  # inductor
    assert list(compiled.state_dict()) == list(eager.state_dict())
    inputs = common.make_inputs(2, 8, 32, settings)
    samples = [DataSample() for _ in range(8)]
    losses = {}
    for name, model in (('eager', eager), ('compiled', compiled)):
        # plain SGD: LARS's trust ratios would amplify the fused kernels' rounding
        wrapper, _ = common.build_optimizer(
            model, dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
            'slimselfsup', False)
        losses[name] = []
        for _ in range(2):
            loss = common.total_loss(model.loss(inputs, samples))
            wrapper.update_params(loss)
            losses[name].append(loss.item())
    assert losses['compiled'] == pytest.approx(losses['eager'], rel=1e-4, abs=1e-5)
    for (name, a), b in zip(eager.state_dict().items(), compiled.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), rtol=1e-3, atol=1e-4), name
