# TEC ViT-B/16 from the official MAE ViT-B/16 (the paper's 84.7 row): 300 epochs,
# 8 GPUs x 256 x 2 accumulation = 4096, AdamW lr 2.4e-3, 40 warm-up epochs.
# Base model: python tools/convert_ckpt.py mae mae_pretrain_vit_base.pth \
#     checkpoints/mae_vit-base-p16.pth
_base_ = [
    '../_base_/models/tec_vit-base-p16.py',
    '../_base_/datasets/imagenet_bs256_tec.py',
    '../_base_/schedules/adamw_mae_coslr-300e.py',
    '../_base_/default_runtime.py',
]
optim_wrapper = dict(accumulative_counts=2)
default_hooks = dict(checkpoint=dict(interval=50, max_keep_ckpts=3))
randomness = dict(seed=0, diff_rank_seed=True)
