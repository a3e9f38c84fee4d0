"""MoCo v2's queue under 2-process DDP equals a 1-process run with the doubled batch.

The DDP side runs ``tests/dist/queue_ddp_worker.py`` under
``python -m torch.distributed.run --nproc_per_node 2`` (gloo, CPU); the reference
runs here, in one process, with the same model, data and optimiser imported from that
worker. GroupNorm keeps the normalisation independent of how the batch is split.
"""
import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

REPO = Path(__file__).resolve().parents[2]
WORKER = REPO / 'tests' / 'dist' / 'queue_ddp_worker.py'
STEPS = 3
B = 4  # per rank; queue_len 32 holds 4 global batches of 8
WORLD = 2

pytestmark = [
    pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()),
                       reason='torch.distributed with the gloo backend is unavailable'),
    pytest.mark.slow]  # subprocess or end-to-end runs


def load_worker():
    spec = importlib.util.spec_from_file_location('queue_ddp_worker', WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run_ddp(out: Path) -> None:
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [str(REPO)] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
    env.update(OMP_NUM_THREADS='1', MASTER_ADDR='127.0.0.1')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node',
           str(WORLD), '--master_addr', '127.0.0.1', '--master_port', str(free_port()),
           str(WORKER), '--out', str(out), '--steps', str(STEPS),
           '--batch-per-rank', str(B)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, \
        f'DDP worker failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n' \
        f'{proc.stderr[-6000:]}'


def assert_state_close(actual: dict, expected: dict, prefix: str, atol=1e-5):
    keys = [k for k in expected if k.startswith(prefix)]
    assert keys, f'no state entry starts with {prefix!r}'
    for key in keys:
        assert torch.allclose(actual[key].float(), expected[key].float(),
                              atol=atol, rtol=1e-4), \
            f'{key} differs: max abs diff ' \
            f'{(actual[key].float() - expected[key].float()).abs().max():.3g}'


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """The DDP run (both ranks' results) and the 1-process reference."""
    worker = load_worker()
    out = tmp_path_factory.mktemp('ddp')
    run_ddp(out)
    ranks = [torch.load(out / f'rank{r}.pth', map_location='cpu', weights_only=True)
             for r in range(WORLD)]

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = worker.build_model()
        initial_queue = model.queue.queue.clone()
        batch = worker.load_batch(WORLD * B)
        losses = worker.train(model, batch, STEPS)
        # Keys of the last step, recomputed from the final momentum encoder (GN has
        # no running statistics, and the encoder is updated before the keys).
        model.eval()
        with torch.no_grad():
            views = model.data_preprocessor(batch, training=True)['inputs']
            keys = torch.nn.functional.normalize(
                model.momentum_encoder(views[1])[0], dim=1)
    finally:
        torch.set_num_threads(threads)
    ref = dict(state_dict=model.state_dict(), initial_queue=initial_queue,
               losses=losses, last_keys=keys)
    return ranks, ref


def test_ddp_matches_doubled_batch(runs):
    ranks, ref = runs
    expected = ref['state_dict']
    for rank, result in enumerate(ranks):
        assert result['world_size'] == WORLD
        state = result['state_dict']
        assert set(state) == set(expected), f'rank {rank}: state_dict keys differ'
        # same starting queue: the comparison below is about the updates
        assert torch.equal(result['initial_queue'], ref['initial_queue'])
        assert int(state['queue.ptr']) == int(expected['queue.ptr']) \
            == STEPS * WORLD * B, f'rank {rank}: ptr {int(state["queue.ptr"])}'
        assert_state_close(state, expected, 'queue.queue')
        assert_state_close(state, expected, 'momentum_encoder.')
        assert_state_close(state, expected, 'backbone.')
        assert_state_close(state, expected, 'neck.')


def test_ddp_losses_average_to_full_batch_loss(runs):
    ranks, ref = runs
    # InfoNCE is a mean over anchors: the mean of the two ranks' local losses is the
    # loss of the doubled batch, at every step (so every step saw the same queue).
    ddp = torch.tensor([r['losses'] for r in ranks]).mean(dim=0)
    assert torch.allclose(ddp, torch.tensor(ref['losses']), atol=1e-5)


def test_queue_holds_the_gathered_keys_of_both_ranks(runs):
    ranks, ref = runs
    n = STEPS * WORLD * B
    for result in ranks:
        queue = result['state_dict']['queue.queue']
        initial = result['initial_queue']
        # every written row changed, the rows not reached yet did not
        assert not torch.isclose(queue[:n], initial[:n], atol=1e-3).all(dim=1).any()
        assert torch.equal(queue[n:], initial[n:])
        # the newest 2B rows are the keys of the whole doubled batch, rank 0's first
        newest = queue[n - WORLD * B:n]
        assert torch.allclose(newest, ref['last_keys'], atol=1e-5)
        assert torch.allclose(newest.norm(dim=1), torch.ones(WORLD * B), atol=1e-5)
