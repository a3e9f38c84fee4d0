"""The GPU view augmentation against the CPU pipeline of the real recipes, at their
sizes: SimCLR on CIFAR-10 (32 px) and MoCo v2 on ImageNet (224 px, with blur). The
views a recipe's CPU pipeline makes and those ``ViewAugment`` makes from the same
real images, with the parameters ``views_from_pipeline`` reads from that pipeline,
agree in their statistics (not pixel by pixel: the draws differ)."""
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope
from PIL import Image
from realdata import load_real_images

from slimselfsup.apis import load_config
from slimselfsup.models.data_preprocessors import ViewAugment, views_from_pipeline
from slimselfsup.models.data_preprocessors.batch_augment import image_sizes

SIMCLR_CIFAR = 'configs/simclr/simclr_resnet18-cifar_1xb512-coslr-200e_cifar10.py'
SIMCLR_GPU = 'configs/simclr/simclr_resnet18-cifar_1xb512-gpuaug-bf16-coslr-200e_cifar10.py'
MOCOV2_CIFAR = 'configs/mocov2/mocov2_resnet18-cifar_1xb512-coslr-200e_cifar10.py'
MOCOV2_GPU = 'configs/mocov2/mocov2_resnet18-cifar_1xb512-gpuaug-bf16-coslr-200e_cifar10.py'
MOCOV2_IN1K = 'configs/mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py'


def recipe_views(path):
    cfg = load_config(path)
    pipeline = cfg.train_dataloader.dataset.pipeline
    multiview = next(t for t in pipeline if t['type'] == 'MultiView')
    return views_from_pipeline(pipeline), multiview['transforms'][0]


@pytest.mark.parametrize('cpu, gpu', [(SIMCLR_CIFAR, SIMCLR_GPU),
                                      (MOCOV2_CIFAR, MOCOV2_GPU)])
def test_gpu_recipes_use_the_views_of_their_cpu_recipes(cpu, gpu):
    (derived, ), _ = recipe_views(cpu)
    (written, ) = load_config(gpu).data_preprocessor.views
    assert {k: derived[k] for k in written} == dict(written)
    assert derived['blur_prob'] == derived['solarize_prob'] == 0.


def test_pipelines_without_a_gpu_equivalent_are_named():
    with pytest.raises(ValueError, match='expected one MultiView'):
        views_from_pipeline([dict(type='LoadImageFromFile')])
    with pytest.raises(ValueError, match='RandomRotation has no GPU equivalent'):
        views_from_pipeline([dict(type='MultiView', num_views=2, transforms=[[
            dict(type='RandomResizedCrop', scale=32),
            dict(type='RandomRotation', angle=10)]])])


def statistics(views: torch.Tensor) -> dict:
    """Summary statistics of RGB views in [0, 1], shape (N, 3, S, S)."""
    per_image_std = views.flatten(1).std(1)
    gray = (views.amax(1) - views.amin(1)).flatten(1).amax(1) < 2 / 255
    sat = (views.amax(1) - views.amin(1)).mean()
    # high-frequency energy: what a crop's scale and the blur change
    grad = (views[..., 1:] - views[..., :-1]).abs().mean()
    return dict(mean=views.mean(dim=(0, 2, 3)), std=views.std(dim=(0, 2, 3)),
                image_std=per_image_std.mean(), gray=gray.float().mean(), sat=sat,
                grad=grad)


def cpu_views(view_pipeline, images_bgr, repeats: int, seed: int) -> torch.Tensor:
    with DefaultScope.overwrite_default_scope('slimselfsup'):
        compose = Compose(view_pipeline)
    np.random.seed(seed)  # mmpretrain's transforms draw from numpy's global RNG
    out = []
    for _ in range(repeats):
        for img in images_bgr:
            view = compose(dict(img=img.copy(), img_shape=img.shape[:2],
                                ori_shape=img.shape[:2]))['img']
            out.append(torch.from_numpy(np.ascontiguousarray(view[..., ::-1])))
    return torch.stack(out).permute(0, 3, 1, 2).float() / 255.


def gpu_views(args: dict, images_rgb: torch.Tensor, repeats: int, seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    aug = ViewAugment(**{k: v for k, v in args.items() if k != 'num_views'})
    batch = images_rgb.repeat(repeats, 1, 1, 1)
    return torch.cat([aug(chunk, *image_sizes(chunk, chunk.device))
                      for chunk in batch.split(128)])


@pytest.mark.parametrize('path, side, repeats, tol', [
    (SIMCLR_CIFAR, None, 25, 0.02),   # 32 px CIFAR images, 1600 views
    (MOCOV2_IN1K, 200, 16, 0.02),     # ImageNet recipe: 224 px crops with blur, 256 views
])
def test_view_statistics_match_the_cpu_pipeline(path, side, repeats, tol):
    (args, ), view_pipeline = recipe_views(path)
    rgb = (load_real_images(64) * 255).round().to(torch.uint8)
    if side is not None:  # ImageNet-sized inputs from the same real images
        rgb = torch.stack([torch.from_numpy(np.array(Image.fromarray(
            img.permute(1, 2, 0).numpy()).resize((side + 40, side), Image.BICUBIC)))
            .permute(2, 0, 1) for img in rgb[:16]])
    bgr = [img.permute(1, 2, 0).numpy()[..., ::-1].copy() for img in rgb]
    cpu = statistics(cpu_views(view_pipeline, bgr, repeats, seed=0))
    gpu = statistics(gpu_views(args, rgb, repeats, seed=0))
    size = args['crop_size']
    assert cpu_views(view_pipeline, bgr[:1], 1, 0).shape[-1] == size
    for key in ('mean', 'std'):
        assert (cpu[key] - gpu[key]).abs().max() < tol, (key, cpu[key], gpu[key])
    for key in ('image_std', 'sat', 'grad'):
        assert abs(cpu[key] - gpu[key]) < tol, (key, cpu[key], gpu[key])
    assert abs(cpu['gray'] - gpu['gray']) < 0.06, (cpu['gray'], gpu['gray'])
    assert 0.1 < gpu['gray'] < 0.3  # RandomGrayscale p=0.2 (plus jitter to grey)
