"""Every model feeds the next: a MoCo v3 ViT run and a TEC run of this toolbox load as
TEC's base model through the shipped configs, strictly, and give the same base features
as the modules they were saved from, on real images; a base of another patch size or
depth is named on both sides, with the fix."""
import re
from pathlib import Path

import pytest
import torch
from tinyruns import ARCH, VIT, layer_outputs, save_run, tec_model_cfg, trained_mocov3, trained_tec

from slimselfsup.apis import load_config
from slimselfsup.converters import ConversionError
from slimselfsup.registry import MODELS

REPO = Path(__file__).resolve().parents[3]
TEC = REPO / 'configs' / 'tec'
MOCOV3_BASE = TEC / 'tec-mocov3_vit-base-p16_8xb256-accum2-amp-coslr-300e_in1k.py'
SECOND_ROUND = [TEC / 'tec-tecmae_vit-base-p16_8xb256-accum2-amp-coslr-300e_in1k.py',
                TEC / 'tec-tecmae_vit-tiny-p4_1xb256-amp-coslr-200e_cifar10.py']


def shipped_generator(config: Path, checkpoint: Path, base_model=VIT):
    """The target generator of a shipped TEC config (its converter and options), with
    the tiny base model and ``checkpoint``, loaded."""
    cfg = load_config(str(config)).model.target_generator
    cfg.update(base_model=base_model, checkpoint=str(checkpoint), topk=4)
    gen = MODELS.build(cfg)
    gen.init_weights()
    return gen


def assert_same_base_features(gen, original, x, **kwargs):
    """Every layer output of the loaded base equals the original's, and so does the
    feature target (the mean of the last two)."""
    ours, theirs = layer_outputs(gen.base_model, x), layer_outputs(original, x, **kwargs)
    for a, b in zip(ours[:-1], theirs[:-1]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ours[-1], theirs[-1], rtol=1e-5, atol=1e-6)  # final norm
    torch.testing.assert_close(gen(x)[0], (theirs[-3] + theirs[-2])[:, 1:] / 2,
                               rtol=1e-5, atol=1e-6)


def test_mocov3_run_is_the_base_of_the_shipped_config(real_images, tmp_path):
    mocov3 = trained_mocov3(real_images)
    run = save_run(mocov3, tmp_path / 'epoch_300.pth')
    gen = shipped_generator(MOCOV3_BASE, run)
    assert gen.base.converter == 'mocov3-vit'
    for key, value in mocov3.backbone.state_dict().items():  # the base encoder, exactly
        assert torch.equal(gen.base_model.state_dict()[key], value), key
    x = (real_images - 0.5) / 0.25
    mocov3.backbone.out_type = 'raw'  # all tokens after the final norm, as the base
    assert_same_base_features(gen, mocov3.backbone, x)
    # without the converter, the run's backbone.* is read as well (the other keys of
    # the run are dropped by the prefix)
    raw = MODELS.build(dict(type='TECTargetGenerator', base_model=VIT, topk=4,
                            checkpoint=str(run)))
    raw.init_weights()
    torch.testing.assert_close(raw(x)[0], gen(x)[0], rtol=0, atol=0)


@pytest.mark.parametrize('config', SECOND_ROUND, ids=lambda p: p.name)
def test_tec_run_is_the_base_of_a_second_round(real_images, tmp_path, config):
    tec = trained_tec(real_images)
    run = save_run(tec, tmp_path / 'epoch_200.pth')
    gen = shipped_generator(config, run)
    assert (gen.base.converter, gen.base.converter_options) == \
        ('tec-finetune', dict(keep_norm=True))
    x = (real_images - 0.5) / 0.25
    tec.backbone.out_type = 'raw'
    assert_same_base_features(gen, tec.backbone, x, mask=False)  # the encoder, unmasked
    # and the second round trains from it
    second = MODELS.build(tec_model_cfg(str(run), converter='tec-finetune',
                                        converter_options=dict(keep_norm=True)))
    second.init_weights()
    torch.testing.assert_close(second.target_generator(x)[0], gen(x)[0], rtol=0, atol=0)
    losses = second.loss(x, [])
    assert all(torch.isfinite(v) for v in losses.values())

    # a TEC run without the converter: its MLP cls token is named, and the fix
    plain = MODELS.build(dict(type='TECTargetGenerator', base_model=VIT, topk=4,
                              checkpoint=str(run)))
    with pytest.raises(ConversionError, match=r"unexpected keys \['cls_token_mlp.fc1.bias'"
                       r".*tec-finetune --option keep_norm=True for a TEC model\) or name "
                       r'that converter in model.target_generator.converter'):
        plain.init_weights()


def mismatch_message(tmp_path, real_images, **base) -> str:
    run = save_run(trained_mocov3(real_images[:8]), tmp_path / 'epoch_300.pth')
    with pytest.raises(ConversionError) as err:
        shipped_generator(MOCOV3_BASE, run, base_model=dict(VIT, **base))
    return str(err.value)


def test_a_base_of_another_patch_size_is_named_with_the_fix(tmp_path, real_images):
    message = mismatch_message(tmp_path, real_images, patch_size=4)
    path = re.escape(str(tmp_path / 'epoch_300.pth'))
    assert re.fullmatch(
        rf"TEC base model checkpoint {path} \(converted by 'mocov3-vit'\) does not match: "
        r"shapes \(checkpoint vs config\) differ: \['pos_embed \(1, 17, 32\) vs \(1, 65, "
        r"32\)', 'patch_embed.projection.weight \(32, 3, 8, 8\) vs \(32, 3, 4, 4\)'\] "
        r'\(2\)\. The checkpoint holds ViT with 2 layers, 32 dims, patch size 8, 17 tokens; '
        r'the config builds ViT with 2 layers, 32 dims, patch size 4, 65 tokens as the '
        r'TEC base model\. Fix: set patch_size=8 \(the config has 4\) in '
        r"`model.target_generator.base_model` to build the checkpoint's network, or point "
        r'`model.target_generator.checkpoint` at a checkpoint of the network the config '
        r'builds\. Convert official weights first .*', message), message


def test_a_base_of_another_depth_is_named_with_the_fix(tmp_path, real_images):
    message = mismatch_message(tmp_path, real_images, arch=dict(ARCH, num_layers=3))
    assert "missing keys ['layers.2.attn.proj.bias', 'layers.2.attn.proj.weight'" in message
    assert 'The checkpoint holds ViT with 2 layers, 32 dims, patch size 8, 17 tokens; the ' \
        'config builds ViT with 3 layers, 32 dims, patch size 8, 17 tokens as the TEC ' \
        'base model. Fix: set arch.num_layers=2 (the config has 3) in ' \
        '`model.target_generator.base_model`' in message


def test_an_unknown_or_failing_converter_is_named(tmp_path, real_images):
    with pytest.raises(KeyError, match=r"TEC base model: unknown converter 'moco-v3'; "
                       r'available: .*mocov3-vit'):
        MODELS.build(dict(type='TECTargetGenerator', base_model=VIT, converter='moco-v3'))
    run = save_run(trained_tec(real_images[:8]), tmp_path / 'tec.pth')
    path = re.escape(str(run))
    with pytest.raises(ConversionError, match=(
            rf'TEC base model checkpoint {path} \(model.target_generator.checkpoint\), '
            r"converter 'mocov3-vit': MoCo v3 base encoder does not match: missing keys "
            r"\[\] \(0\), unexpected keys \['cls_token_mlp.fc1.bias'.*tec-finetune")):
        shipped_generator(MOCOV3_BASE, run)


@pytest.mark.slow
def test_runner_chain_mocov3_then_two_tec_rounds(real_images, tmp_path, data_root):
    """mmengine Runners on real images: TEC from a MoCo v3 run, then a second TEC round
    (the shipped CIFAR config) from the first round's epoch_1.pth."""
    from mmengine.config import Config

    from slimselfsup.converters import convert
    from slimselfsup.registry import RUNNERS

    def run(config: Path, name: str, base: Path, **converter) -> Path:
        cfg = load_config(str(config))
        shipped = cfg.model.target_generator
        converter = converter or dict(converter=shipped.converter,
                                      converter_options=shipped.converter_options)
        cfg.model = tec_model_cfg(str(base), **converter)  # the config's, shrunk
        cfg.train_dataloader.dataset.data_root = data_root
        cfg.train_dataloader.update(batch_size=8, num_workers=0, persistent_workers=False)
        cfg.update(work_dir=str(tmp_path / name), custom_hooks=[], log_level='WARNING',
                   train_cfg=dict(max_epochs=1))
        cfg.param_scheduler = []
        cfg.optim_wrapper.type = 'OptimWrapper'  # no AMP on the CPU
        cfg.optim_wrapper.pop('loss_scale', None)
        runner = RUNNERS.build(Config(cfg.to_dict()))
        runner.train()
        assert runner.iter == 5  # 40 images, batch 8
        return tmp_path / name / 'epoch_1.pth'

    mocov3 = save_run(trained_mocov3(real_images), tmp_path / 'mocov3.pth')
    first = run(TEC / 'tec-mae_vit-tiny-p4_1xb256-amp-coslr-200e_cifar10.py', 'first',
                mocov3, converter='mocov3-vit')
    second = run(SECOND_ROUND[1], 'second', first)  # its converter: tec-finetune
    saved = torch.load(second, weights_only=True)['state_dict']
    assert not any(k.startswith('target_generator.') for k in saved)  # base kept out
    # the second round's base is the first round's trained encoder, folded
    gen = shipped_generator(SECOND_ROUND[1], first)
    folded = convert('tec-finetune', torch.load(first, weights_only=True), keep_norm=True)
    for key, value in gen.base_model.state_dict().items():
        assert torch.equal(value, folded['backbone.' + key]), key
