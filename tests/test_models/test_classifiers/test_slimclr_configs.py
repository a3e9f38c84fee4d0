"""SlimCLR linear-probe and supervised configs through the mmengine Runner, on real
CIFAR-10 images: per-width accuracy, loading a pretraining checkpoint, extracting a
width of a trained model."""
import importlib.util
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmpretrain.models import ImageClassifier

from slimselfsup.apis import load_config
from slimselfsup.models.backbones import SlimmableResNetCIFAR
from slimselfsup.registry import RUNNERS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
DEMO = osp.join(REPO, 'demo', 'cifar10-mini')
CFG = osp.join(REPO, 'configs', 'slimclr')
WIDTHS = (1.0, 0.5)
TINY = dict(depth=18, widths=WIDTHS, stem_channels=8, base_channels=8)


@pytest.fixture(scope='module')
def demo_subset(tmp_path_factory) -> str:
    """4 train and 2 test images of every class (the first N of a folder would all
    be airplanes)."""
    root = tmp_path_factory.mktemp('cifar')
    for split, n in (('train', 4), ('test', 2)):
        for cls in sorted(os.listdir(osp.join(DEMO, split))):
            os.makedirs(root / split / cls)
            for name in sorted(os.listdir(osp.join(DEMO, split, cls)))[:n]:
                os.symlink(osp.join(DEMO, split, cls, name), root / split / cls / name)
    return str(root)


def slimclr_checkpoint(path: str) -> dict:
    """A checkpoint laid out like our SlimCLR algorithms': online encoder under
    ``backbone.``/``neck.``, momentum encoder elsewhere, distinct BN statistics."""
    torch.manual_seed(1)
    backbone = SlimmableResNetCIFAR(**TINY)
    backbone.init_weights()
    for m in backbone.modules():
        if hasattr(m, 'bns'):
            for bn in m.bns:
                bn.running_mean.uniform_(-0.2, 0.2)
                bn.running_var.uniform_(0.5, 1.5)
                bn.weight.data.uniform_(0.5, 1.5)
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    state.update({f'target.backbone.{k}': torch.zeros_like(v)
                  for k, v in backbone.state_dict().items()})
    state['neck.mlp.0.weight'] = torch.randn(64, 64)
    torch.save(dict(state_dict=state, meta=dict(epoch=1)), path)
    return state


def tiny_cfg(name: str, work_dir: str, data_root: str, max_epochs: int = 1) -> Config:
    cfg = load_config(osp.join(CFG, name))
    cfg.model.backbone.update(TINY)
    cfg.model.head.update(in_channels=64, widths=WIDTHS)
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.update(batch_size=20, num_workers=0, persistent_workers=False)
        loader.dataset.update(data_root=data_root)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.update(max_epochs=max_epochs, val_interval=1)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.work_dir = work_dir
    return cfg


def check_metrics(metrics: dict) -> None:
    for w in WIDTHS:
        assert 0 <= metrics[f'accuracy_w{w}/top1'] <= metrics[f'accuracy_w{w}/top5'] \
            <= 100
    assert metrics['accuracy/top1'] == metrics['accuracy_w1.0/top1']
    assert list(metrics)[0] == 'accuracy/top1'


@pytest.mark.slow
def test_linear_probe_loads_slimclr_checkpoint_and_reports_every_width(tmp_path,
                                                                       demo_subset):
    ckpt = str(tmp_path / 'slimclr.pth')
    pretrained = slimclr_checkpoint(ckpt)
    cfg = tiny_cfg('benchmarks/slimmable-resnet18-cifar_linear-1xb256-coslr-100e_'
                   'cifar10.py', str(tmp_path / 'linear'), demo_subset, max_epochs=2)
    cfg.model.backbone.init_cfg.checkpoint = ckpt
    cfg.optim_wrapper.optimizer.lr = 0.5
    runner = RUNNERS.build(Config(cfg.to_dict()))
    heads = [fc.weight.detach().clone() for fc in runner.model.head.fcs]
    runner.train()

    for name, value in runner.model.backbone.state_dict().items():
        # weights and every width's BN statistics: loaded, then frozen
        assert torch.equal(value, pretrained['backbone.' + name]), name
    assert all(not torch.equal(fc.weight, h)
               for fc, h in zip(runner.model.head.fcs, heads))
    check_metrics(runner.test())

    # the per-width numbers are those of each width's own predictions
    model, correct = runner.model.eval(), {w: 0 for w in WIDTHS}
    with torch.no_grad():
        for data in runner.test_dataloader:
            data = model.data_preprocessor(data, False)
            labels = torch.cat([s.gt_label for s in data['data_samples']])
            for w, z in model.forward_widths(data['inputs']).items():
                correct[w] += int((z.argmax(1) == labels).sum())
    metrics = runner.test()
    for w in WIDTHS:
        assert metrics[f'accuracy_w{w}/top1'] == pytest.approx(100 * correct[w] / 20)


def load_extract_tool():
    path = osp.join(REPO, 'tools', 'model_converters', 'slimclr_extract.py')
    spec = importlib.util.spec_from_file_location('slimclr_extract', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_supervised_config_trains_every_width(tmp_path, demo_subset, real_images):
    cfg = tiny_cfg('supervised/slimmable-resnet18-cifar_1xb256-coslr-100e_cifar10.py',
                   str(tmp_path / 'sup'), demo_subset)
    cfg.default_hooks.checkpoint.interval = 1
    runner = RUNNERS.build(Config(cfg.to_dict()))
    stem = runner.model.backbone.bn1.bns
    before = [bn.running_mean.clone() for bn in stem]
    runner.train()
    assert all(not torch.equal(bn.running_mean, b) for bn, b in zip(stem, before))
    logs = runner.message_hub.log_scalars
    assert {'train/loss_w1.0', 'train/loss_w0.5'} <= set(logs)
    check_metrics(runner.test())

    # width 0.5 of the trained model (widths read from the checkpoint's config) is a
    # plain mmpretrain classifier with the shared fc's first 32 input columns
    out = tmp_path / 'w05.pth'
    load_extract_tool().main([osp.join(cfg.work_dir, 'epoch_1.pth'), '--width', '0.5',
                              '--out', str(out)])
    plain = ImageClassifier(
        backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=4, base_channels=4),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=32))
    plain.load_state_dict(torch.load(out)['state_dict'])
    plain.eval()
    model = runner.model.eval()
    model.set_width(0.5)
    with torch.no_grad():
        assert torch.allclose(plain(real_images[:4]), model(real_images[:4]), atol=1e-5)
