"""Slimmable SEED on real CIFAR-10 images: every width of a slimmable student against
the frozen teacher's distribution over the teacher queue, checked against a
hand-written per-width SEED loop."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper

from slimselfsup.converters import ConversionError
from slimselfsup.models.slimmable import set_width
from slimselfsup.registry import MODELS
from .common import PREPROCESSOR, TINY_RESNET, train_steps
from .test_slimclr_base import has_grad, set_epoch

WIDTHS = (1.0, 0.75, 0.5, 0.25)
TEACHER = dict(backbone=dict(TINY_RESNET, depth=34),
               neck=dict(type='MoCoV2Neck', in_channels=128, hid_channels=64,
                         out_channels=16))
CFG = dict(
    type='SlimSEED', queue_len=64, feat_dim=16, slim_start_epoch=-1,
    backbone=dict(type='SlimmableResNet', depth=18, stem_channels=16, base_channels=16,
                  widths=WIDTHS),
    neck=dict(type='SlimmableMLPNeck', in_channels=128, hid_channels=128, out_channels=16,
              widths=WIDTHS, with_bias=True, with_hidden_bn=False, with_last_bias=True,
              with_last_bn=False),
    head=dict(type='SEEDHead'), teacher=TEACHER, data_preprocessor=PREPROCESSOR)
T_S, T_T, T_KD = 0.2, 1e-4, 5.0  # SEEDLoss defaults, SlimSEED's distillation default


def save_teacher(model_cfg: dict, path) -> str:
    """A 'pretrained' teacher saved as a pretraining checkpoint would hold it: random
    weights with BN statistics that are not the init's."""
    torch.manual_seed(1)
    teacher = MODELS.build(dict(CFG, teacher=model_cfg,
                                teacher_ckpt='unused')).target_generator.model
    state = {k: (v + 0.1 * torch.rand_like(v) if 'running_var' in k else v)
             for k, v in teacher.state_dict().items()}
    torch.save(dict(meta=dict(epoch=200), state_dict=state), path)
    return str(path)


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    return save_teacher(TEACHER, tmp_path_factory.mktemp('teacher') / 'epoch_200.pth')


def build(teacher_ckpt, **kwargs):
    torch.manual_seed(0)
    model = MODELS.build(dict(CFG, teacher_ckpt=teacher_ckpt, **kwargs))
    model.init_weights()
    return model


def batch(model, real_images) -> torch.Tensor:
    data = model.data_preprocessor(dict(inputs=[real_images * 255], data_samples=None),
                                   True)
    return data['inputs'][0]


def hand_written_loss(model, x: torch.Tensor, weights, alpha: float = 0.5) -> dict:
    """SEED written out per width: cosine similarities to ``[t, queue]``, the
    teacher's softmax at tau_T as the target of the student's at tau_S; a narrower
    width also matches the full width's softmax at T_KD (scaled by T_KD ** 2)."""
    teacher = model.target_generator.model
    with torch.no_grad():
        t = F.normalize(teacher['neck'](teacher['backbone'](x))[0], dim=1)
    queue = model.queue.queue.clone()
    t_logits = torch.cat([(t * t).sum(1, keepdim=True), t @ queue.t()], dim=1)
    total, out, full = 0, {}, None
    for i, width in enumerate(WIDTHS):
        set_width(model.backbone, width)
        set_width(model.neck, width)
        s = F.normalize(model.neck(model.backbone(x))[0], dim=1)
        s_logits = torch.cat([(s * t).sum(1, keepdim=True), s @ queue.t()], dim=1)
        seed = -(F.softmax(t_logits / T_T, 1) * F.log_softmax(s_logits / T_S, 1)).sum(
            1).mean()
        out[f'seed_w{width}'] = seed
        term = seed
        if i == 0:
            full = s_logits.detach()
        else:
            kd = -(F.softmax(full / T_KD, 1) * F.log_softmax(s_logits / T_KD, 1)).sum(
                1).mean() * T_KD**2
            out[f'kd_w{width}'] = kd
            term = (1 - alpha) * seed + alpha * kd
        total = total + weights[i] * term
    set_width(model.backbone, 1.0)
    set_width(model.neck, 1.0)
    out['loss'] = total
    return out


def student_grads(model, loss) -> dict:
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, [dict(model.named_parameters())[n] for n in names],
                                allow_unused=True)
    return dict(zip(names, grads))


@pytest.mark.parametrize('distill', [True, False])
def test_loss_and_gradients_equal_a_hand_written_per_width_seed_loop(
        teacher_ckpt, real_images, distill):
    model = build(teacher_ckpt, distill=distill)
    x = batch(model, real_images)
    weights = [2.5, 1.0, 1.0, 1.0]  # full_plus_others for four widths
    assert model.loss_weights == weights
    hand = hand_written_loss(model, x, weights, alpha=0.5 if distill else 0.0)
    out = model.loss([x], None)
    expected_keys = {'loss'} | {f'seed_w{w}' for w in WIDTHS}
    if distill:
        expected_keys |= {f'kd_w{w}' for w in WIDTHS[1:]}
    assert set(out) == expected_keys
    for key in expected_keys:
        torch.testing.assert_close(out[key].detach(), hand[key].detach(), rtol=1e-5,
                                   atol=1e-6, msg=key)
    ours, ref = student_grads(model, out['loss']), student_grads(model, hand['loss'])
    for name, grad in ref.items():
        if grad is None:
            assert ours[name] is None or not ours[name].any(), name
        else:
            torch.testing.assert_close(ours[name], grad, rtol=1e-4,
                                       atol=1e-6 * float(grad.abs().max()), msg=name)


def test_every_width_gets_gradient_from_the_teacher_distribution(teacher_ckpt, real_images):
    """Each width's own SEED term reaches that width's private BN and no other's,
    and its gradient depends on the teacher's targets; the teacher gets none."""
    model = build(teacher_ckpt, distill=False)
    x = batch(model, real_images)
    (_, t, queue), = model._targets([x])
    bns = [model.backbone.bn1.bns[j].weight for j in range(len(WIDTHS))]
    for i, width in enumerate(WIDTHS):
        set_width(model.backbone, width)
        set_width(model.neck, width)
        s = model._student(x)
        grads = torch.autograd.grad(model.head.loss(s, t, queue)['loss'], bns,
                                    allow_unused=True, retain_graph=True)
        assert grads[i] is not None and grads[i].abs().sum() > 0, width
        assert all(g is None for j, g in enumerate(grads) if j != i), width
        # other teacher targets (the embeddings of other images): another gradient
        (other, ) = torch.autograd.grad(model.head.loss(s, t.roll(1, 0), queue)['loss'],
                                        bns[i])
        assert not torch.allclose(other, grads[i]), width
    set_width(model.backbone, 1.0)
    set_width(model.neck, 1.0)
    model.loss([x], None)['loss'].backward()
    assert all(has_grad(bn.weight) for bn in model.backbone.bn1.bns)
    assert all(not t.requires_grad and t.grad is None
               for t in model.target_generator.model.state_dict(keep_vars=True).values())


def test_teacher_frozen_in_eval_mode_and_queue_holds_teacher_keys_only(teacher_ckpt,
                                                                       real_images):
    model = build(teacher_ckpt)
    teacher = model.target_generator.model
    assert list(model.target_generator.parameters()) == []
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.1)))
    in_optim = {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    assert not in_optim & {id(t) for t in teacher.state_dict(keep_vars=True).values()}
    before = {k: v.clone() for k, v in teacher.state_dict().items()}

    set_width(model, 0.5)  # even if someone narrowed the whole model
    model.train()
    assert not model.target_generator.training
    assert not any(m.training for m in teacher.modules())
    train_steps(model, [real_images * 255], steps=2)
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, before[key]), key  # weights and BN statistics
    assert not any(m.training for m in teacher.modules())

    x = batch(model, real_images)
    with torch.no_grad():
        t = F.normalize(teacher['neck'](teacher['backbone'](x))[0], dim=1)
        s = model._student(x)
    assert int(model.queue.ptr) == 32  # two batches of 16 teacher embeddings
    # the same images twice: both slots hold the teacher's embeddings, never a student's
    torch.testing.assert_close(model.queue.queue[:16], t, atol=1e-5, rtol=0)
    torch.testing.assert_close(model.queue.queue[16:32], t, atol=1e-5, rtol=0)
    assert (model.queue.queue[:16] - s).abs().max() > 0.1
    assert model.backbone.width == 1.0


def test_loss_falls_at_every_width_over_a_few_steps(teacher_ckpt, real_images):
    model = build(teacher_ckpt)
    x = batch(model, real_images)
    queue0 = model.queue.queue.clone()

    def losses_now() -> dict:
        probe = copy.deepcopy(model)
        probe.queue.queue.copy_(queue0)
        with torch.no_grad():
            return {k: float(v) for k, v in probe.loss([x], None).items()}

    before = losses_now()
    losses = train_steps(model, [real_images * 255], steps=6)
    assert all(torch.isfinite(torch.tensor(losses)))
    after = losses_now()
    for width in WIDTHS:  # same images, same queue: every width matches better
        assert after[f'seed_w{width}'] < before[f'seed_w{width}'] - 0.05, width
    assert after['loss'] < before['loss']


def test_slow_start_trains_the_full_width_alone(teacher_ckpt, real_images):
    model = build(teacher_ckpt, slim_start_epoch=3)
    x = batch(model, real_images)
    set_epoch(2.9)
    out = model.loss([x], None)
    assert set(out) == {'loss', 'seed_w1.0'}
    assert torch.equal(out['loss'], out['seed_w1.0'])
    set_epoch(3.0)
    assert set(model.loss([x], None)) == {'loss'} | {f'seed_w{w}' for w in WIDTHS} | {
        f'kd_w{w}' for w in WIDTHS[1:]}


def test_small_patches_add_one_term_per_queue_at_every_width(teacher_ckpt, real_images):
    model = build(teacher_ckpt, small_patches=True, distill=False, loss_weights='equal')
    big = real_images * 255
    small = F.interpolate(big, size=16, mode='bilinear')
    data = model.data_preprocessor(
        dict(inputs=[big, small, small.flip(-1)], data_samples=None), True)
    probe = copy.deepcopy(model)
    out = model.loss(data['inputs'], None)
    # per width: SEED(big, queue) + SEED(both small views, small_queue), as SEED
    for width in WIDTHS:
        set_width(probe.backbone, width)
        set_width(probe.neck, width)
        targets = probe._targets(data['inputs'])
        expected = sum(float(probe.head.loss(probe._student(x), t, q)['loss'])
                       for x, t, q in targets)
        assert float(out[f'seed_w{width}']) == pytest.approx(expected, rel=1e-5)
    assert int(model.queue.ptr) == 16 and int(model.small_queue.ptr) == 16


def test_a_teacher_of_another_architecture_is_named_on_both_sides(tmp_path):
    """The config says ResNet-34 teacher; the checkpoint holds a ResNet-18 one."""
    other = dict(TEACHER, backbone=dict(TINY_RESNET, depth=18))
    path = save_teacher(other, tmp_path / 'r18_teacher.pth')
    with pytest.raises(ConversionError) as err:
        build(path)
    message = str(err.value)
    assert "missing keys ['backbone.layer1.2.bn1.bias'" in message
    assert 'The checkpoint holds backbone: ResNet-18 (16 stem / 16 base channels), ' \
        'neck: MLP 128-64-16; the config builds backbone: ResNet-34 (16 stem / 16 base ' \
        'channels), neck: MLP 128-64-16 as the SEED teacher' in message
    assert 'model.teacher_ckpt' in message  # how to fix it
    # same depth, other width: every key is there, the shapes name both sides
    wide = dict(TEACHER, backbone=dict(TINY_RESNET, depth=34, stem_channels=32,
                                       base_channels=32),
                neck=dict(TEACHER['neck'], in_channels=256))
    path = save_teacher(wide, tmp_path / 'wide_teacher.pth')
    with pytest.raises(ConversionError, match=r"shapes \(checkpoint vs config\) differ: "
                       r"\['backbone.conv1.weight \(32, 3, 7, 7\) vs \(16, 3, 7, 7\)'.*"
                       r'holds backbone: ResNet-34 \(32 stem / 32 base channels\)'):
        build(path)


def test_student_must_be_slimmable_throughout(teacher_ckpt):
    with pytest.raises(TypeError, match='slimmable backbone'):
        build(teacher_ckpt, backbone=TINY_RESNET)
    with pytest.raises(TypeError, match='slimmable neck.*got MoCoV2Neck'):
        build(teacher_ckpt, neck=dict(type='MoCoV2Neck', in_channels=128,
                                      hid_channels=128, out_channels=16))
    with pytest.raises(ValueError, match='subset of the backbone widths'):
        build(teacher_ckpt, widths=(1.0, 0.3))
