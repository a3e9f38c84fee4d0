"""Mask R-CNN transfer through mmdet: our pretraining -> balloon fine-tune -> COCO mAP.

Every config in configs/benchmarks/mmdetection/ loads with our loader and builds in
mmdet's scope with matching FPN channels; a MoCo v2 ResNet-18 pretrained here for
two iterations is fine-tuned on the real balloon images with the runner that
``tools/train.py`` builds, and evaluated with mmdet's CocoMetric (bbox and segm).
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from slimselfsup.apis import load_config
from slimselfsup.registry import RUNNERS
from slimselfsup.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG_DIR = osp.join(REPO, 'configs', 'benchmarks', 'mmdetection')
CONFIGS = sorted(glob.glob(osp.join(CFG_DIR, '*.py')))
BALLOON = osp.join(REPO, '..', 'shared', 'data', 'balloon')
DEMO = osp.join(REPO, 'demo', 'cifar10-mini')
needs_balloon = pytest.mark.skipif(
    not osp.isdir(BALLOON), reason=f'balloon data not found at {BALLOON} (the real '
    'COCO-format set beside the repo, see configs/benchmarks/mmdetection/README.md)')


def _build_runner(cfg: Config):
    """Build the runner as ``tools/train.py`` does. A runner leaves its config's scope
    (``mmdet`` here) current, so every build starts again from ours."""
    register_all_modules()
    cfg.setdefault('runner_type', 'SelfSupRunner')
    return RUNNERS.build(cfg)


def _pretrain_mocov2_r18(work_dir: str) -> str:
    """Two real MoCo v2 iterations of an ImageNet-stem ResNet-18 on demo images."""
    cfg = load_config(osp.join(
        REPO, 'configs/mocov2/mocov2_resnet18-cifar_1xb512-coslr-200e_cifar10.py'))
    cfg.model.backbone = dict(type='ResNet', depth=18, norm_cfg=dict(type='BN'))
    cfg.model.queue_len = 64
    cfg.train_dataloader.update(batch_size=16, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.update(data_root=DEMO, indices=32)
    for t in cfg.train_dataloader.dataset.pipeline[1].transforms[0]:
        if t['type'] == 'RandomResizedCrop':
            t['scale'] = 64  # the 7x7 stem and max-pool need more than 32 px
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = []
    cfg.custom_hooks = []
    cfg.default_hooks.checkpoint.interval = 1
    cfg.work_dir = work_dir
    _build_runner(cfg).train()
    return osp.join(work_dir, 'epoch_1.pth')


@pytest.fixture(scope='module')
def mocov2_r18(tmp_path_factory) -> str:
    return _pretrain_mocov2_r18(str(tmp_path_factory.mktemp('mocov2_r18')))


def _for_cpu(cfg: Config, work_dir: str, checkpoint: str, scale: int = 320,
             channels: int = 64) -> Config:
    """Balloon data, small images, fewer RoIs and ``channels`` instead of 256 in the
    FPN and heads (the 3x3 convs on the stride-4 level dominate), so a step takes
    about a second on one CPU thread."""
    cfg.model.backbone.init_cfg.checkpoint = checkpoint
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.update(num_workers=0, persistent_workers=False)
        loader.dataset.data_root = BALLOON
        for t in loader.dataset.pipeline:
            if t['type'] == 'Resize':
                t['scale'] = (scale, scale)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.val_evaluator.ann_file = osp.join(BALLOON, 'annotations', 'instances_val.json')
    cfg.test_evaluator = cfg.val_evaluator
    model = cfg.model
    model.neck.out_channels = channels
    model.rpn_head.update(in_channels=channels, feat_channels=channels)
    roi = model.roi_head
    roi.bbox_roi_extractor.out_channels = roi.mask_roi_extractor.out_channels = channels
    roi.bbox_head.update(in_channels=channels, conv_out_channels=channels)
    roi.mask_head.update(in_channels=channels, conv_out_channels=channels)
    cfg.model.train_cfg.rpn_proposal.update(nms_pre=300, max_per_img=100)
    cfg.model.train_cfg.rcnn.sampler.num = 64
    cfg.model.test_cfg.rpn.update(nms_pre=300, max_per_img=50)
    # score_thr 0: an (almost) untrained head still returns boxes to evaluate
    cfg.model.test_cfg.rcnn.update(score_thr=0.0, max_per_img=20)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1000
    cfg.work_dir = work_dir
    return cfg


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_with_matching_channels(path):
    cfg = load_config(path)
    assert cfg.default_scope == 'mmdet'
    backbone = cfg.model.backbone
    assert backbone.init_cfg.type == 'Pretrained' and backbone.init_cfg.prefix
    assert backbone.frozen_stages == -1 and backbone.norm_eval is False
    assert backbone.norm_cfg.type == 'SyncBN'
    from mmdet.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)  # builds only: init_weights would load
    model.eval()
    with torch.no_grad():
        feats = model.backbone(torch.rand(1, 3, 64, 64))
    if model.with_neck:
        assert [f.shape[1] for f in feats] == list(model.neck.in_channels)
    else:  # C4: the shared res5 head continues the backbone's last stage
        assert model.roi_head.shared_head(feats[-1]).shape[1] == \
            model.roi_head.bbox_head.in_channels
        assert cfg.model.roi_head.shared_head.init_cfg.prefix == 'backbone.'


def test_c4_loads_backbone_and_res5_head_from_one_checkpoint(tmp_path):
    from mmdet.models.backbones import ResNet
    from mmdet.registry import MODELS
    torch.manual_seed(0)
    r50 = ResNet(depth=50, out_indices=(3, ))
    ckpt = str(tmp_path / 'r50.pth')
    state = {'backbone.' + k: v for k, v in r50.state_dict().items()}
    torch.save({'state_dict': state}, ckpt)
    cfg = load_config(osp.join(CFG_DIR, 'mask-rcnn_r50-c4_syncbn_8xb8-1x_coco.py'))
    cfg.model.backbone.init_cfg.checkpoint = ckpt
    cfg.model.roi_head.shared_head.init_cfg.checkpoint = ckpt
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    for name, value in model.backbone.state_dict().items():
        assert torch.equal(value, state['backbone.' + name]), name
    res5 = model.roi_head.shared_head.state_dict()
    assert len(res5) == sum(k.startswith('backbone.layer4.') for k in state)
    for name, value in res5.items():
        assert torch.equal(value, state['backbone.' + name]), name


@pytest.mark.slow
@needs_balloon
def test_balloon_finetune_from_our_pretraining(mocov2_r18, tmp_path):
    cfg = load_config(osp.join(CFG_DIR, 'mask-rcnn_r18-fpn_syncbn_1xb8-24e_balloon.py'))
    cfg = _for_cpu(cfg, str(tmp_path), mocov2_r18)
    # the same 2 images for 10 steps (flips aside), so the loss must go down
    cfg.train_dataloader.update(batch_size=2)
    cfg.train_dataloader.dataset.indices = 2
    cfg.train_cfg.update(max_epochs=10)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None  # runner.test() below
    cfg.param_scheduler = []
    cfg.optim_wrapper.optimizer.lr = 0.02
    cfg.randomness = dict(seed=0)
    runner = _build_runner(cfg)

    pretrained = torch.load(mocov2_r18, map_location='cpu')['state_dict']
    runner.model.init_weights()
    loaded = runner.model.backbone.state_dict()
    assert len(loaded) == sum(k.startswith('backbone.') for k in pretrained)
    for name, value in loaded.items():
        assert torch.equal(value, pretrained['backbone.' + name]), name
    assert not torch.allclose(loaded['bn1.running_var'], torch.ones(64))  # not fresh

    runner.train()
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 10
    assert losses[-3:].mean() < losses[:3].mean(), losses

    metrics = runner.test()
    for kind in ('bbox', 'segm'):
        assert 0.0 <= metrics[f'coco/{kind}_mAP'] <= 1.0
        assert 0.0 <= metrics[f'coco/{kind}_mAP_50'] <= 1.0


def _one_train_step(cfg: Config, tmp_path) -> torch.Tensor:
    cfg = _for_cpu(cfg, str(tmp_path / 'ft'), cfg.model.backbone.init_cfg.checkpoint,
                   scale=256)
    cfg.model.roi_head.bbox_head.num_classes = 1
    cfg.model.roi_head.mask_head.num_classes = 1
    cfg.train_dataloader.update(batch_size=2)
    cfg.train_dataloader.dataset.update(
        ann_file='annotations/instances_train.json', data_prefix=dict(img='train/'),
        metainfo=dict(classes=('balloon', )), indices=2)
    cfg.train_cfg.update(max_epochs=1, val_interval=100)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None  # --no-validate
    cfg.param_scheduler = []
    runner = _build_runner(cfg)
    runner.train()
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 1 and torch.isfinite(torch.tensor(losses)).all()
    return runner.model


@pytest.mark.slow
@needs_balloon
def test_slimmable_width_trains_one_step(tmp_path):
    from mmengine.registry import init_default_scope

    from slimselfsup.models.backbones import SlimmableResNet
    init_default_scope('slimselfsup')
    slim = SlimmableResNet(depth=50, widths=(1.0, 0.75, 0.5, 0.25))
    ckpt = str(tmp_path / 'slim.pth')
    torch.save({'state_dict': {'backbone.' + k: v for k, v in slim.state_dict().items()}},
               ckpt)
    cfg = load_config(
        osp.join(CFG_DIR, 'mask-rcnn_slimmable-r50-w0.25-fpn_syncbn_8xb8-1x_coco.py'),
        {'model.backbone.init_cfg.checkpoint': ckpt})
    model = _one_train_step(cfg, tmp_path)
    assert type(model.backbone).__name__ == 'DetSlimmableResNet'
    assert model.backbone.out_channels == [64, 128, 256, 512]


@pytest.mark.slow
@needs_balloon
def test_seed_student_trains_one_step(mocov2_r18, tmp_path):
    """SEED distils our MoCo v2 ResNet-18 into a ResNet-18 student for one step;
    the R-18 FPN config loads the student (stored under ``backbone.``)."""
    cfg = load_config(osp.join(
        REPO, 'configs/seed/seed_resnet18_8xb32-r50-mocov2-teacher-coslr-200e_in1k.py'))
    cfg.model.update(teacher_ckpt=mocov2_r18, queue_len=64)
    cfg.model.teacher.backbone.depth = 18
    cfg.model.teacher.neck.update(in_channels=512, hid_channels=512)
    moco = load_config(osp.join(
        REPO, 'configs/mocov2/mocov2_resnet18-cifar_1xb512-coslr-200e_cifar10.py'))
    data = moco.train_dataloader
    data.update(batch_size=8, num_workers=0, persistent_workers=False)
    data.dataset.update(data_root=DEMO, indices=8)
    data.dataset.pipeline[1].num_views = 1
    for t in data.dataset.pipeline[1].transforms[0]:
        if t['type'] == 'RandomResizedCrop':
            t['scale'] = 64
    cfg.train_dataloader = data
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = []
    cfg.custom_hooks = []
    cfg.default_hooks.checkpoint.interval = 1
    cfg.work_dir = str(tmp_path / 'seed')
    _build_runner(cfg).train()
    seed_ckpt = osp.join(cfg.work_dir, 'epoch_1.pth')
    student = torch.load(seed_ckpt, map_location='cpu')['state_dict']

    det = load_config(osp.join(CFG_DIR, 'mask-rcnn_r18-fpn_syncbn_8xb8-1x_coco.py'),
                      {'model.backbone.init_cfg.checkpoint': seed_ckpt})
    model = _one_train_step(det, tmp_path)
    # the student, not the teacher: a weight the first step barely moved
    conv = model.backbone.layer4[1].conv2.weight.detach()
    assert (conv - student['backbone.layer4.1.conv2.weight']).abs().max() < \
        (conv - student['target_generator.backbone.layer4.1.conv2.weight']).abs().max()
