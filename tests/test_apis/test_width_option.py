"""One width option for every evaluation config: ``--cfg-options
model.backbone.width=W`` runs the switchable linear probes and the slimmable Mask R-CNN
configs at that width of a slimmable checkpoint (SlimCLR, Slimmable SEED)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from slimselfsup.apis import load_config
from slimselfsup.registry import MODELS, RUNNERS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROBES = ('configs/slimclr/benchmarks/slimmable-resnet18-cifar_linear-1xb256-coslr-100e_'
          'cifar10.py',
          'configs/slimclr/benchmarks/slimmable-resnet50_linear-8xb128-coslr-90e_in1k.py')
DET = 'configs/benchmarks/mmdetection/mask-rcnn_slimmable-r50-w{}-fpn_syncbn_8xb8-1x_coco.py'
TINY = dict(depth=18, stem_channels=8, base_channels=8, widths=(1.0, 0.5))


def slimmable_checkpoint(path) -> dict:
    """A slimmable ResNet-18 (CIFAR stem) saved as a pretraining run saves it, each
    width with its own BN statistics."""
    torch.manual_seed(0)
    net = MODELS.build(dict(type='SlimmableResNetCIFAR', **TINY))
    net.init_weights()
    for m in net.modules():
        for bn in getattr(m, 'bns', ()):
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 1.5)
    state = {'backbone.' + k: v for k, v in net.state_dict().items()}
    torch.save(dict(state_dict=state, meta=dict(epoch=1)), path)
    return state


def probe(width, checkpoint=''):
    cfg = load_config(osp.join(REPO, PROBES[0]), {'model.backbone.width': width})
    cfg.model.backbone.update(TINY, init_cfg=dict(type='Pretrained', prefix='backbone.',
                                                  checkpoint=checkpoint))
    cfg.model.head.update(in_channels=64, widths=TINY['widths'])
    return cfg


@pytest.mark.parametrize('path', PROBES)
def test_probe_configs_take_one_width(path):
    cfg = load_config(osp.join(REPO, path), {'model.backbone.width': 0.25})
    model = MODELS.build(cfg.model)
    assert model.widths == (0.25, ) and model.test_width == 0.25
    assert model.backbone.widths == (1.0, 0.75, 0.5, 0.25)  # every width's BNs load
    assert model.backbone.width == 0.25
    assert model.head.widths == (0.25, )
    (fc, ) = model.head.fcs  # one probe, of that width
    assert fc.in_features == cfg.model.head.in_channels // 4


def test_probe_at_one_width_is_that_width_of_the_checkpoint(tmp_path, real_images):
    state = slimmable_checkpoint(tmp_path / 'slim.pth')
    model = MODELS.build(probe(0.5, str(tmp_path / 'slim.pth')).model)
    model.init_weights()
    model.eval()
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, state['backbone.' + key]), key
    reference = MODELS.build(dict(type='SlimmableResNetCIFAR', **TINY))
    reference.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()})
    reference.eval()
    reference.set_width(0.5)
    x = (real_images[:4] - 0.45) / 0.25
    with torch.no_grad():
        feats = reference(x)[-1].mean((2, 3))
        torch.testing.assert_close(model.extract_feat(x)[-1], feats, rtol=0, atol=0)
        logits = model.head.fcs[0](feats)
        samples = model.predict(x)
    assert samples[0].width_scores.shape == (1, 10)
    torch.testing.assert_close(torch.stack([s.pred_score for s in samples]),
                               logits.softmax(1))


def test_probe_width_the_checkpoint_does_not_have(tmp_path):
    with pytest.raises(ValueError, match=r"width 0.3 is not one of the backbone's widths "
                       r'\[1.0, 0.5\]'):
        MODELS.build(probe(0.3).model)
    cfg = probe(0.5)
    cfg.model.widths = [1.0, 0.5]
    with pytest.raises(ValueError, match=r'model.widths=\[1.0, 0.5\] and '
                       r'model.backbone.width=0.5 disagree'):
        MODELS.build(cfg.model)


def test_probe_of_widths_the_checkpoint_does_not_have(tmp_path):
    """mmengine's Pretrained init would only log the size mismatches and evaluate
    untrained BNs; the error names the checkpoint's widths and the config's."""
    slimmable_checkpoint(tmp_path / 'slim.pth')  # widths (1.0, 0.5)
    cfg = probe(0.75, str(tmp_path / 'slim.pth'))
    cfg.model.backbone.widths = cfg.model.head.widths = (1.0, 0.75, 0.5, 0.25)
    model = MODELS.build(cfg.model)
    with pytest.raises(ValueError, match=r"slim.pth \(prefix 'backbone.'\) holds widths "
                       r'\[1.0, 0.5\] but the backbone is built with widths '
                       r'\[1.0, 0.75, 0.5, 0.25\] \(asked for width 0.75\); set '
                       r'model.backbone.widths=\[1.0, 0.5\]'):
        model.init_weights()
    plain = MODELS.build(dict(type='ResNet_CIFAR', depth=18, stem_channels=8,
                              base_channels=8))
    torch.save({'state_dict': {'backbone.' + k: v for k, v in plain.state_dict().items()}},
               tmp_path / 'plain.pth')
    model = MODELS.build(probe(0.5, str(tmp_path / 'plain.pth')).model)
    with pytest.raises(ValueError, match=r'plain.pth .* holds no switchable BN .* not a '
                       'slimmable network, but SlimmableResNetCIFAR needs one'):
        model.init_weights()


@pytest.mark.slow
def test_probe_at_one_width_trains_and_reports_it(tmp_path, data_root):
    slimmable_checkpoint(tmp_path / 'slim.pth')
    cfg = probe(0.5, str(tmp_path / 'slim.pth'))
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.update(batch_size=20, num_workers=0, persistent_workers=False)
        loader.dataset.update(data_root=data_root, data_prefix='train')
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.work_dir = str(tmp_path / 'probe')
    runner = RUNNERS.build(Config(cfg.to_dict()))
    runner.train()
    metrics = runner.test()
    assert {k.split('/')[0] for k in metrics} == {'accuracy', 'accuracy_w0.5'}
    assert metrics['accuracy/top1'] == metrics['accuracy_w0.5/top1']


@pytest.mark.parametrize('width', [0.75, 0.5, 0.25])
def test_detection_configs_take_the_width_the_same_way(width):
    pytest.importorskip('mmdet', reason='the detection configs need mmdet '
                        '(bash tools/install.sh --det)')
    cfg = load_config(osp.join(REPO, DET.format('1.0')), {'model.backbone.width': width})
    own = load_config(osp.join(REPO, DET.format(width)))  # the per-width file
    assert cfg.model.backbone.width == own.model.backbone.width == width
    assert cfg.model.neck.in_channels == own.model.neck.in_channels == [
        int(64 * width) * 4 * 2**i for i in range(4)]
    # what the FPN reads is what the backbone gives
    from mmdet.registry import MODELS as DET_MODELS
    from mmengine.registry import DefaultScope

    import slimselfsup.models.backbones.det_slimmable_resnet  # noqa: F401
    with DefaultScope.overwrite_default_scope('mmdet'):
        backbone = DET_MODELS.build(dict(cfg.model.backbone, init_cfg=None,
                                         norm_cfg=dict(type='BN')))
        neck = DET_MODELS.build(cfg.model.neck)
    backbone.eval()
    with torch.no_grad():
        feats = backbone(torch.randn(1, 3, 64, 64))
        assert [f.shape[1] for f in feats] == cfg.model.neck.in_channels
        assert all(o.shape[1] == 256 for o in neck(feats))
