"""MoCo v3 ViT checkpoints (a run of ours, official facebookresearch/moco-v3) -> our
ViT, strictly, with the same features on real images."""
import importlib.util
from pathlib import Path

import pytest
import timm
import torch
from torch import nn

from slimselfsup.apis import load_config
from slimselfsup.converters import ConversionError, convert
from slimselfsup.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
MOCOV3_VIT_S = REPO / 'configs/mocov3/mocov3_vit-small-p16_16xb256-amp-coslr-300e_in1k.py'
ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
#: The ViT of the tiny MoCo v3 run, as a TEC base model builds it.
VIT = dict(type='VisionTransformer', arch=ARCH, img_size=32, patch_size=8, out_type='raw')
_spec = importlib.util.spec_from_file_location('convert_ckpt',
                                               REPO / 'tools' / 'convert_ckpt.py')
convert_ckpt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(convert_ckpt)


def trained_mocov3(images: torch.Tensor) -> nn.Module:
    """The shipped MoCo v3 ViT-S recipe shrunk to a 2-layer ViT on 32x32 images, after
    two SGD steps on real images (so base and momentum encoders differ)."""
    torch.manual_seed(0)
    model = load_config(str(MOCOV3_VIT_S)).model
    model.backbone.update(arch=ARCH, img_size=32, patch_size=8)
    model.neck.update(in_channels=32, hid_channels=16, out_channels=8,
                      norm_cfg=dict(type='BN1d'))
    model.predictor.update(in_channels=8, hid_channels=16, out_channels=8,
                           norm_cfg=dict(type='BN1d'))
    model = MODELS.build(model)
    model.init_weights()
    optim = torch.optim.SGD(model.parameters(), lr=0.05)
    views = [(images - 0.5) / 0.25, (images.flip(-1) - 0.5) / 0.25]
    for _ in range(2):
        optim.zero_grad()
        model.loss(views, [])['loss'].backward()
        optim.step()
    model.eval()
    return model


def save_run(model: nn.Module, path: Path) -> Path:
    """``model`` saved as mmengine's CheckpointHook does (state next to the weights)."""
    torch.save(dict(meta=dict(epoch=1, iter=2), state_dict=model.state_dict(),
                    message_hub=dict(log_scalars={})), path)
    return path


def layer_outputs(vit: nn.Module, x: torch.Tensor) -> list:
    """Every transformer layer's output and the final output of ``vit`` on ``x``."""
    outs = []
    hooks = [layer.register_forward_hook(lambda m, i, o: outs.append(o))
             for layer in vit.layers]
    with torch.no_grad():
        final = vit(x)[0]
    for hook in hooks:
        hook.remove()
    return outs + [final]


def plain_vit(state: dict) -> nn.Module:
    vit = MODELS.build(dict(VIT, out_type='cls_token'))
    vit.eval()
    vit.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()}, strict=True)
    return vit


@pytest.mark.parametrize('encoder', ['base', 'momentum'])
def test_our_run_gives_the_encoder_with_the_same_features(real_images, tmp_path, encoder):
    model = trained_mocov3(real_images)
    original = model.backbone if encoder == 'base' else model.momentum_encoder.module[0]
    ckpt = torch.load(save_run(model, tmp_path / 'epoch_1.pth'), weights_only=True)
    state = convert('mocov3-vit', ckpt, encoder=encoder)
    assert state.keys() == {'backbone.' + k for k in original.state_dict()}
    x = (real_images - 0.5) / 0.25
    for ours, theirs in zip(layer_outputs(plain_vit(state), x),
                            layer_outputs(original, x)):
        assert torch.equal(ours, theirs)
    # the two encoders really differ, so the option picks one
    other = convert('mocov3-vit', ckpt, encoder={'base': 'momentum',
                                                 'momentum': 'base'}[encoder])
    assert not torch.equal(other['backbone.layers.0.attn.qkv.weight'],
                           state['backbone.layers.0.attn.qkv.weight'])


def official_moco_vit() -> nn.Module:
    """facebookresearch/moco-v3's ``base_encoder``: a timm ViT whose ``head`` is the
    3-layer projector (``_build_mlp``: Linear, BN, ReLU, Linear, BN, ReLU, Linear, BN
    without affine)."""
    torch.manual_seed(1)
    vit = timm.create_model('vit_tiny_patch16_224', pretrained=False, img_size=32,
                            patch_size=8, embed_dim=32, depth=2, num_heads=2, mlp_ratio=2.,
                            num_classes=0)
    vit.head = nn.Sequential(nn.Linear(32, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(),
                             nn.Linear(16, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(),
                             nn.Linear(16, 8, bias=False), nn.BatchNorm1d(8, affine=False))
    for p in vit.parameters():  # no zero biases or unit norms: every key matters
        p.data.add_(torch.randn_like(p) * 0.05)
    return vit.eval()


def test_official_checkpoint_through_the_tool_same_features(real_images, tmp_path):
    base, momentum = official_moco_vit(), official_moco_vit()
    momentum.cls_token.data += 1
    state = {f'module.{name}.{k}': v for name, net in (('base_encoder', base),
                                                       ('momentum_encoder', momentum))
             for k, v in net.state_dict().items()}
    state['module.predictor.0.weight'] = torch.zeros(16, 8)
    src = tmp_path / 'checkpoint_0299.pth.tar'
    torch.save(dict(epoch=300, arch='vit_small', state_dict=state), src)
    assert convert_ckpt.main(['mocov3-vit', str(src), str(tmp_path / 'out.pth')]) == 0
    out = torch.load(tmp_path / 'out.pth', weights_only=True)
    assert out['meta']['converter'] == 'mocov3-vit'
    vit = plain_vit(out['state_dict'])
    assert torch.equal(vit.cls_token, base.cls_token)  # the base encoder
    x = (real_images - 0.5) / 0.25
    with torch.no_grad():
        torch.testing.assert_close(vit(x)[0], base.forward_features(x)[:, 0])


def test_bad_checkpoints_are_named(real_images):
    model = trained_mocov3(real_images[:8])
    state = dict(model.state_dict())
    with pytest.raises(ConversionError, match="encoder must be 'base' or 'momentum', "
                       "got 'ema'"):
        convert('mocov3-vit', {'state_dict': state}, encoder='ema')
    del state['backbone.layers.1.ln2.bias']
    with pytest.raises(ConversionError, match=r"MoCo v3 base encoder does not match: "
                       r"missing keys \['blocks.1.norm2.bias'\]"):
        convert('mocov3-vit', {'state_dict': state})
    resnet = {'backbone.conv1.weight': torch.zeros(1), 'backbone.layer1.0.conv1.weight':
              torch.zeros(1), 'neck.fc0.weight': torch.zeros(1)}
    with pytest.raises(ConversionError, match=r"not a MoCo v3 ViT checkpoint: no key starts "
                       r"with 'backbone.layers.' \(ours\) or 'base_encoder.blocks.' "
                       r"\(official\); it holds a ResNet, and a TEC base model must be a ViT"):
        convert('mocov3-vit', {'state_dict': resnet})
