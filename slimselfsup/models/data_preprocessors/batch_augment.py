"""Batched image augmentations on (N, C, H, W) tensors, on any device.

Every image of a batch gets its own random parameters, drawn with the same
distributions as the per-image CPU transforms of our pipelines (mmpretrain's
``RandomResizedCrop``, ``RandomFlip``, ``ColorJitter`` inside ``RandomApply``,
``RandomGrayscale``, ``GaussianBlur``, ``Solarize``), so a config can move the
augmentation of a multi-view pipeline onto the GPU without changing what is learned.
Images are RGB floats in ``[0, 1]``; nothing here synchronises with the host.

Differences from the CPU pipeline, by design: values stay float between operations
(no rounding to uint8 after each one), the crop is resampled with ``roi_align``
(bilinear, averaging ``ceil(crop / size)`` samples per output pixel when shrinking,
like an anti-aliased resize), and the blur kernel is cut at 3 sigma.
"""
import math
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import roi_align

#: ITU-R 601 luma weights (R, G, B), as torchvision's and mmcv's grayscale.
LUMA = (0.299, 0.587, 0.114)
Images = Union[Tensor, Sequence[Tensor]]


def _uniform(n: int, low: float, high: float, device: torch.device) -> Tensor:
    return torch.empty(n, device=device).uniform_(low, high)


def _bernoulli(n: int, prob: float, device: torch.device) -> Tensor:
    return torch.rand(n, device=device) < prob


def sample_crop_boxes(heights: Tensor, widths: Tensor,
                      scale: Tuple[float, float] = (0.08, 1.0),
                      ratio: Tuple[float, float] = (3. / 4., 4. / 3.),
                      attempts: int = 10) -> Tensor:
    """Random-resized-crop boxes, one per image, as torchvision/mmpretrain draw them.

    For each image up to ``attempts`` candidates: area fraction ``U(scale)``, log
    aspect ratio ``U(log ratio)``, side lengths rounded; the first candidate that
    fits is kept, else the centre crop of the largest box with an aspect ratio
    inside ``ratio``. The offset is uniform over the integer positions.

    Args:
        heights (Tensor): Image heights, shape (N,).
        widths (Tensor): Image widths, shape (N,).
        scale (tuple[float, float]): Range of the crop's area fraction.
        ratio (tuple[float, float]): Range of the crop's aspect ratio (w / h).
        attempts (int): Candidates per image. Defaults to 10.

    Returns:
        Tensor: Boxes ``(x0, y0, x1, y1)`` in pixel-edge coordinates, shape (N, 4),
        float.
    """
    h, w = heights.float(), widths.float()
    n, device = h.numel(), h.device
    area = (h * w)[:, None]
    target = area * torch.empty(n, attempts, device=device).uniform_(*scale)
    aspect = torch.exp(torch.empty(n, attempts, device=device).uniform_(
        math.log(ratio[0]), math.log(ratio[1])))
    cw = torch.round(torch.sqrt(target * aspect))
    ch = torch.round(torch.sqrt(target / aspect))
    fits = (cw > 0) & (cw <= w[:, None]) & (ch > 0) & (ch <= h[:, None])
    first = fits.to(torch.uint8).argmax(1, keepdim=True)  # first fitting candidate
    found = fits.any(1)
    cw, ch = cw.gather(1, first)[:, 0], ch.gather(1, first)[:, 0]
    # Fallback: centre crop, as large as possible within the aspect-ratio range.
    in_ratio = w / h
    fw = torch.where(in_ratio > ratio[1], torch.round(h * ratio[1]), w)
    fh = torch.where(in_ratio < ratio[0], torch.round(w / ratio[0]), h)
    cw, ch = torch.where(found, cw, fw), torch.where(found, ch, fh)
    rand = torch.rand(n, 2, device=device)
    y0 = torch.where(found, torch.floor(rand[:, 0] * (h - ch + 1)),
                     torch.div(h - ch, 2, rounding_mode='floor'))
    x0 = torch.where(found, torch.floor(rand[:, 1] * (w - cw + 1)),
                     torch.div(w - cw, 2, rounding_mode='floor'))
    return torch.stack([x0, y0, x0 + cw, y0 + ch], dim=1)


def resized_crop(images: Images, boxes: Tensor, size: int) -> Tensor:
    """Crop every image to its box and resize it to ``size x size`` (float out).

    Args:
        images (Tensor | Sequence[Tensor]): A (N, C, H, W) batch or N (C, H, W)
            images of any sizes, any dtype.
        boxes (Tensor): (N, 4) boxes from :func:`sample_crop_boxes`.
        size (int): Output side.

    Returns:
        Tensor: (N, C, size, size) float32.
    """
    out = (size, size)
    if isinstance(images, Tensor):
        rois = torch.cat([torch.arange(len(boxes), device=boxes.device,
                                       dtype=boxes.dtype)[:, None], boxes], dim=1)
        return roi_align(images.float(), rois, out, spatial_scale=1.0,
                         sampling_ratio=-1, aligned=True)
    return torch.cat([
        roi_align(img[None].float(), [box[None]], out, spatial_scale=1.0,
                  sampling_ratio=-1, aligned=True)
        for img, box in zip(images, boxes)
    ])


def grayscale(x: Tensor) -> Tensor:
    """Luma of RGB images, shape (N, 1, H, W)."""
    r, g, b = x.unbind(1)
    return (LUMA[0] * r + LUMA[1] * g + LUMA[2] * b).unsqueeze(1)


def _blend(x: Tensor, other: Tensor, factor: Tensor) -> Tensor:
    f = factor.view(-1, 1, 1, 1)
    return (f * x + (1 - f) * other).clamp_(0, 1)


def adjust_brightness(x: Tensor, factor: Tensor) -> Tensor:
    """Multiply by ``factor`` (per image) and clip."""
    return (x * factor.view(-1, 1, 1, 1)).clamp(0, 1)


def adjust_contrast(x: Tensor, factor: Tensor) -> Tensor:
    """Blend with the image's mean grey level (per image)."""
    return _blend(x, grayscale(x).mean(dim=(-3, -2, -1), keepdim=True), factor)


def adjust_saturation(x: Tensor, factor: Tensor) -> Tensor:
    """Blend with the image's grayscale version (per image)."""
    return _blend(x, grayscale(x), factor)


def adjust_hue(x: Tensor, factor: Tensor) -> Tensor:
    """Rotate the hue by ``factor`` turns (per image, in [-0.5, 0.5])."""
    r, g, b = x.unbind(1)
    maxc, _ = x.max(dim=1)
    minc, _ = x.min(dim=1)
    delta = maxc - minc
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
    hue = torch.where(maxc == r, bc - gc,
                      torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    hue = torch.where(delta > 0, hue / 6.0, torch.zeros_like(hue))
    hue = torch.remainder(hue + factor.view(-1, 1, 1), 1.0)
    sat = torch.where(maxc > 0, delta / torch.where(maxc > 0, maxc,
                                                    torch.ones_like(maxc)),
                      torch.zeros_like(maxc))
    # HSV -> RGB with the continuous form: c = v - v*s*clip(min(k, 4-k), 0, 1).
    k = torch.remainder(torch.stack([5.0 + hue * 6, 3.0 + hue * 6, 1.0 + hue * 6],
                                    dim=1), 6.0)
    weight = torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0)
    return maxc[:, None] - (maxc * sat)[:, None] * weight


def gaussian_blur(x: Tensor, sigma: Tensor, radius: int) -> Tensor:
    """Blur every image with its own Gaussian (std ``sigma`` pixels).

    A separable kernel of ``2 * radius + 1`` taps with reflect padding, applied
    to all images and channels at once with a grouped convolution.
    """
    n, c, h, w = x.shape
    radius = max(1, min(radius, h - 1, w - 1))
    taps = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (taps[None] / sigma.to(x.dtype)[:, None])**2)
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, dim=0)
    y = x.reshape(1, n * c, h, w)
    y = F.conv2d(F.pad(y, (radius, radius, 0, 0), mode='reflect'),
                 kernel[:, None, None, :], groups=n * c)
    y = F.conv2d(F.pad(y, (0, 0, radius, radius), mode='reflect'),
                 kernel[:, None, :, None], groups=n * c)
    return y.reshape(n, c, h, w)


def _jitter_range(value: float, name: str, center: float = 1.0
                  ) -> Tuple[float, float]:
    if value < 0:
        raise ValueError(f'{name} must be >= 0, got {value}.')
    if name == 'hue':
        if value > 0.5:
            raise ValueError(f'hue must be in [0, 0.5], got {value}.')
        return (-value, value)
    return (max(0.0, center - value), center + value)


@dataclass
class ViewAugment:
    """The augmentation of one view, applied to a whole batch at once.

    Order (the one of our CPU view pipelines; flip commutes with the pixel-wise
    and symmetric operations after it): random resized crop, horizontal flip,
    colour jitter (probability ``jitter_prob``; brightness, contrast, saturation
    and hue in a random order per image), grayscale, Gaussian blur, solarize.

    Args:
        crop_size (int): Output side. Defaults to 224.
        scale (tuple[float, float]): Crop area fraction range (mmpretrain's
            ``crop_ratio_range``). Defaults to (0.08, 1.0).
        ratio (tuple[float, float]): Crop aspect-ratio range (``aspect_ratio_range``).
            Defaults to (3/4, 4/3).
        flip_prob (float): Horizontal flip probability. Defaults to 0.5.
        jitter_prob (float): Probability of colour jitter. Defaults to 0.8.
        brightness (float): Factor range ``[max(0, 1-b), 1+b]``. Defaults to 0.4.
        contrast (float): Like ``brightness``. Defaults to 0.4.
        saturation (float): Like ``brightness``. Defaults to 0.4.
        hue (float): Hue shift range ``[-hue, hue]`` turns, ``hue <= 0.5``.
            Defaults to 0.1.
        gray_prob (float): Grayscale probability. Defaults to 0.2.
        blur_prob (float): Gaussian blur probability. Defaults to 0.
        blur_sigma (tuple[float, float]): Blur std range in pixels, drawn
            uniformly (mmpretrain's ``magnitude_range`` with
            ``magnitude_std='inf'``). Defaults to (0.1, 2.0).
        solarize_prob (float): Solarize probability. Defaults to 0.
        solarize_thr (float): Values ``>= thr`` (0-255 scale) become
            ``255 - value``. Defaults to 128.
    """

    crop_size: int = 224
    scale: Tuple[float, float] = (0.08, 1.0)
    ratio: Tuple[float, float] = (3. / 4., 4. / 3.)
    flip_prob: float = 0.5
    jitter_prob: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1
    gray_prob: float = 0.2
    blur_prob: float = 0.0
    blur_sigma: Tuple[float, float] = (0.1, 2.0)
    solarize_prob: float = 0.0
    solarize_thr: float = 128.0

    def __post_init__(self) -> None:
        self.scale, self.ratio = tuple(self.scale), tuple(self.ratio)
        self.blur_sigma = tuple(self.blur_sigma)
        if not 0 < self.scale[0] <= self.scale[1]:
            raise ValueError(f'scale must be 0 < min <= max, got {self.scale}.')
        if not 0 < self.ratio[0] <= self.ratio[1]:
            raise ValueError(f'ratio must be 0 < min <= max, got {self.ratio}.')
        for name in ('flip_prob', 'jitter_prob', 'gray_prob', 'blur_prob',
                     'solarize_prob'):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f'{name} must be in [0, 1], got '
                                 f'{getattr(self, name)}.')
        self.ranges = {name: _jitter_range(getattr(self, name), name)
                       for name in ('brightness', 'contrast', 'saturation', 'hue')}

    def sample(self, heights: Tensor, widths: Tensor) -> Dict[str, Tensor]:
        """Draw every random parameter for a batch (all on the images' device).

        Returns:
            dict[str, Tensor]: ``boxes`` (N, 4); ``flip``, ``jitter``, ``gray``,
            ``blur``, ``solarize`` (N,) bool; ``brightness``, ``contrast``,
            ``saturation``, ``hue``, ``sigma`` (N,) float; ``order`` (N, 4), a
            permutation of (brightness, contrast, saturation, hue) per image.
        """
        n, device = heights.numel(), heights.device
        params = dict(boxes=sample_crop_boxes(heights, widths, self.scale,
                                              self.ratio))
        params['flip'] = _bernoulli(n, self.flip_prob, device)
        params['jitter'] = _bernoulli(n, self.jitter_prob, device)
        for name, (low, high) in self.ranges.items():
            params[name] = _uniform(n, low, high, device)
        params['order'] = torch.rand(n, 4, device=device).argsort(dim=1)
        params['gray'] = _bernoulli(n, self.gray_prob, device)
        params['blur'] = _bernoulli(n, self.blur_prob, device)
        params['sigma'] = _uniform(n, *self.blur_sigma, device)
        params['solarize'] = _bernoulli(n, self.solarize_prob, device)
        return params

    def apply(self, images: Images, params: Dict[str, Tensor]) -> Tensor:
        """Augment ``images`` (uint8 0-255 or float 0-255, RGB) with ``params``.

        Returns:
            Tensor: (N, 3, crop_size, crop_size) float RGB in ``[0, 1]``.
        """
        x = resized_crop(images, params['boxes'], self.crop_size) / 255.
        x = torch.where(params['flip'].view(-1, 1, 1, 1), x.flip(-1), x)
        x = self._jitter(x, params)
        if self.gray_prob > 0:
            x = torch.where(params['gray'].view(-1, 1, 1, 1),
                            grayscale(x).expand_as(x), x)
        if self.blur_prob > 0:
            radius = math.ceil(3 * self.blur_sigma[1])
            x = torch.where(params['blur'].view(-1, 1, 1, 1),
                            gaussian_blur(x, params['sigma'], radius), x)
        if self.solarize_prob > 0:
            solar = torch.where(x * 255. >= self.solarize_thr, 1. - x, x)
            x = torch.where(params['solarize'].view(-1, 1, 1, 1), solar, x)
        return x

    def _jitter(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        """Colour jitter, each image with its own factors and order of operations.

        Applying every operation at every order position to the whole batch and
        selecting per image costs 16 operation passes. Here brightness, contrast and
        saturation are one fused pass, ``clip(a x + b gray(x) + c mean_gray(x))``
        with per-image ``(a, b, c)`` = ``(f, 0, 0)``, ``(f, 0, 1 - f)``,
        ``(f, 1 - f, 0)`` or the identity ``(1, 0, 0)``, the same arithmetic as
        :func:`adjust_brightness`, :func:`adjust_contrast` and
        :func:`adjust_saturation`. Hue, the costly one, runs once: each image's
        operations before its hue step go into up to 3 fused passes ahead of the
        hue pass (right-aligned), those after it into up to 3 behind (left-aligned),
        so 6 cheap passes and 1 hue pass replace 16, with the drawn orders unchanged
        and no host synchronisation. (4 passes would need one order shared by the
        whole batch, another distribution, or splitting the batch by order, which
        needs the group sizes on the host.)
        """
        names = ('brightness', 'contrast', 'saturation', 'hue')
        identity = {'hue': (0.0, 0.0)}
        active = [self.jitter_prob > 0 and self.ranges[n] != identity.get(n, (1.0, 1.0))
                  for n in names]
        if not any(active):
            return x
        jitter, order = params['jitter'], params['order']
        # a, b, c per operation id (rows 0-2), then the identity (row 3)
        ones, zeros = torch.ones_like(jitter, dtype=x.dtype), torch.zeros_like(
            jitter, dtype=x.dtype)
        f = {name: params[name].to(x.dtype) if active[i] else ones
             for i, name in enumerate(names[:3])}
        coef = torch.stack([
            torch.stack([f['brightness'], zeros, zeros], 1),
            torch.stack([f['contrast'], zeros, 1 - f['contrast']], 1),
            torch.stack([f['saturation'], 1 - f['saturation'], zeros], 1),
            torch.stack([ones, zeros, zeros], 1)])  # (4, N, 3)
        rows = torch.arange(x.shape[0], device=x.device)

        def linear_pass(x: Tensor, pos: Tensor) -> Tensor:
            """Each image's operation at order position ``pos`` (identity where
            ``pos`` is outside 0-3, for hue and for images not jittered)."""
            op = order[rows, pos.clamp(0, 3)]
            op = torch.where((pos >= 0) & (pos <= 3) & jitter, op, 3)
            return self._linear_jitter(x, coef[op, rows])

        before, after = [], []
        if any(active[:3]) and active[3]:  # right- and left-aligned around the hue
            hue_pos = (order == 3).to(torch.uint8).argmax(1)
            before = [hue_pos + s for s in (-3, -2, -1)]
            after = [hue_pos + s for s in (1, 2, 3)]
        elif any(active[:3]):  # no hue: one pass per position, hue entries identity
            before = [torch.full_like(order[:, 0], p) for p in range(4)]
        for pos in before:
            x = linear_pass(x, pos)
        if active[3]:
            x = torch.where(jitter.view(-1, 1, 1, 1),
                            adjust_hue(x, params['hue'].to(x.dtype)), x)
        for pos in after:
            x = linear_pass(x, pos)
        return x

    @staticmethod
    def _linear_jitter(x: Tensor, coef: Tensor) -> Tensor:
        """``clip(a x + b gray(x) + c mean_gray(x), 0, 1)`` with per-image (N, 3)
        ``coef``: brightness, contrast, saturation or identity in one pass."""
        a, b, c = coef.view(-1, 3, 1, 1, 1).unbind(1)
        gray = grayscale(x)
        mean = gray.mean(dim=(-3, -2, -1), keepdim=True)
        return (a * x + b * gray + c * mean).clamp_(0, 1)

    def __call__(self, images: Images, heights: Tensor, widths: Tensor) -> Tensor:
        """Sample parameters for the batch and apply them."""
        return self.apply(images, self.sample(heights, widths))


def image_sizes(images: Images, device: torch.device) -> Tuple[Tensor, Tensor]:
    """Heights and widths of a batch or of a list of images, as tensors."""
    if isinstance(images, Tensor):
        n, _, h, w = images.shape
        return (torch.full((n, ), h, device=device),
                torch.full((n, ), w, device=device))
    sizes: List[Tuple[int, int]] = [tuple(img.shape[-2:]) for img in images]
    hw = torch.tensor(sizes, device=device)
    return hw[:, 0], hw[:, 1]
