_base_ = [
    '../_base_/models/seed_resnet18.py',
    '../_base_/datasets/imagenet_bs32_seed.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# SEED: timm efficientnet_b1 student; its pooled 1280-d pre-logits features
# (TIMMPreLogits) feed the MLP head 1280-1280-128. Teacher: ResNet-50 MoCo v2.
model = dict(
    teacher_ckpt='checkpoints/seed_teachers/mocov2_r50_200ep.pth',
    backbone=dict(_delete_=True, type='TIMMPreLogits', model_name='efficientnet_b1'),
    neck=dict(in_channels=1280, hid_channels=1280, with_avg_pool=False))
