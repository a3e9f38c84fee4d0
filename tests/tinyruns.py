"""Tiny ViT models trained a few steps on real images with the shipped recipes, saved as
mmengine's CheckpointHook saves them: the checkpoints TEC takes its base models from.

A plain module with a unique name (``from tinyruns import ...``), like ``realdata``.
"""
from pathlib import Path

import torch
from torch import nn

from slimselfsup.apis import load_config
from slimselfsup.registry import MODELS

REPO = Path(__file__).resolve().parents[1]
MOCOV3_VIT_S = REPO / 'configs/mocov3/mocov3_vit-small-p16_16xb256-amp-coslr-300e_in1k.py'
TEC_TINY = REPO / 'configs/tec/tec-mae_vit-tiny-p4_1xb256-amp-coslr-200e_cifar10.py'
#: A 2-layer ViT on 32x32 images with 8x8 patches (16 patches).
ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
#: That ViT as a TEC base model builds it.
VIT = dict(type='VisionTransformer', arch=ARCH, img_size=32, patch_size=8, out_type='raw')


def _train(model: nn.Module, steps: int, inputs) -> nn.Module:
    model.init_weights()
    optim = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(steps):
        optim.zero_grad()
        sum(v for k, v in model.loss(inputs, []).items()
            if k.startswith('loss')).backward()
        optim.step()
    model.eval()
    return model


def trained_mocov3(images: torch.Tensor) -> nn.Module:
    """The shipped MoCo v3 ViT-S recipe shrunk to :data:`ARCH`, after two SGD steps on
    ``images`` (so its base and momentum encoders differ)."""
    torch.manual_seed(0)
    model = load_config(str(MOCOV3_VIT_S)).model
    model.backbone.update(arch=ARCH, img_size=32, patch_size=8)
    model.neck.update(in_channels=32, hid_channels=16, out_channels=8,
                      norm_cfg=dict(type='BN1d'))
    model.predictor.update(in_channels=8, hid_channels=16, out_channels=8,
                           norm_cfg=dict(type='BN1d'))
    x = (images - 0.5) / 0.25
    return _train(MODELS.build(model), 2, [x, x.flip(-1)])


def tec_model_cfg(base_checkpoint=None, **target_generator):
    """The shipped CIFAR TEC recipe's model, shrunk to :data:`ARCH` (new model and base
    model alike); ``target_generator`` overrides its fields."""
    model = load_config(str(TEC_TINY)).model
    model.backbone.update(arch=ARCH, patch_size=8)
    model.neck.update(num_patches=16, embed_dims=32, num_layers=2, layers_per_group=1,
                      target_dims=32, target_heads=2, decoder_embed_dims=16,
                      decoder_num_heads=2)
    model.target_generator.update(base_model=VIT, checkpoint=base_checkpoint, topk=4,
                                  **target_generator)
    return model


def trained_tec(images: torch.Tensor) -> nn.Module:
    """TEC (the CIFAR recipe, shrunk) after two SGD steps on ``images``, from a random
    base model."""
    torch.manual_seed(1)
    return _train(MODELS.build(tec_model_cfg()), 2, (images - 0.5) / 0.25)


def save_run(model: nn.Module, path: Path) -> Path:
    """``model`` saved as mmengine's CheckpointHook does (state next to the weights)."""
    torch.save(dict(meta=dict(epoch=1, iter=2), state_dict=model.state_dict(),
                    message_hub=dict(log_scalars={})), path)
    return path


def layer_outputs(vit: nn.Module, x: torch.Tensor, **kwargs) -> list:
    """The output of every transformer layer of ``vit`` on ``x``, then its final output
    (``vit(x, **kwargs)[0]``)."""
    outs = []
    hooks = [layer.register_forward_hook(lambda m, i, o: outs.append(o))
             for layer in vit.layers]
    with torch.no_grad():
        final = vit(x, **kwargs)[0]
    for hook in hooks:
        hook.remove()
    return outs + [final]
