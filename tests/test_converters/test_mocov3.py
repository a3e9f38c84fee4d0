"""MoCo v3 ViT checkpoints (a run of ours, official facebookresearch/moco-v3) -> our
ViT, strictly, with the same features on real images."""
import importlib.util
from pathlib import Path

import pytest
import timm
import torch
from tinyruns import VIT, layer_outputs, save_run, trained_mocov3
from torch import nn

from slimselfsup.converters import ConversionError, convert
from slimselfsup.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location('convert_ckpt',
                                               REPO / 'tools' / 'convert_ckpt.py')
convert_ckpt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(convert_ckpt)


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
