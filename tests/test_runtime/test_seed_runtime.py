"""SEED in a real mmengine Runner: the CIFAR-10 recipe, shrunk, on real images read
from TSV files, with the online kNN hook on the student."""
import importlib.util
import os
from pathlib import Path

import pytest
import torch

from slimselfsup.apis import load_config
from slimselfsup.engine.hooks import KNNHook
from slimselfsup.registry import MODELS, RUNNERS

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs' / 'seed' / \
    'seed_resnet18-cifar_1xb512-r50-cifar-mocov2-teacher-coslr-200e_cifar10.py'
DEMO = REPO / 'demo' / 'cifar10-mini'
_spec = importlib.util.spec_from_file_location(
    'folder2tsv', REPO / 'tools' / 'dataset_converters' / 'folder2tsv.py')
folder2tsv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folder2tsv)


def tsv_of(split: str, per_class: int, root: Path) -> str:
    src = root / f'{split}_imgs'
    for cls in sorted(os.listdir(DEMO / split)):
        (src / cls).mkdir(parents=True)
        for name in sorted(os.listdir(DEMO / split / cls))[:per_class]:
            (src / cls / name).symlink_to(DEMO / split / cls / name)
    folder2tsv.folder2tsv(str(src), str(root / f'{split}.tsv'))
    return str(root / f'{split}.tsv')


@pytest.mark.slow
def test_cifar_recipe_trains_from_tsv_with_knn(tmp_path):
    tiny = dict(type='ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8,
                norm_cfg=dict(type='BN'))
    neck = dict(in_channels=64, hid_channels=32, out_channels=16)
    cfg = load_config(str(CONFIG))
    # the teacher: a 'pretrained' slimselfsup checkpoint with extra training state
    teacher_cfg = cfg.model.copy()
    teacher_cfg.update(teacher_ckpt=None, feat_dim=16,
                       teacher=dict(backbone=tiny, neck=dict(cfg.model.neck, **neck)))
    teacher = MODELS.build(teacher_cfg).target_generator.model
    ckpt = tmp_path / 'teacher.pth'
    extra = {'queue.ptr': torch.zeros(1)}
    torch.save(dict(state_dict=dict(teacher.state_dict(), **extra)), ckpt)

    train_tsv, test_tsv = tsv_of('train', 8, tmp_path), tsv_of('test', 5, tmp_path)
    view = cfg.train_dataloader.dataset.pipeline[1]  # MultiView of the recipe
    cfg.model.update(queue_len=64, feat_dim=16, teacher_ckpt=str(ckpt),
                     backbone=tiny, neck=neck,
                     teacher=dict(backbone=tiny, neck=neck))
    cfg.train_dataloader.update(batch_size=16, num_workers=1, persistent_workers=False)
    cfg.train_dataloader.dataset = dict(type='TSVDataset', ann_file=train_tsv,
                                        pipeline=[view, dict(type='PackInputs')])
    knn_data = dict(type='TSVDataset', pipeline=[dict(type='PackInputs')])
    hook = cfg.custom_hooks[0]
    hook.update(interval=2, k=5)
    for key, tsv in (('train_dataloader', train_tsv), ('val_dataloader', test_tsv)):
        hook[key].update(num_workers=0, persistent_workers=False)
        hook[key].dataset = dict(knn_data, ann_file=tsv)
    cfg.update(work_dir=str(tmp_path / 'work'), train_cfg=dict(max_epochs=2),
               param_scheduler=[dict(type='CosineAnnealingLR', T_max=2, by_epoch=True)],
               log_level='WARNING')
    cfg.default_hooks.logger.interval = 1
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    runner = RUNNERS.build(cfg)
    runner.train()

    assert runner.iter == 10  # 80 images, batch 16, 2 epochs
    assert torch.isfinite(torch.tensor(runner.message_hub.get_scalar('train/loss')
                                       .current()))
    knn = next(h for h in runner.hooks if isinstance(h, KNNHook)).last_result
    assert 0 <= knn['top1'] <= 100
    saved = torch.load(tmp_path / 'work' / 'epoch_2.pth', weights_only=True)['state_dict']
    assert int(saved['queue.ptr']) == 160 % 64
    for key, value in teacher.state_dict().items():  # loaded, and never trained
        assert torch.equal(saved['target_generator.' + key], value), key
