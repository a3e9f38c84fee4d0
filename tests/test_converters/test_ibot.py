"""Official iBoT checkpoints (student/teacher dicts) -> our ViT, strictly."""
import pytest
import timm
import torch

from slimselfsup.converters import ConversionError, convert
from slimselfsup.registry import MODELS


def _ibot_checkpoint() -> dict:
    """A full iBoT checkpoint: DDP student and plain teacher, backbone + head."""
    def backbone(seed):
        torch.manual_seed(seed)
        sd = timm.create_model('vit_tiny_patch16_224', pretrained=False, img_size=32,
                               patch_size=4, num_classes=0).state_dict()
        sd['masked_embed'] = torch.zeros(1, 192)
        return sd

    head = {'head.mlp.0.weight': torch.zeros(8, 192),
            'head.last_layer2.weight_g': torch.ones(4, 1)}
    student = {f'module.backbone.{k}': v for k, v in backbone(1).items()}
    student.update({f'module.{k}': v for k, v in head.items()})
    teacher = {f'backbone.{k}': v for k, v in backbone(2).items()}
    teacher.update(head)
    return {'student': student, 'teacher': teacher, 'epoch': 800}


def _load(state):
    vit = MODELS.build(dict(type='VisionTransformer', arch='deit-tiny', img_size=32,
                            patch_size=4, out_type='raw'))
    vit.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()}, strict=True)
    return vit


@pytest.mark.parametrize('key', [None, 'teacher', 'student'])
def test_teacher_or_student_loads_strictly(key):
    ckpt = _ibot_checkpoint()
    vit = _load(convert('ibot', ckpt, key=key))
    src = ckpt['student']['module.backbone.cls_token'] if key == 'student' \
        else ckpt['teacher']['backbone.cls_token']  # teacher by default
    assert torch.equal(vit.cls_token, src)


def test_released_backbone_under_state_dict():
    ckpt = _ibot_checkpoint()
    released = {'state_dict': {k[len('backbone.'):]: v for k, v in ckpt['teacher'].items()
                               if k.startswith('backbone.')}}
    vit = _load(convert('ibot', released))
    assert torch.equal(vit.pos_embed, ckpt['teacher']['backbone.pos_embed'])


def test_missing_entry_and_truncated_backbone_fail_clearly():
    ckpt = _ibot_checkpoint()
    with pytest.raises(ConversionError, match="no 'model' entry"):
        convert('ibot', ckpt, key='model')
    del ckpt['teacher']['backbone.blocks.11.norm2.weight']
    with pytest.raises(ConversionError, match='blocks.11.norm2.weight'):
        convert('ibot', ckpt)
