"""The compatibility shims applied by ``import slimselfsup``."""
import importlib.metadata
import importlib.util
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


def run_python(code: str, env: dict = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=300, env=env)


def test_missing_detection_ops_name_the_fix():
    """Without compiled ops (mmcv-lite) or mmdet, the import error says what to run;
    the finder never shadows a module that exists."""
    finder = compat.MissingDetectionFinder()
    spec = finder.find_spec('mmdet')
    with pytest.raises(ModuleNotFoundError, match=r'run `bash tools/install\.sh --det`') as err:
        spec.loader.create_module(spec)
    assert err.value.name == 'mmdet' and spec.origin is None
    assert finder.find_spec('mmdet.models') is None
    kinds = [getattr(f, '__name__', type(f).__name__) for f in sys.meta_path]
    assert kinds.index('MissingDetectionFinder') > kinds.index('PathFinder')
    assert importlib.util.find_spec('mmcv').origin  # real modules come first
    # mmcv's ops loader: a compiled extension that is not there names the fix
    from mmcv.utils import ext_loader
    with pytest.raises(ModuleNotFoundError, match=r"^mmcv's compiled ops are not installed "
                       r'.*run `bash tools/install\.sh --det`$') as err:
        ext_loader.load_ext('_no_such_ext', ['nms'])
    assert err.value.name == 'mmcv._no_such_ext'


def test_import_hook_leaves_the_ops_probe_of_mmengine_alone():
    """mmengine decides whether mmcv's ops exist with ``pkgutil.find_loader('mmcv._ext')``
    (every Runner, through ``revert_sync_batchnorm``). The import hook must not answer
    there: it made a lite install look full, and the SlimCLR demo failed under the lite
    install (the lite run itself is in test_install_switch.py)."""
    assert compat.MissingDetectionFinder().find_spec('mmcv._ext') is None


def test_lite_ops_warning_hidden_and_only_it():
    """mmcv-lite's MultiScaleDeformableAttention warning (mmcv.cnn.bricks.transformer,
    word for word) is not printed after ``import slimselfsup``; other warnings are."""
    lite = ('Fail to import ``MultiScaleDeformableAttention`` from '
            '``mmcv.ops.multi_scale_deform_attn``, You should install ``mmcv`` rather '
            'than ``mmcv-lite`` if you need this module. ')
    code = f'import warnings; warnings.warn({lite!r}); warnings.warn("other")'
    assert 'MultiScaleDeformableAttention' in run_python(code).stderr
    out = run_python('import slimselfsup; ' + code)
    assert out.returncode == 0, out.stderr
    assert 'MultiScaleDeformableAttention' not in out.stderr
    assert 'UserWarning: other' in out.stderr


def test_slimselfsup_base_configs(tmp_path):
    from mmengine.config import Config
    (tmp_path / 'mine.py').write_text(
        "_base_ = 'slimselfsup::slimclr/mocov2_r50_800e.py'\nmodel = dict(queue_len=8)\n")
    cfg = Config.fromfile(str(tmp_path / 'mine.py'))
    assert cfg.model.type == 'SlimCLRMoCoV2' and cfg.model.queue_len == 8
    assert cfg.default_scope == 'slimselfsup' and '_scope_' not in cfg.model
    # other packages' bases are mmengine's as before
    (tmp_path / 'mmp.py').write_text(
        "_base_ = 'mmpretrain::_base_/models/resnet18.py'\n")
    assert Config.fromfile(str(tmp_path / 'mmp.py')).model.backbone.depth == 18
    (tmp_path / 'bad.py').write_text("_base_ = 'slimselfsup::no/such.py'\n")
    with pytest.raises(FileNotFoundError) as err:
        Config.fromfile(str(tmp_path / 'bad.py'))
    from slimselfsup.utils.resources import resource_root
    assert str(err.value) == (
        f"slimselfsup::no/such.py: no such config in {resource_root()}/configs; give a "
        "path relative to that folder, e.g. 'slimselfsup::slimclr/mocov2_r50_800e.py'")
