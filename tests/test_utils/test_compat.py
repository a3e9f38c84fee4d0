"""The compatibility shims applied by ``import slimselfsup``."""
import importlib.metadata
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

import slimselfsup  # noqa: F401
from slimselfsup.utils import compat


def test_in1d_available_and_equals_isin():
    a, b = np.array([[1, 5], [3, 7]]), np.array([3, 5])
    assert np.in1d(a, b).tolist() == [False, True, True, False]
    assert np.in1d(a, b, invert=True).tolist() == [True, False, False, True]


def test_weights_only_load_of_mmengine_message_hub(tmp_path):
    """What mmengine writes into checkpoints loads with weights_only=True."""
    buf = HistoryBuffer()
    buf.update(np.float64(1.5))
    buf.update(2.5)
    ckpt = dict(state_dict={'w': torch.ones(2)},
                message_hub=dict(log_scalars={'train/loss': buf},
                                 runtime_info={'epoch': 3, 'arr': np.arange(3)}))
    path = tmp_path / 'ckpt.pth'
    torch.save(ckpt, path)
    loaded = torch.load(path, weights_only=True)
    assert loaded['message_hub']['log_scalars']['train/loss'].mean() == 2.0
    assert loaded['message_hub']['runtime_info']['arr'].tolist() == [0, 1, 2]


def test_weights_only_still_rejects_arbitrary_objects(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'x': subprocess.Popen}, path)
    with pytest.raises(Exception, match='weights_only|Unsupported global'):
        torch.load(path, weights_only=True)


@pytest.mark.slow
def test_multimodal_guard_only_acts_for_transformers_5():
    try:
        major = int(importlib.metadata.version('transformers').split('.')[0])
    except importlib.metadata.PackageNotFoundError:
        major = 0
    code = ('import slimselfsup; import mmpretrain.models; '
            'import mmpretrain.utils.dependency as d; print(d.WITH_MULTIMODAL)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    if major >= 5:
        assert out.stdout.strip().endswith('False')
    assert compat._transformers_major() == major
