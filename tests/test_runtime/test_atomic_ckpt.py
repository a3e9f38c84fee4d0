"""Checkpoints are written atomically and resume falls back past corrupt ones.

* A real process saving a 20 MB checkpoint over and over is SIGKILLed at random
  moments: the file under the final name always loads completely.
* A real mmengine run (the tiny MoCo v2 of ``test_kill_resume``) leaves no
  temporary files; when its latest checkpoint is truncated or its bytes flipped,
  ``resume=True`` warns, names the file and resumes from the previous one; an
  explicit truncated checkpoint is an error that names it.
"""
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config
from test_kill_resume import CASES, REPO, write_config

from slimselfsup.registry import RUNNERS
from slimselfsup.utils.checkpoint_io import atomic_torch_save, checkpoint_problem

SAVER = '''
import importlib.util, sys, torch
spec = importlib.util.spec_from_file_location('checkpoint_io', {module!r})
io = importlib.util.module_from_spec(spec)
spec.loader.exec_module(io)  # only torch: no package import, fast start
path, i = sys.argv[1], 0
while True:
    io.atomic_torch_save({{'step': i, 'w': torch.full(({n},), float(i))}}, path)
    print(i, flush=True)
    i += 1
'''


N = 5_000_000  # 20 MB: a save takes long enough to be killed in the middle


@pytest.mark.slow
def test_sigkill_during_save_never_truncates(tmp_path):
    path = tmp_path / 'latest.pth'
    script = tmp_path / 'saver.py'
    module = REPO / 'slimselfsup' / 'utils' / 'checkpoint_io.py'
    script.write_text(SAVER.format(module=str(module), n=N))
    rng = random.Random(0)
    for trial in range(2):
        proc = subprocess.Popen([sys.executable, str(script), str(path)],
                                stdout=subprocess.PIPE, text=True)
        first = proc.stdout.readline()  # one complete save exists
        assert first.strip().isdigit(), first
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        assert checkpoint_problem(str(path)) is None
        ckpt = torch.load(path, weights_only=True)
        assert torch.equal(ckpt['w'], torch.full((N,), float(ckpt['step'])))
    # a killed save leaves at most its own temporary file, never the final name
    leftovers = [p for p in os.listdir(tmp_path) if p.endswith('.tmp')]
    assert all(p.startswith('.latest.pth.') for p in leftovers)


def test_atomic_save_keeps_old_file_when_writing_fails(tmp_path):
    path = tmp_path / 'ckpt.pth'
    atomic_torch_save({'w': torch.ones(3)}, str(path))
    with pytest.raises(Exception):
        atomic_torch_save({'w': torch.zeros(3), 'bad': lambda: 0}, str(path))
    assert torch.equal(torch.load(path, weights_only=True)['w'], torch.ones(3))
    assert os.listdir(tmp_path) == ['ckpt.pth']


def build_runner(work_dir, data_root, resume=False, load_from=None, iters=4):
    case = dict(CASES['iter'], interval=2, length=f'max_iters={iters}', total=iters)
    cfg = Config.fromfile(write_config(work_dir.parent / 'cfg.py', data_root, case))
    cfg.work_dir, cfg.log_level = str(work_dir), 'WARNING'
    cfg.resume, cfg.load_from = resume, load_from
    return RUNNERS.build(cfg)


@pytest.fixture(scope='module')
def trained(tmp_path_factory, data_root):
    work = tmp_path_factory.mktemp('run') / 'work'
    build_runner(work, data_root).train()
    return work


@pytest.mark.slow
def test_runner_writes_no_temporary_files(trained):
    names = sorted(os.listdir(trained))
    assert 'iter_2.pth' in names and 'iter_4.pth' in names
    assert not [n for n in names if n.endswith('.tmp')], names
    for name in ('iter_2.pth', 'iter_4.pth'):
        assert checkpoint_problem(str(trained / name)) is None


@pytest.mark.slow
@pytest.mark.parametrize('damage', ['truncate', 'flip', 'empty_last_checkpoint'])
def test_auto_resume_skips_corrupt_latest(trained, data_root, tmp_path, damage):
    work = tmp_path / 'work'
    work.mkdir()
    for name in ('iter_2.pth', 'iter_4.pth'):
        (work / name).write_bytes((trained / name).read_bytes())
    (work / 'last_checkpoint').write_text(str(work / 'iter_4.pth'))
    data = bytearray((work / 'iter_4.pth').read_bytes())
    if damage == 'truncate':
        (work / 'iter_4.pth').write_bytes(data[:len(data) // 2])
    elif damage == 'flip':
        data[len(data) // 2] ^= 0xFF
        (work / 'iter_4.pth').write_bytes(data)
    else:  # killed while mmengine rewrote last_checkpoint: iter_4 is still fine
        (work / 'last_checkpoint').write_text('')
    runner = build_runner(work, data_root, resume=True, iters=6)
    if damage == 'empty_last_checkpoint':
        runner.load_or_resume()
        assert runner.iter == 4
        return
    with pytest.warns(UserWarning, match=r'skipping checkpoint .*iter_4\.pth'):
        runner.load_or_resume()
    assert runner.iter == 2


@pytest.mark.slow
def test_explicit_truncated_checkpoint_is_named(trained, data_root, tmp_path):
    bad = tmp_path / 'iter_4.pth'
    data = (trained / 'iter_4.pth').read_bytes()
    bad.write_bytes(data[:1000])
    runner = build_runner(tmp_path / 'work', data_root, resume=True,
                          load_from=str(bad))
    with pytest.raises(RuntimeError, match=rf'checkpoint {bad} cannot be loaded: '
                       'it is truncated'):
        runner.load_or_resume()


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


@pytest.mark.slow
def test_temporary_file_of_a_killed_save_is_removed_by_the_next_save(tmp_path):
    """A real saver process is SIGKILLed while its temporary file exists; the next
    save of that name removes it (it used to stay forever: the name holds the pid
    of the killed process, which no later process has)."""
    path = tmp_path / 'latest.pth'
    script = tmp_path / 'saver.py'
    module = REPO / 'slimselfsup' / 'utils' / 'checkpoint_io.py'
    script.write_text(SAVER.format(module=str(module), n=N))
    for _ in range(20):  # the save may finish between seeing the file and the kill
        proc = subprocess.Popen([sys.executable, str(script), str(path)],
                                stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()  # one complete save exists
        tmp = tmp_path / f'.latest.pth.{proc.pid}.tmp'
        deadline = time.time() + 30
        while not tmp.exists() and time.time() < deadline:
            time.sleep(0.001)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        if tmp.exists():
            break
    assert tmp.exists()
    alive = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    busy = tmp_path / f'.latest.pth.{alive.pid}.tmp'  # a save still in progress
    busy.write_bytes(b'x')
    try:
        atomic_torch_save({'w': torch.ones(2)}, str(path))
        assert sorted(os.listdir(tmp_path)) == sorted(['latest.pth', 'saver.py',
                                                       busy.name])
    finally:
        alive.kill()
        alive.wait()


@pytest.mark.slow
def test_runner_save_removes_temporary_files_of_killed_saves(tmp_path, data_root):
    work = tmp_path / 'work'
    work.mkdir()
    stale = [work / f'.iter_{i}.pth.{dead_pid()}.tmp' for i in (2, 7)]
    for path in stale:
        path.write_bytes(b'half a checkpoint')
    other = work / f'.notes.txt.{dead_pid()}'  # not a temporary file of ours
    other.write_text('kept')
    build_runner(work, data_root, iters=2).train()
    names = os.listdir(work)
    assert 'iter_2.pth' in names and other.name in names
    assert not [n for n in names if n.endswith('.tmp')], names
