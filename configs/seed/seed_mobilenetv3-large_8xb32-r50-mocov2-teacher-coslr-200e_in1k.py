_base_ = [
    '../_base_/models/seed_resnet18.py',
    '../_base_/datasets/imagenet_bs32_seed.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# SEED: timm mobilenetv3_large_100 student; its pooled 1280-d pre-logits features
# (TIMMPreLogits) feed the MLP head 1280-1280-128. Teacher: ResNet-50 MoCo v2.
model = dict(
    teacher_ckpt='checkpoints/seed_teachers/mocov2_r50_200ep.pth',
    # the reference's MobileNetV3 applies dropout 0.2 after its 960->1280 layer, before
    # the head (timm's drop_rate, applied to the pre-logits)
    backbone=dict(_delete_=True, type='TIMMPreLogits', model_name='mobilenetv3_large_100',
                  drop_rate=0.2),
    neck=dict(in_channels=1280, hid_channels=1280, with_avg_pool=False))
