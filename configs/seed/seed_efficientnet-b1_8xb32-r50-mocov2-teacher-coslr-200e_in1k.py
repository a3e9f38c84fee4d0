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
    # the reference's (lukemelas) EfficientNet: dropout 0.2 before the head,
    # drop-connect 0.2, BN eps 1e-3 and momentum 0.01 (TF's 0.99)
    backbone=dict(_delete_=True, type='TIMMPreLogits', model_name='efficientnet_b1',
                  drop_rate=0.2, drop_path_rate=0.2, bn_eps=1e-3, bn_momentum=0.01),
    neck=dict(in_channels=1280, hid_channels=1280, with_avg_pool=False))
