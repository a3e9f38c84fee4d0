"""TEC end to end on real CIFAR-10 images: the loss falls, the base model stays
frozen and out of the optimizer, and the adapter adapts to each base model."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from slimselfsup.apis import load_config
from slimselfsup.converters import convert
from slimselfsup.registry import MODELS, RUNNERS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
DEMO = osp.join(REPO, 'demo', 'cifar10-mini')
CONFIGS = osp.join(REPO, 'configs', 'tec')
ARCH = dict(embed_dims=48, num_layers=3, num_heads=3, feedforward_channels=96)
TINY = dict(arch=ARCH, img_size=32, patch_size=8)


def tiny_cfg(name: str = 'tec-mae_vit-tiny-p4_1xb256-amp-coslr-200e_cifar10.py') -> Config:
    """The CIFAR-10 TEC recipe on a 3-layer ViT with 8x8 patches (16 per image)."""
    cfg = load_config(osp.join(CONFIGS, name))
    cfg.model.backbone.update(TINY)
    cfg.model.target_generator.base_model.update(TINY)
    cfg.model.target_generator.update(checkpoint=None, topk=3)
    cfg.model.neck.update(num_patches=16, embed_dims=48, target_dims=48, num_layers=3,
                          decoder_embed_dims=32)
    cfg.optim_wrapper.type = 'OptimWrapper'  # CPU
    cfg.optim_wrapper.pop('loss_scale')
    return cfg


def build(cfg: Config, seed: int = 0):
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def batch(model, real_images):
    data = dict(inputs=(real_images * 255).to(torch.uint8), data_samples=None)
    return model.data_preprocessor(data, True)['inputs']


def total(losses) -> torch.Tensor:
    return sum(v for k, v in losses.items() if k.startswith('loss'))


def steps(model, wrapper, inputs, n: int):
    for i in range(n):
        torch.manual_seed(100 + i % 2)  # two fixed masks
        wrapper.update_params(total(model.loss(inputs, None)))


def test_real_images_lower_the_loss_and_base_stays_frozen(real_images):
    cfg = tiny_cfg()
    model = build(cfg)
    model.train()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    for group in wrapper.optimizer.param_groups:
        group['lr'] = 1e-3
    inputs = batch(model, real_images)
    base = model.target_generator.base_model
    base_before = copy.deepcopy(base.state_dict())
    in_optimizer = {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    assert not in_optimizer & {id(p) for p in base.parameters()}
    assert in_optimizer == {id(p) for p in model.parameters() if p.requires_grad}
    assert not any(k.startswith('target_generator') for k in model.state_dict())

    def loss_now():
        torch.manual_seed(100)
        with torch.no_grad():
            return model.loss(inputs, None)

    before = loss_now()
    mlp_before = model.backbone.cls_token_mlp.fc1.weight.detach().clone()
    steps(model, wrapper, inputs, 20)
    after = loss_now()
    assert not base.training and model.training
    for key, value in base.state_dict().items():
        assert torch.equal(value, base_before[key]), key
    assert after['loss_feat'] < 0.9 * before['loss_feat']
    assert after['loss_att'] < before['loss_att']
    assert not torch.equal(model.backbone.cls_token_mlp.fc1.weight, mlp_before)


def test_adapter_adapts_to_each_base_model(real_images):
    """Same initial model and data, different base models: the adapters (MLP cls
    tokens) end up different (with the same base model they are identical), and the
    adapter changes the encoder's patch features, not only its cls token."""
    cfg = tiny_cfg()
    models = [build(cfg, seed=0) for _ in range(3)]
    for seed, model in zip((1, 1, 2), models):  # bases: A, A again, B
        torch.manual_seed(seed)
        for p in model.target_generator.base_model.parameters():
            if p.dim() > 1:
                torch.nn.init.normal_(p, std=0.1)
    inputs = batch(models[0], real_images)
    start = models[0].backbone.cls_embedding().detach().clone()
    for model in models:
        wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='AdamW', lr=1e-3)))
        steps(model, wrapper, inputs, 10)
    cls_a, cls_a2, cls_b = (m.backbone.cls_embedding().detach() for m in models)
    torch.testing.assert_close(cls_a, cls_a2)
    assert (cls_a - cls_b).norm() > 0.05 * (cls_a - start).norm() > 0

    encoder = copy.deepcopy(models[0].backbone)
    encoder.eval()
    encoder.out_type = 'raw'
    with torch.no_grad():
        tokens_a = encoder(inputs, mask=False)[0][:, 1:]
        encoder.cls_token_mlp.load_state_dict(models[2].backbone.cls_token_mlp.state_dict())
        tokens_b = encoder(inputs, mask=False)[0][:, 1:]
    assert not torch.allclose(tokens_a, tokens_b, atol=1e-6)


def test_config_mismatch_is_reported():
    cfg = tiny_cfg()
    cfg.model.neck.target_heads = 4
    cfg.model.neck.target_dims = 64
    with pytest.raises(ValueError, match='target_dims=64 but the base model width is 48'
                       '.*target_heads=4 but the base model has 3 heads'):
        MODELS.build(cfg.model)
    cfg = tiny_cfg()
    cfg.model.head.att_loss = None
    with pytest.raises(ValueError, match='relation targets must be on or off'):
        MODELS.build(cfg.model)


def _runner_cfg(cfg: Config, work_dir: str) -> Config:
    cfg.train_dataloader.update(batch_size=16, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.update(data_root=DEMO, indices=32)
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = []
    cfg.custom_hooks = []
    cfg.work_dir = work_dir
    return Config(cfg.to_dict())


@pytest.mark.slow
def test_mae_then_tec_then_finetune_with_runners(tmp_path):
    """The CIFAR recipe wired end to end: an MAE run is the base of a TEC run whose
    converted weights initialise the fine-tuning ViT."""
    mae = load_config(osp.join(CONFIGS, 'mae_vit-tiny-p4_1xb256-amp-coslr-400e_cifar10.py'))
    mae.model.backbone.update(TINY)
    mae.model.neck.update(num_patches=16, patch_size=8, embed_dim=48)
    mae.model.head.patch_size = 8
    mae.optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3))
    RUNNERS.build(_runner_cfg(mae, str(tmp_path / 'mae'))).train()
    mae_ckpt = str(tmp_path / 'mae' / 'epoch_1.pth')

    tec = tiny_cfg()
    tec.model.target_generator.checkpoint = mae_ckpt
    runner = RUNNERS.build(_runner_cfg(tec, str(tmp_path / 'tec')))
    runner.train()
    mae_backbone = torch.load(mae_ckpt, map_location='cpu')['state_dict']
    base = runner.model.target_generator.base_model.state_dict()
    for key, value in base.items():  # the base model is the MAE encoder, untouched
        assert torch.equal(value, mae_backbone['backbone.' + key]), key

    from tools.convert_ckpt import main as convert_main
    ft_ckpt = str(tmp_path / 'tec_ft.pth')
    assert convert_main(['tec-finetune', str(tmp_path / 'tec' / 'epoch_1.pth'),
                         ft_ckpt]) == 0
    ft = load_config(osp.join(CONFIGS, 'benchmarks',
                              'vit-tiny-p4_1xb256-ld065-coslr-100e_cifar10.py'))
    ft.model.backbone.update(TINY)
    ft.model.head.in_channels = 48
    ft.model.backbone.init_cfg.checkpoint = ft_ckpt
    clf = MODELS.build(ft.model)
    clf.init_weights()
    converted = torch.load(ft_ckpt, map_location='cpu')['state_dict']
    for key, value in clf.backbone.state_dict().items():
        if not key.startswith('ln2.'):  # fc_norm is new
            assert torch.equal(value, converted['backbone.' + key]), key
    tec_state = torch.load(str(tmp_path / 'tec' / 'epoch_1.pth'),
                           map_location='cpu')['state_dict']
    assert torch.equal(converted['backbone.cls_token'],
                       convert('tec-finetune', {'state_dict': tec_state})
                       ['backbone.cls_token'])
