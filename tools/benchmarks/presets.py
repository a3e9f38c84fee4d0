"""Named pairings of a slimselfsup config with mmpretrain's equivalent, at one batch and
image size: what ``bench_step.py --preset``, ``bench_e2e.py`` and the GPU ladder time."""
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

from common import MMPRETRAIN_PREFIX

DEFAULT_ITERS = 50
DEFAULT_WARMUP = 10


def resnet_cifar(depth: int = 18, width: int = 64, zero_init_residual: bool = True
                 ) -> dict:
    """Backbone override: mmpretrain's ``ResNet_CIFAR`` (3x3 stem, no max-pool)."""
    return dict(_delete_=True, type='ResNet_CIFAR', depth=depth, stem_channels=width,
                base_channels=width, norm_cfg=dict(type='BN'),
                zero_init_residual=zero_init_residual)


@dataclass(frozen=True)
class Case:
    """One benchmark: our config against mmpretrain's, at one batch and image size.

    Args:
        name (str): Short name shown in the table.
        ours_config (str, optional): slimselfsup config; None when we have no
            implementation (the row is reported as n/a).
        mmp_config (str, optional): mmpretrain config (``mmpretrain::`` prefix for
            the configs packaged with mmpretrain); None to skip the baseline.
        batch_size (int): Images per step (each with all its views).
        img_size (int): Side of the square synthetic images.
        ours_overrides (dict): ``merge_from_dict`` overrides for our config.
        mmp_overrides (dict): ``merge_from_dict`` overrides for mmpretrain's config.
        iters (int): Timed steps.
        warmup (int): Untimed steps before timing (compilation, cuDNN autotuning).
    """

    name: str
    ours_config: Optional[str]
    mmp_config: Optional[str]
    batch_size: int
    img_size: int
    ours_overrides: Dict[str, Any] = field(default_factory=dict)
    mmp_overrides: Dict[str, Any] = field(default_factory=dict)
    iters: int = DEFAULT_ITERS
    warmup: int = DEFAULT_WARMUP


@dataclass(frozen=True)
class Preset:
    """A named list of cases, so users need not know the config pairing."""

    description: str
    cases: Tuple[Case, ...]


OURS_MOCOV2_R50 = 'configs/mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py'
OURS_MOCOV2_CIFAR = 'configs/mocov2/mocov2_resnet18-cifar_1xb512-coslr-200e_cifar10.py'
OURS_SIMCLR_CIFAR = 'configs/simclr/simclr_resnet18-cifar_1xb512-coslr-200e_cifar10.py'
OURS_SIMCLR_GPU = ('configs/simclr/'
                   'simclr_resnet18-cifar_1xb512-gpuaug-bf16-coslr-200e_cifar10.py')
OURS_TEC_VITB = 'configs/tec/tec-mae_vit-base-p16_8xb256-accum2-amp-coslr-300e_in1k.py'
MMP_MOCOV2 = MMPRETRAIN_PREFIX + 'mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py'
MMP_SIMCLR = MMPRETRAIN_PREFIX + 'simclr/simclr_resnet50_16xb256-coslr-200e_in1k.py'
MMP_MAE_VITB = MMPRETRAIN_PREFIX + 'mae/mae_vit-base-p16_8xb512-amp-coslr-300e_in1k.py'
# mmpretrain's SimCLR with our CIFAR backbone and neck width
MMP_SIMCLR_CIFAR = {'model.backbone': resnet_cifar(), 'model.neck.in_channels': 512}
# TEC's base model keeps random weights (no checkpoint) and one step per update
TEC_BENCH = {'model.target_generator.checkpoint': None,
             'optim_wrapper.accumulative_counts': 1}
TINY_WIDTH = 16  # ResNet-18 with 16-32-64-128 channels: a CPU-sized network
TINY_NECK = {'model.neck.in_channels': 8 * TINY_WIDTH,
             'model.neck.hid_channels': 8 * TINY_WIDTH}
TINY_MOCOV2 = {'model.backbone': resnet_cifar(width=TINY_WIDTH, zero_init_residual=False),
               'model.queue_len': 64, **TINY_NECK}
TINY_SIMCLR = {'model.backbone': resnet_cifar(width=TINY_WIDTH), **TINY_NECK}

PRESETS: Dict[str, Preset] = {
    'mocov2_r50': Preset(
        'MoCo v2 ResNet-50, batch 256, 224 px',
        (Case('mocov2_r50', ours_config=OURS_MOCOV2_R50, mmp_config=MMP_MOCOV2,
              batch_size=256, img_size=224),)),
    'simclr_r18_cifar': Preset(
        'SimCLR ResNet-18 (CIFAR stem), batch 512, 32 px',
        (Case('simclr_r18_cifar', ours_config=OURS_SIMCLR_CIFAR, mmp_config=MMP_SIMCLR,
              mmp_overrides=MMP_SIMCLR_CIFAR, batch_size=512, img_size=32),)),
    'mae_vitb': Preset(
        'MAE ViT-B/16, batch 256, 224 px (mmpretrain only: no slimselfsup MAE)',
        (Case('mae_vitb', ours_config=None, mmp_config=MMP_MAE_VITB,
              batch_size=256, img_size=224),)),
    'tec_vitb': Preset(
        'TEC ViT-B/16 from a frozen ViT-B/16 base next to mmpretrain MAE ViT-B/16, '
        'batch 256, 224 px',
        (Case('tec_vitb', ours_config=OURS_TEC_VITB, mmp_config=MMP_MAE_VITB,
              ours_overrides=TEC_BENCH, batch_size=256, img_size=224),)),
    'tiny': Preset(
        'CPU smoke test for CI: MoCo v2 and SimCLR on a narrow ResNet-18, batch 8, '
        '32 px, 2 iters',
        (Case('tiny_mocov2', ours_config=OURS_MOCOV2_CIFAR, mmp_config=MMP_MOCOV2,
              ours_overrides=TINY_MOCOV2, mmp_overrides=TINY_MOCOV2,
              batch_size=8, img_size=32, iters=2, warmup=1),
         Case('tiny_simclr', ours_config=OURS_SIMCLR_CIFAR, mmp_config=MMP_SIMCLR,
              ours_overrides=TINY_SIMCLR, mmp_overrides=TINY_SIMCLR,
              batch_size=8, img_size=32, iters=2, warmup=1)),
    ),
}


def preset_help() -> str:
    """One line per preset: ``name: description``."""
    return '; '.join(f'{name}: {p.description}' for name, p in PRESETS.items())
