_base_ = [
    '../_base_/models/mocov2_resnet50.py',
    '../_base_/datasets/imagenet_mocov2.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# MoCo v2 (arXiv 2003.04297): K=65536, m=0.999, T=0.2, SGD lr 0.03 @ batch 256, 200 ep.
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
