"""slimselfsup's ColorJitter: numpy-2-safe hue, same semantics as mmpretrain's."""
import colorsys

import mmcv
import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from dataset_test_utils import demo_images
from mmpretrain.datasets.transforms import ColorJitter as MMPretrainColorJitter

from slimselfsup.datasets.transforms import ColorJitter, adjust_hue
from slimselfsup.registry import TRANSFORMS


@pytest.fixture(scope='module')
def real_img() -> np.ndarray:
    """A real CIFAR-10 image as mmcv loads it (BGR, uint8, 32x32x3)."""
    return mmcv.imread(str(demo_images('train')[2][0]))  # a bird


def to_tensor_rgb(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img[..., ::-1].transpose(2, 0, 1)))


def to_bgr(tensor: torch.Tensor) -> np.ndarray:
    return tensor.numpy().transpose(1, 2, 0)[..., ::-1]


@pytest.mark.skipif(int(np.__version__.split('.')[0]) < 2, reason='numpy < 2 wraps')
def test_mmpretrain_color_jitter_fails_for_negative_hue(real_img):
    """The upstream bug this transform exists for (mmcv 2.1.0 under numpy 2)."""
    with pytest.raises(OverflowError, match='out of bounds for uint8'):
        MMPretrainColorJitter(hue=(-0.1, -0.05))(dict(img=real_img.copy()))


def test_registry_resolves_ours():
    jitter = TRANSFORMS.build(dict(type='ColorJitter', hue=0.1))
    assert type(jitter) is ColorJitter


@pytest.mark.parametrize('hue', [(-0.5, -0.5), (-0.1, -0.05), 0.5])
def test_negative_hue_does_not_raise(real_img, hue):
    jitter = ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=hue)
    for _ in range(5):
        out = jitter(dict(img=real_img.copy()))['img']
        assert out.shape == real_img.shape and out.dtype == np.uint8


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(brightness=0, contrast=0, saturation=0, hue=0),
    dict(brightness=(1., 1.), contrast=(1., 1.), saturation=(1., 1.), hue=(0., 0.)),
])
def test_zero_jitter_is_identity(real_img, kwargs):
    out = ColorJitter(**kwargs)(dict(img=real_img.copy()))['img']
    np.testing.assert_array_equal(out, real_img)
    np.testing.assert_array_equal(adjust_hue(real_img, 0.), real_img)


@pytest.mark.parametrize('factor', [-0.5, -0.3, -0.05, 0.1, 0.45])
def test_hue_matches_colorsys(factor):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(4, 5, 3), dtype=np.uint8)  # BGR
    expected = np.empty_like(img)
    for idx in np.ndindex(img.shape[:2]):
        b, g, r = img[idx] / 255.
        h, s, v = colorsys.rgb_to_hsv(r, g, b)
        r, g, b = colorsys.hsv_to_rgb((h + factor) % 1., s, v)
        expected[idx] = np.rint(np.array([b, g, r]) * 255)
    out = adjust_hue(img, factor)
    assert out.dtype == np.uint8
    assert np.abs(out.astype(int) - expected).max() <= 2


@pytest.mark.parametrize('factor', [-0.4, -0.1, 0.2])
def test_hue_matches_torchvision_on_real_image(real_img, factor):
    out = ColorJitter(hue=(factor, factor))(dict(img=real_img.copy()))['img']
    expected = to_bgr(TF.adjust_hue(to_tensor_rgb(real_img), factor))
    assert np.abs(out.astype(int) - expected).max() <= 2
    assert np.abs(out.astype(int) - real_img).max() > 10  # it did change


@pytest.mark.parametrize('factor', [0.6, 1.0, 1.4])
def test_brightness_is_scaling_clipped(real_img, factor):
    out = ColorJitter(brightness=(factor, factor))(dict(img=real_img.copy()))['img']
    expected = np.clip(real_img * factor, 0, 255)
    assert np.abs(out - expected).max() <= 1
    tv = to_bgr(TF.adjust_brightness(to_tensor_rgb(real_img), factor))
    assert np.abs(out.astype(int) - tv).max() <= 1


@pytest.mark.parametrize('op,tv_op', [('contrast', TF.adjust_contrast),
                                      ('saturation', TF.adjust_saturation)])
def test_contrast_saturation_match_torchvision(real_img, op, tv_op):
    for factor in (0.6, 1.4):
        out = ColorJitter(**{op: (factor, factor)})(dict(img=real_img.copy()))['img']
        expected = to_bgr(tv_op(to_tensor_rgb(real_img), factor))
        assert np.abs(out.astype(int) - expected).max() <= 2


def test_order_is_random(real_img):
    jitter = ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    np.random.seed(0)
    orders = {tuple(jitter._rand_params()[0]) for _ in range(50)}
    assert len(orders) > 10
    assert all(sorted(order) == [0, 1, 2, 3] for order in orders)
