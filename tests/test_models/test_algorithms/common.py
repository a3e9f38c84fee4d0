"""Helpers shared by the algorithm tests: tiny models and a real two-view batch."""
import copy

import torch
from mmengine.optim import build_optim_wrapper

from slimselfsup.registry import MODELS

TINY_RESNET = dict(type='ResNet', depth=18, stem_channels=16, base_channels=16,
                   norm_cfg=dict(type='BN'))
PREPROCESSOR = dict(type='SelfSupDataPreprocessor', mean=[125.3, 123.0, 113.9],
                    std=[63.0, 62.1, 66.7], to_rgb=False)


def two_views(images: torch.Tensor) -> list:
    """Two deterministic views of real images in 0-255 scale: the image and a
    flipped, brightened, shifted copy."""
    view1 = images * 255
    view2 = (torch.roll(images.flip(-1), shifts=2, dims=-2) * 1.2).clamp(0, 1) * 255
    return [view1, view2]


def build(cfg: dict):
    model = MODELS.build(dict(cfg, data_preprocessor=PREPROCESSOR))
    model.init_weights()
    return model


def train_steps(model, inputs: list, steps: int, lr: float = 0.05) -> list:
    """Run ``steps`` SGD steps through ``model.train_step`` and return the losses."""
    wrapper = build_optim_wrapper(
        model, dict(optimizer=dict(type='SGD', lr=lr, momentum=0.9)))
    data = dict(inputs=inputs, data_samples=None)
    return [float(model.train_step(data, wrapper)['loss']) for _ in range(steps)]


def loss_on(model, inputs: list, restore=None) -> float:
    """Loss of ``inputs`` under a copy of ``model`` so that side effects (momentum
    update, enqueue) do not touch it; ``restore`` may reset state on the copy."""
    probe = copy.deepcopy(model)
    if restore is not None:
        restore(probe)
    with torch.no_grad():
        data = probe.data_preprocessor(dict(inputs=inputs, data_samples=None), True)
        return float(probe.loss(data['inputs'], None)['loss'])
