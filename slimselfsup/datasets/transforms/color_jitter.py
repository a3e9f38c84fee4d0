"""Colour jitter that also works for negative hue factors under numpy >= 2.

mmcv 2.1.0's :func:`mmcv.adjust_hue` shifts the hue channel with
``h += np.uint8(hue_factor * 255)``. Under numpy >= 2 a negative Python int no longer
wraps into uint8 and raises ``OverflowError: Python integer -25 out of bounds for
uint8``, so mmpretrain's ``ColorJitter`` fails on about half of its draws whenever
``hue > 0``. This module shifts the hue in floating point with an explicit
wrap-around instead and keeps everything else of mmpretrain's transform.
"""
import warnings
from typing import Dict

import cv2
import mmcv
import numpy as np
from mmpretrain.datasets.transforms import ColorJitter as _MMPretrainColorJitter

from slimselfsup.registry import TRANSFORMS


def adjust_hue(img: np.ndarray, hue_factor: float) -> np.ndarray:
    """Rotate the hue of a BGR uint8 image.

    The image goes to HSV in float32 (hue in degrees, ``[0, 360)``), the hue is
    shifted by ``hue_factor * 360`` degrees modulo 360, and the result is converted
    back and rounded. Saturation and value are unchanged (up to rounding).

    Args:
        img (np.ndarray): Image of shape (H, W, 3), BGR order, dtype uint8. A
            single-channel image has no hue and is returned unchanged.
        hue_factor (float): Fraction of a full turn to rotate the hue by, in
            ``[-0.5, 0.5]``. 0 leaves the image unchanged; -0.5 and 0.5 both give
            the complementary colours.

    Returns:
        np.ndarray: The hue-rotated image, same shape, BGR, uint8.
    """
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor must be in [-0.5, 0.5], got {hue_factor}.')
    if img.dtype != np.uint8:
        raise TypeError(f'adjust_hue expects a uint8 image, got {img.dtype}.')
    if hue_factor == 0 or img.ndim == 2 or img.shape[2] == 1:
        return img.copy()
    hsv = cv2.cvtColor(img.astype(np.float32) / 255., cv2.COLOR_BGR2HSV)
    hsv[..., 0] = np.mod(hsv[..., 0] + hue_factor * 360., 360.)
    bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    return np.clip(np.rint(bgr * 255.), 0, 255).astype(np.uint8)


@TRANSFORMS.register_module()
class ColorJitter(_MMPretrainColorJitter):
    """Randomly change brightness, contrast, saturation and hue, in random order.

    Same arguments, sampling and semantics as mmpretrain's ``ColorJitter`` (and
    torchvision's): each factor is drawn uniformly from its range and the four
    operations are applied in a random permutation. Brightness, contrast and
    saturation use mmcv's functions with ``backend``; hue uses :func:`adjust_hue`,
    which is correct for negative factors under numpy >= 2.

    **Required Keys:**

    - img (BGR, uint8)

    **Modified Keys:**

    - img

    Args:
        brightness (float | Sequence[float]): How much to jitter brightness. The
            factor is drawn from ``[max(0, 1 - brightness), 1 + brightness]`` or
            the given ``[min, max]``. Defaults to 0.
        contrast (float | Sequence[float]): How much to jitter contrast, like
            ``brightness``. Defaults to 0.
        saturation (float | Sequence[float]): How much to jitter saturation, like
            ``brightness``. Defaults to 0.
        hue (float | Sequence[float]): How much to jitter hue. The factor is drawn
            from ``[-hue, hue]`` (``0 <= hue <= 0.5``) or the given ``[min, max]``
            within ``[-0.5, 0.5]``. Defaults to 0.
        backend (str): Backend of the brightness, contrast and saturation ops,
            ``'pillow'`` (matches torchvision) or ``'cv2'``. Defaults to
            ``'pillow'``.
    """

    def transform(self, results: Dict) -> Dict:
        """Jitter ``results['img']``.

        Args:
            results (dict): Result dict with a BGR uint8 ``img``.

        Returns:
            dict: The same dict with the jittered ``img``.
        """
        img = results['img']
        order, brightness, contrast, saturation, hue = self._rand_params()
        for index in order:
            if index == 0 and brightness is not None:
                img = mmcv.adjust_brightness(img, brightness, backend=self.backend)
            elif index == 1 and contrast is not None:
                img = mmcv.adjust_contrast(img, contrast, backend=self.backend)
            elif index == 2 and saturation is not None:
                with warnings.catch_warnings():
                    # mmcv warns on every pillow call although only alpha is used.
                    warnings.filterwarnings('ignore', "Only use 'alpha'")
                    img = mmcv.adjust_color(
                        img, alpha=saturation, backend=self.backend)
            elif index == 3 and hue is not None:
                img = adjust_hue(img, hue)
        results['img'] = img
        return results
