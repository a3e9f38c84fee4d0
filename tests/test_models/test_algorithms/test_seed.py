"""SEED: frozen teacher, teacher queue, strict teacher loading, small patches."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.runner import load_checkpoint

from slimselfsup.converters import ConversionError
from slimselfsup.registry import MODELS
from .common import PREPROCESSOR, TINY_RESNET, loss_on, train_steps

NECK = dict(type='MoCoV2Neck', in_channels=128, hid_channels=64, out_channels=16)
TEACHER = dict(backbone=dict(TINY_RESNET, depth=34), neck=NECK)
CFG = dict(type='SEED', backbone=TINY_RESNET, neck=NECK, head=dict(type='SEEDHead'),
           teacher=TEACHER, queue_len=64, feat_dim=16,
           data_preprocessor=PREPROCESSOR)


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    """A 'pretrained' teacher: random weights with non-trivial BN statistics, saved
    as a slimselfsup pretraining checkpoint would be (plus training-only state)."""
    torch.manual_seed(1)
    teacher = MODELS.build(dict(CFG, teacher_ckpt='unused')).target_generator.model
    sd = {k: (v + 0.1 * torch.rand_like(v) if 'running_var' in k else v)
          for k, v in teacher.state_dict().items()}
    sd['momentum_encoder.module.0.conv1.weight'] = torch.zeros(1)
    sd['queue.queue'] = torch.zeros(4, 16)
    path = tmp_path_factory.mktemp('teacher') / 'epoch_1.pth'
    torch.save(dict(meta=dict(epoch=1), state_dict=sd), path)
    return str(path)


def build(teacher_ckpt, **kwargs):
    model = MODELS.build(dict(CFG, teacher_ckpt=teacher_ckpt, **kwargs))
    model.init_weights()
    return model


def one_view(images):
    return [images * 255]


def test_teacher_is_frozen_eval_and_outside_the_optimizer(teacher_ckpt, real_images):
    model = build(teacher_ckpt)
    teacher = model.target_generator.model
    assert list(model.target_generator.parameters()) == []
    model.train()
    assert model.backbone.training and not model.target_generator.training
    assert not any(m.training for m in teacher.modules())
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.1)))
    in_optim = {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    assert not in_optim & {id(t) for t in teacher.state_dict(keep_vars=True).values()}
    assert in_optim == {id(p) for p in model.parameters()}

    teacher0 = {k: v.clone() for k, v in teacher.state_dict().items()}
    student0 = model.backbone.conv1.weight.detach().clone()
    train_steps(model, one_view(real_images), steps=2)
    # weights and BN running statistics untouched; the student moved
    for k, v in teacher.state_dict().items():
        assert torch.equal(v, teacher0[k]), k
    assert not torch.equal(student0, model.backbone.conv1.weight)


def test_no_gradient_reaches_the_teacher(teacher_ckpt, real_images):
    model = build(teacher_ckpt)
    data = model.data_preprocessor(dict(inputs=one_view(real_images), data_samples=None),
                                   True)
    loss = model.loss(data['inputs'], None)['loss']
    assert loss.requires_grad
    grads = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    assert all(not t.requires_grad and t.grad is None
               for t in model.target_generator.model.state_dict(keep_vars=True).values())


def test_training_on_real_images_lowers_the_loss(teacher_ckpt, real_images):
    torch.manual_seed(0)
    model = build(teacher_ckpt)
    inputs = one_view(real_images)
    queue0 = model.queue.queue.clone()

    def same_queue(m):
        m.queue.queue.copy_(queue0)

    loss0 = loss_on(model, inputs, same_queue)
    losses = train_steps(model, inputs, steps=8)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert loss_on(model, inputs, same_queue) < loss0 - 0.1


def test_queue_holds_teacher_embeddings_and_is_saved(teacher_ckpt, real_images):
    model = build(teacher_ckpt)
    inputs = one_view(real_images)
    train_steps(model, inputs, steps=1)
    assert int(model.queue.ptr) == 16
    model.eval()
    with torch.no_grad():
        x = model.data_preprocessor(dict(inputs=inputs, data_samples=None),
                                    True)['inputs']
        expected = model._teacher(x[0])
    assert torch.allclose(model.queue.queue[:16], expected, atol=1e-5)
    keys = model.state_dict()
    assert 'queue.queue' in keys and 'queue.ptr' in keys
    assert 'target_generator.backbone.conv1.weight' in keys


def test_teacher_loading_is_strict_and_names_keys(teacher_ckpt, tmp_path):
    model = build(teacher_ckpt)  # own checkpoint: extra training state dropped
    saved = torch.load(teacher_ckpt, weights_only=True)['state_dict']
    for k, v in model.target_generator.model.state_dict().items():
        assert torch.equal(v, saved[k])

    bad = {k: v for k, v in saved.items() if k != 'neck.mlp.2.bias'}
    bad['neck.extra.weight'] = torch.zeros(1)
    torch.save(dict(state_dict=bad), tmp_path / 'bad.pth')
    with pytest.raises(ConversionError, match=r"missing keys \['neck.mlp.2.bias'\].*"
                       r"unexpected keys \['neck.extra.weight'\]"):
        build(str(tmp_path / 'bad.pth'))
    raw = {'module.encoder_q.conv1.weight': torch.zeros(1)}  # not converted
    torch.save(dict(state_dict=raw), tmp_path / 'raw.pth')
    with pytest.raises(ConversionError, match='module.encoder_q.conv1.weight'):
        build(str(tmp_path / 'raw.pth'))
    with pytest.raises(ValueError, match='model.teacher_ckpt'):
        build(None)
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        build(str(tmp_path / 'nope.pth'))


def test_small_patches_use_a_second_queue(teacher_ckpt, real_images):
    model = build(teacher_ckpt, small_patches=True)
    big = real_images * 255
    small = torch.nn.functional.interpolate(big, size=16, mode='bilinear')
    inputs = [big, small, small.flip(-1)]
    losses = train_steps(model, inputs, steps=1)
    assert torch.isfinite(torch.tensor(losses)).all()
    assert int(model.queue.ptr) == 16 and int(model.small_queue.ptr) == 16
    model.eval()
    with torch.no_grad():
        x = model.data_preprocessor(dict(inputs=inputs, data_samples=None),
                                    True)['inputs']
        out = model.loss(x, None)
        expected = model._teacher(x[1])  # the first small view of every image
    assert torch.allclose(model.small_queue.queue[:16], expected, atol=1e-5)
    assert out['loss'].item() == pytest.approx(
        out['ce_big'].item() + out['ce_small'].item(), rel=1e-6)

    with pytest.raises(ValueError, match='needs views'):
        model.loss(x[:1], None)
    plain = build(teacher_ckpt)
    with pytest.raises(ValueError, match='small_patches=True'):
        plain.loss(x, None)


def test_teacher_config_is_checked():
    with pytest.raises(ValueError, match='dict\\(backbone=..., neck=...\\)'):
        MODELS.build(dict(CFG, teacher=dict(backbone=TINY_RESNET)))


def test_checkpoints_of_the_old_layout_load(teacher_ckpt, tmp_path):
    """Checkpoints written before the teacher moved into the ``target_generator``
    slot hold it as ``teacher.backbone.*``/``teacher.neck.*`` (the buffers of a
    ModuleDict): they load strictly, through torch and through mmengine's loader
    (resume, ``load_from``), and the teacher takes their weights."""
    new = build(teacher_ckpt).state_dict()
    old = {('teacher.' + k[len('target_generator.'):] if k.startswith('target_generator.')
            else k): (v + 1 if k.startswith('target_generator.') and v.is_floating_point()
                      else v)
           for k, v in new.items()}
    assert {'teacher.backbone.conv1.weight', 'teacher.backbone.bn1.running_var',
            'teacher.neck.mlp.2.bias', 'queue.queue', 'backbone.conv1.weight'} <= set(old)
    assert not any(k.startswith('target_generator.') for k in old)
    torch.save(dict(meta=dict(epoch=1), state_dict=old), tmp_path / 'old.pth')

    by_torch = build(teacher_ckpt)
    by_torch.load_state_dict(old, strict=True)
    by_mmengine = build(teacher_ckpt)
    load_checkpoint(by_mmengine, str(tmp_path / 'old.pth'), strict=True)
    for model in (by_torch, by_mmengine):
        for key, value in model.target_generator.model.state_dict().items():
            assert torch.equal(value, old['teacher.' + key]), key
        assert torch.equal(model.backbone.conv1.weight, old['backbone.conv1.weight'])
