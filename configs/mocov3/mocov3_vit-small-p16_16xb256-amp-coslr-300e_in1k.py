_base_ = [
    '../_base_/models/mocov3_resnet50.py',
    '../_base_/datasets/imagenet_bs512_mocov3.py',
    '../_base_/schedules/adamw_coslr-300e.py',
    '../_base_/default_runtime.py',
]
# MoCo v3 ViT-S/16: batch 4096, AdamW lr 2.4e-3 (= 1.5e-4 * B / 256), wd 0.1, T=0.2,
# m 0.99 -> 1, frozen random patch projection, 3-layer projector, 300 epochs.
temperature = 0.2
model = dict(
    backbone=dict(_delete_=True, type='MoCoV3ViT', arch='mocov3-small', img_size=224,
                  patch_size=16, stop_grad_conv1=True),
    neck=dict(in_channels=384, num_layers=3, with_avg_pool=False),
    head=dict(loss=dict(temperature=temperature, loss_weight=2 * temperature)))
train_dataloader = dict(batch_size=256)
