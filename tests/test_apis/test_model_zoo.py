"""Model zoo: publish -> serve over HTTP -> verified download -> get_model.

A tiny MoCo v2 is really trained by mmengine through ``SelfSupRunner`` on real
CIFAR-10 images, published with ``tools/misc/publish_model.py`` (a real process)
and served by ``http.server`` on 127.0.0.1 in a thread, next to a corrupted copy
(same name, one byte flipped), a file that holds a pickled object, and an endpoint
that drops the connection halfway. ``SLIMSELFSUP_HOME`` points at a temporary
folder; a temporary model index lists the tiny model with ``Weights:`` on the
server.
"""
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import slimselfsup
from slimselfsup.apis import load_config, model_zoo
from slimselfsup.evaluation import extract_features
from slimselfsup.registry import RUNNERS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'test_runtime'))
from test_kill_resume import CASES, write_config  # noqa: E402

pytestmark = pytest.mark.slow  # subprocess or end-to-end runs

REPO = Path(__file__).resolve().parents[2]
NAME = 'mocov2_tiny_test'


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the folder; ``/truncated/X`` sends half of X and hangs up."""

    hits = []
    evil_name = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        type(self).hits.append(self.path)
        if self.path.startswith('/truncated/'):
            data = (Path(self.directory) / self.path.split('/')[-1]).read_bytes()
            self.send_response(200)
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture(scope='module')
def published(tmp_path_factory, data_root):
    """A really trained tiny MoCo v2, its config and its published file."""
    tmp = tmp_path_factory.mktemp('zoo')
    case = dict(CASES['iter'], interval=2, length='max_iters=2', total=2)
    config = write_config(tmp / f'{NAME}.py', data_root, case)
    cfg = Config.fromfile(config)
    cfg.work_dir, cfg.log_level = str(tmp / 'work'), 'WARNING'
    runner = RUNNERS.build(cfg)
    runner.train()
    trained = {k: v.clone() for k, v in runner.model.state_dict().items()}
    out = subprocess.run([sys.executable, str(REPO / 'tools/misc/publish_model.py'),
                          str(tmp / 'work' / 'iter_2.pth'), str(tmp / 'serve' / NAME)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    files = list((tmp / 'serve').glob(f'{NAME}-*.pth'))
    assert len(files) == 1
    return dict(tmp=tmp, config=config, trained=trained, file=files[0])


@pytest.fixture(scope='module')
def server(published):
    """HTTP server on 127.0.0.1 over the published folder."""
    serve = published['file'].parent
    good = published['file'].name
    os.makedirs(serve / 'bad', exist_ok=True)
    data = bytearray(published['file'].read_bytes())
    data[len(data) // 2] ^= 0xFF
    (serve / 'bad' / good).write_bytes(data)  # corrupted, same (hashed) name
    evil = serve / 'evil'
    evil.mkdir()
    torch.save({'state_dict': {}, 'obj': Handler}, evil / 'x.pth')
    digest = hashlib.sha256((evil / 'x.pth').read_bytes()).hexdigest()[:8]
    (evil / 'x.pth').rename(evil / f'evil-{digest}.pth')
    Handler.evil_name = f'evil-{digest}.pth'
    httpd = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), lambda *a: Handler(*a, directory=str(serve)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv('SLIMSELFSUP_HOME', str(tmp_path / 'home'))
    return tmp_path / 'home' / 'checkpoints'


@pytest.fixture
def index(published, server, tmp_path, monkeypatch):
    """A model index listing the tiny model with Weights on the server."""
    (tmp_path / 'metafile.yml').write_text(
        f'Models:\n  - Name: {NAME}\n    Config: {published["config"]}\n'
        f'    Weights: {server}/{published["file"].name}\n'
        f'  - Name: {NAME}_unpublished\n    Config: {published["config"]}\n')
    (tmp_path / 'model-index.yml').write_text('Import:\n  - metafile.yml\n')
    monkeypatch.setattr(model_zoo, 'MODEL_INDEX', str(tmp_path / 'model-index.yml'))


def test_published_file_is_stripped_and_named_by_its_hash(published):
    path = published['file']
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert path.name == f'{NAME}-{digest[:8]}.pth'
    ckpt = torch.load(path, weights_only=True)
    assert set(ckpt) == {'meta', 'state_dict'}
    assert ckpt['meta']['iter'] == 2 and 'cfg' in ckpt['meta']
    for key, value in published['trained'].items():
        assert torch.equal(ckpt['state_dict'][key], value), key


def test_get_model_downloads_verifies_caches_and_loads(index, home, published):
    Handler.hits.clear()
    model = slimselfsup.get_model(NAME, pretrained=True)
    cached = home / published['file'].name
    assert cached.is_file() and not list(home.glob('*.part'))
    for key, value in published['trained'].items():
        assert torch.equal(model.state_dict()[key], value), key
    assert 'queue.queue' in published['trained']
    slimselfsup.get_model(NAME, pretrained=True)  # second time: from the cache
    assert len(Handler.hits) == 1


def test_corrupted_download_is_rejected_and_not_cached(server, home, published):
    with pytest.raises(RuntimeError, match='does not match the expected .*Nothing '
                       'was cached'):
        model_zoo.download_checkpoint(f'{server}/bad/{published["file"].name}')
    assert not home.exists() or not os.listdir(home)


def test_partial_download_never_lands_under_final_name(server, home, published):
    with pytest.raises(ConnectionError, match=str(home / published['file'].name)):
        model_zoo.download_checkpoint(f'{server}/truncated/{published["file"].name}')
    assert not home.exists() or not os.listdir(home)


def test_offline_message_names_exact_path_and_manual_copy_works(home, published, index):
    url = f'http://127.0.0.1:9/{published["file"].name}'  # discard port: refused
    expected = home / published['file'].name
    with pytest.raises(ConnectionError, match=f'put it at\n  {expected}\n'):
        model_zoo.download_checkpoint(url)
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(published['file'], expected)  # what the message says to do
    assert model_zoo.download_checkpoint(url) == str(expected)


def test_pickled_objects_are_refused(server, home):
    """A hash-verified file may still hold pickled code: loading refuses it."""
    path = model_zoo.download_checkpoint(f'{server}/evil/{Handler.evil_name}')
    with pytest.raises(RuntimeError, match='weights-only loading refuses'):
        model_zoo.load_checkpoint_file(path)


def test_download_tool_real_process(server, tmp_path, published):
    env = dict(os.environ, SLIMSELFSUP_HOME=str(tmp_path / 'h'))
    url = f'{server}/{published["file"].name}'
    out = subprocess.run([sys.executable, str(REPO / 'tools/misc/download_ckpt.py'),
                          url], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == str(tmp_path / 'h' / 'checkpoints' /
                                     published['file'].name)
    with pytest.raises(ValueError, match='no sha256 prefix'):
        model_zoo.download_checkpoint(f'{server}/no-hash.pth')


def test_names_and_errors(index, tmp_path, published):
    assert model_zoo.list_models() == [NAME, f'{NAME}_unpublished']
    with pytest.raises(KeyError, match=f"did you mean \\['{NAME}'"):
        slimselfsup.get_model('mocov2_tiny_tset')
    with pytest.raises(ValueError, match='has no published weights'):
        slimselfsup.get_model(f'{NAME}_unpublished', pretrained=True)
    # a checkpoint of another architecture: named, with the mismatching keys
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(3, 3, 3, 3)}},
               other)
    with pytest.raises(RuntimeError, match='does not fit model .*another architecture'
                       r'.*shape mismatches \[.backbone.conv1.weight'):
        slimselfsup.get_model(NAME, pretrained=str(other))
    # overrides reach the config's model dict
    model = slimselfsup.get_model(NAME, pretrained=False, queue_len=16)
    assert 16 in model.queue.queue.shape


def test_every_metafile_model_is_listed():
    names = model_zoo.list_models()
    for meta in (REPO / 'configs').glob('*/metafile.yml'):
        import yaml
        for entry in yaml.safe_load(meta.read_text()).get('Models') or []:
            assert entry['Name'] in names
            assert Path(model_zoo.model_info(entry['Name'])['Config']).is_file()


def test_get_model_carries_the_preprocessing_it_was_trained_with(
        tmp_path, monkeypatch, data_root):
    """A shipped config whose data_preprocessor (CIFAR mean/std, BGR->RGB) is a
    top-level key, as in mmpretrain: the zoo model must extract the same features
    from real images as the model the Runner trained (it once got cosine 0.61)."""
    config = REPO / 'configs/mocov2/mocov2_resnet18-cifar_1xb512-coslr-200e_cifar10.py'
    small = dict(queue_len=64, backbone=dict(stem_channels=16, base_channels=16),
                 neck=dict(in_channels=128, hid_channels=64))
    cfg = load_config(str(config), {
        'model.queue_len': 64, 'model.backbone.stem_channels': 16,
        'model.backbone.base_channels': 16, 'model.neck.in_channels': 128,
        'model.neck.hid_channels': 64, 'train_dataloader.batch_size': 8,
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'train_dataloader.dataset.data_root': data_root, 'train_cfg.max_epochs': 1,
        'default_hooks.checkpoint.interval': 1, 'custom_hooks': [],
        'randomness.seed': 0})
    assert 'data_preprocessor' not in cfg.model and cfg.data_preprocessor.to_rgb
    cfg.work_dir, cfg.log_level = str(tmp_path / 'work'), 'WARNING'
    runner = RUNNERS.build(cfg)
    runner.train()

    (tmp_path / 'metafile.yml').write_text(
        f'Models:\n  - Name: mocov2_cifar\n    Config: {config}\n')
    (tmp_path / 'model-index.yml').write_text('Import:\n  - metafile.yml\n')
    monkeypatch.setattr(model_zoo, 'MODEL_INDEX', str(tmp_path / 'model-index.yml'))
    zoo = slimselfsup.get_model('mocov2_cifar', pretrained=str(tmp_path / 'work' /
                                                               'epoch_1.pth'), **small)

    loader = dict(cfg.knn_val_dataloader, num_workers=0, persistent_workers=False,
                  batch_size=20)
    loader['dataset'] = dict(loader['dataset'], data_root=str(REPO / 'demo/cifar10-mini'),
                             indices=60)
    trained_feats, labels = extract_features(
        runner.model, runner.build_dataloader(loader, seed=0))
    zoo_feats, zoo_labels = extract_features(zoo, runner.build_dataloader(loader, seed=0))
    assert torch.equal(labels, zoo_labels) and len(labels) == 60
    # features are L2-normalised: the smallest cosine over 60 real test images
    assert (trained_feats * zoo_feats).sum(1).min() > 1 - 1e-5
    torch.testing.assert_close(zoo_feats, trained_feats, rtol=1e-4, atol=1e-5)
