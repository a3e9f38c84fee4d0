"""Batched view augmentation: the same parameter distributions and operations as
the CPU transforms of our pipelines (statistics and single operations, not random
pixels), on CPU tensors of real CIFAR-10 images."""
import math

import mmcv
import numpy as np
import pytest
import torch
from mmpretrain.datasets.transforms import RandomResizedCrop
from PIL import Image, ImageFilter
from realdata import load_real_images

from slimselfsup.datasets.transforms import adjust_hue as cpu_adjust_hue
from slimselfsup.models.data_preprocessors.batch_augment import (ViewAugment, adjust_brightness,
                                                                 adjust_contrast, adjust_hue,
                                                                 adjust_saturation, gaussian_blur,
                                                                 image_sizes, sample_crop_boxes)

N = 20000  # parameter draws for rate checks: 4 sigma of a rate is < 0.015


@pytest.fixture(scope='module')
def images() -> torch.Tensor:
    """32 real RGB images, uint8 (32, 3, 32, 32)."""
    return (load_real_images(32) * 255).round().to(torch.uint8)


def identity(**kwargs) -> ViewAugment:
    """A view that changes nothing unless told to."""
    cfg = dict(crop_size=32, scale=(1., 1.), ratio=(1., 1.), flip_prob=0.,
               jitter_prob=0., brightness=0., contrast=0., saturation=0., hue=0.,
               gray_prob=0.)
    cfg.update(kwargs)
    return ViewAugment(**cfg)


def sizes(n: int, h: int, w: int):
    return torch.full((n, ), h), torch.full((n, ), w)


@pytest.mark.parametrize('hw', [(32, 32), (200, 300)])
def test_crop_boxes_follow_mmpretrain_random_resized_crop(hw):
    torch.manual_seed(0)
    h, w = hw
    scale, ratio = (0.08, 1.), (3 / 4, 4 / 3)
    boxes = sample_crop_boxes(*sizes(N, h, w), scale, ratio)
    cw, ch = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= w).all() and (
        boxes[:, 3] <= h).all()
    assert torch.equal(boxes, boxes.round())  # integer pixel boxes
    frac = cw * ch / (h * w)
    # Rounded sides move the area fraction by at most about one pixel row/column.
    slack = (cw + ch + 1) / (h * w)
    assert (frac >= scale[0] - slack).all() and (frac <= 1).all()
    aspect = cw / ch
    assert ((aspect >= ratio[0] * (1 - 2 / ch)) &
            (aspect <= ratio[1] * (1 + 2 / cw))).all()

    # Same distribution as mmpretrain's per-image sampler (its numpy RNG).
    np.random.seed(0)
    crop = RandomResizedCrop(scale=32, crop_ratio_range=scale,
                             aspect_ratio_range=ratio)
    img = np.zeros((h, w, 3), np.uint8)
    ref = np.array([crop.rand_crop_params(img) for _ in range(4000)])
    ref_frac = ref[:, 2] * ref[:, 3] / (h * w)
    assert abs(frac.mean().item() - ref_frac.mean()) < 0.02
    assert abs(np.quantile(frac.numpy(), 0.9) - np.quantile(ref_frac, 0.9)) < 0.03
    ref_aspect = ref[:, 3] / ref[:, 2]
    assert abs(aspect.log().mean().item() - np.log(ref_aspect).mean()) < 0.03


def test_crop_box_falls_back_to_the_centre_crop():
    # A 1 x 100 strip cannot hold a crop with aspect ratio in [3/4, 4/3].
    boxes = sample_crop_boxes(*sizes(5, 1, 100), (0.08, 1.), (3 / 4, 4 / 3))
    # torchvision's fallback: width = round(h * 4/3) = 1, centred.
    assert boxes[0].tolist() == [49., 0., 50., 1.]


def test_full_crop_and_flip_are_exact(images):
    h, w = image_sizes(images, images.device)
    plain = identity()(images, h, w)
    assert torch.allclose(plain, images / 255., atol=1e-6)
    aug = identity(flip_prob=0.5)
    params = aug.sample(h, w)
    out = aug.apply(images, params)
    flip = params['flip'].view(-1, 1, 1, 1)
    assert torch.allclose(out, torch.where(flip, plain.flip(-1), plain), atol=1e-6)


def test_rates_follow_the_probabilities():
    torch.manual_seed(0)
    aug = ViewAugment(crop_size=8, flip_prob=0.5, jitter_prob=0.8, gray_prob=0.2,
                      blur_prob=0.1, solarize_prob=0.2)
    p = aug.sample(*sizes(N, 32, 32))
    for name, prob in (('flip', 0.5), ('jitter', 0.8), ('gray', 0.2), ('blur', 0.1),
                       ('solarize', 0.2)):
        assert abs(p[name].float().mean().item() - prob) < 0.015, name


def test_jitter_factors_cover_the_torchvision_ranges():
    torch.manual_seed(0)
    aug = ViewAugment(crop_size=8, brightness=0.4, contrast=0.8, saturation=0.2,
                      hue=0.1)
    p = aug.sample(*sizes(N, 32, 32))
    for name, (low, high) in (('brightness', (0.6, 1.4)), ('contrast', (0.2, 1.8)),
                              ('saturation', (0.8, 1.2)), ('hue', (-0.1, 0.1))):
        values = p[name]
        assert values.min() >= low and values.max() <= high, name
        assert values.min() < low + 0.01 and values.max() > high - 0.01, name
        assert abs(values.mean().item() - (low + high) / 2) < 0.01 * (high - low) + 1e-3
    # The order is a permutation per image, uniformly: each op first ~1/4.
    assert torch.equal(p['order'].sort(1).values, torch.arange(4).expand(N, 4))
    first = torch.bincount(p['order'][:, 0], minlength=4).float() / N
    assert (first - 0.25).abs().max() < 0.015


def test_jitter_with_zero_strength_is_identity(images):
    h, w = image_sizes(images, images.device)
    aug = identity(jitter_prob=1.)  # applied always, but with strength 0
    assert torch.allclose(aug(images, h, w), images / 255., atol=1e-6)


def test_brightness_only_jitter_scales_by_the_drawn_factor(images):
    aug = identity(jitter_prob=1., brightness=0.4)
    h, w = image_sizes(images, images.device)
    params = aug.sample(h, w)
    out = aug.apply(images, params)
    x = images / 255.
    expected = (x * params['brightness'].view(-1, 1, 1, 1)).clamp(0, 1)
    assert torch.allclose(out, expected, atol=1e-6)


def sequential_jitter(aug: ViewAugment, x: torch.Tensor, params: dict) -> torch.Tensor:
    """The reference: each image alone, its active operations one after the other in
    its drawn order, with its drawn factors."""
    ops = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)
    names = ('brightness', 'contrast', 'saturation', 'hue')
    out = []
    for k in range(len(x)):
        xi = x[k:k + 1]
        if params['jitter'][k]:
            for i in params['order'][k].tolist():
                if aug.ranges[names[i]] not in ((1.0, 1.0), (0.0, 0.0)):
                    xi = ops[i](xi, params[names[i]][k:k + 1])
        out.append(xi)
    return torch.cat(out)


@pytest.mark.parametrize('strengths', [
    dict(),  # all four operations (the recipes)
    dict(hue=0.),  # no hue: one fused pass per position
    dict(brightness=0., saturation=0.),  # contrast and hue
    dict(brightness=0., contrast=0., saturation=0., hue=0.3),  # hue alone
])
def test_batched_jitter_equals_the_sequential_per_image_jitter(images, strengths):
    torch.manual_seed(0)
    aug = ViewAugment(crop_size=32, **strengths)
    x = images / 255.
    params = aug.sample(*image_sizes(images, images.device))
    assert params['jitter'].any() and not params['jitter'].all()
    assert torch.allclose(aug._jitter(x, params), sequential_jitter(aug, x, params),
                          rtol=0, atol=1e-6)


def test_batched_jitter_runs_hue_once_and_six_fused_passes():
    """Every operation at every order position over the whole batch took 76 tensor
    operations of the batch's size (16 operation passes and 16 selects); the fused
    form takes 32: 6 brightness/contrast/saturation passes of 4 (scale, add, add,
    clip), one hue pass (7) and its select (1)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class FullBatchOps(TorchDispatchMode):
        count = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if isinstance(out, torch.Tensor) and out.shape == x.shape:
                FullBatchOps.count += 1
            return out

    torch.manual_seed(0)
    aug = ViewAugment(crop_size=32)
    x = torch.rand(16, 3, 32, 32)
    params = aug.sample(*sizes(16, 32, 32))
    with FullBatchOps():
        aug._jitter(x, params)
    assert FullBatchOps.count <= 32


@pytest.mark.parametrize('factor', [0.5, 1.5])
def test_single_ops_match_the_cpu_transforms(images, factor):
    """Same factor, same image: our op vs mmcv/PIL (pillow backend), in 0-255."""
    x = images[:8] / 255.
    f = torch.full((8, ), factor)
    for ours, cpu in ((adjust_brightness, mmcv.adjust_brightness),
                      (adjust_contrast, mmcv.adjust_contrast),
                      (adjust_saturation, mmcv.adjust_color)):
        out = ours(x, f)
        for k in range(8):
            bgr = images[k].permute(1, 2, 0).numpy()[..., ::-1].copy()
            ref = cpu(bgr, factor, backend='pillow')
            ref = torch.from_numpy(ref[..., ::-1].copy()).permute(2, 0, 1).float()
            # PIL rounds (contrast: the mean too) to integers; we stay float.
            assert (out[k] * 255 - ref).abs().max() <= 2.5, ours.__name__


@pytest.mark.parametrize('factor', [-0.3, 0.1, 0.5])
def test_hue_matches_the_cpu_transform(images, factor):
    x = images[:8] / 255.
    out = adjust_hue(x, torch.full((8, ), factor))
    for k in range(8):
        bgr = images[k].permute(1, 2, 0).numpy()[..., ::-1].copy()
        ref = cpu_adjust_hue(bgr, factor)[..., ::-1].copy()
        ref = torch.from_numpy(ref).permute(2, 0, 1).float()
        assert (out[k] * 255 - ref).abs().max() <= 1.0
    assert torch.allclose(adjust_hue(x, torch.zeros(8)), x, atol=1e-5)


def test_grayscale_gives_equal_channels_with_luma_weights(images):
    aug = identity(gray_prob=1.)
    h, w = image_sizes(images, images.device)
    out = aug(images, h, w)
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])
    ref = np.stack([mmcv.rgb2gray(im.permute(1, 2, 0).numpy().astype(np.float32))
                    for im in images]) / 255.
    assert np.abs(out[:, 0].numpy() - ref).max() < 1e-5


def test_blur_matches_pil_gaussian_blur(images):
    x = images[:4] / 255.
    sigma = torch.tensor([0.5, 1.0, 1.5, 2.0])
    out = gaussian_blur(x, sigma, radius=math.ceil(3 * 2.0))
    for k in range(4):
        pil = Image.fromarray(images[k].permute(1, 2, 0).numpy())
        ref = np.asarray(pil.filter(ImageFilter.GaussianBlur(radius=float(sigma[k]))))
        ref = torch.from_numpy(ref.copy()).permute(2, 0, 1).float()
        inner = (slice(None), slice(6, -6), slice(6, -6))  # borders differ
        # PIL approximates the Gaussian with box blurs: a few grey levels off.
        assert (out[k][inner] * 255 - ref[inner]).abs().mean() < 1.5
    flat = torch.full((2, 3, 16, 16), 0.3)
    assert torch.allclose(gaussian_blur(flat, torch.tensor([0.1, 2.]), 6), flat)
    assert out.std() < x.std()


def test_solarize_inverts_values_at_or_above_the_threshold(images):
    aug = identity(solarize_prob=1., solarize_thr=128)
    h, w = image_sizes(images, images.device)
    out = aug(images, h, w) * 255
    x = images.float()
    expected = torch.where(x >= 128, 255 - x, x)
    assert torch.allclose(out, expected, atol=1e-3)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='hue must be in'):
        ViewAugment(hue=0.7)
    with pytest.raises(ValueError, match='gray_prob must be in'):
        ViewAugment(gray_prob=1.5)
    with pytest.raises(ValueError, match='scale must be'):
        ViewAugment(scale=(0.5, 0.2))
