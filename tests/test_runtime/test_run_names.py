"""Two Runners built in the same second of one process each log into their own work
dir (mmengine named both after the second, and the second run's log went into the
first run's file)."""
import glob
import os.path as osp
import time

from realdata import DEMO, REPO

from slimselfsup.apis import load_config
from slimselfsup.registry import RUNNERS

CONFIG = 'configs/demo/slimclr-simclr_slimmable-resnet18_1xb256-coslr-12e_cifar10-mini.py'


def _cfg(work_dir):
    """The SlimCLR demo, one epoch of two batches of four images, no kNN."""
    cfg = load_config(osp.join(REPO, CONFIG))
    cfg.work_dir = str(work_dir)
    cfg.train_dataloader.update(batch_size=4, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.update(data_root=DEMO, indices=8)
    cfg.train_cfg.max_epochs = 1
    cfg.custom_hooks = []
    return cfg


def test_runners_of_one_second_log_into_their_own_work_dirs(tmp_path, monkeypatch):
    now = time.time()
    with monkeypatch.context() as m:  # both Runners start in the same second
        m.setattr(time, 'time', lambda: now)
        first = RUNNERS.build(_cfg(tmp_path / 'first'))
        second = RUNNERS.build(_cfg(tmp_path / 'second'))
    base = time.strftime('%Y%m%d_%H%M%S', time.localtime(now))
    # earlier Runners of this process may hold the plain name already
    assert first.timestamp.startswith(base) and second.timestamp.startswith(base + '-')
    assert second.timestamp != first.timestamp
    assert second.logger is not first.logger
    for runner in (first, second):
        runner.train()
    for name in ('first', 'second'):
        logs = glob.glob(osp.join(str(tmp_path / name), '*', '*.log'))
        assert len(logs) == 1, logs
        with open(logs[0]) as f:
            text = f.read()
        assert f"work_dir = '{tmp_path / name}'" in text  # the config dump of this run
        assert len([line for line in text.splitlines() if '(train) [1][2/2]' in line]) == 1
