# Switchable linear probe of a SlimCLR-MoCo v3 / slimmable SimCLR ResNet-50 (SlimCLR,
# arXiv 2209.15525, `scripts/mocov3.sh` and `scripts/simclr.sh`): as the MoCo v2 probe
# but SGD lr 0.4 (momentum 0.9), cosine per iteration over 90 epochs, total batch
# 1024 (8 GPUs x 128). Weight decay 0 is the MoCo v3 value; the SimCLR script uses
#   --cfg-options optim_wrapper.optimizer.weight_decay=1e-6
_base_ = ['./slimmable-resnet50_linear-8xb128-steplr-100e_in1k.py']

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.4, momentum=0.9, weight_decay=0.))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=90, by_epoch=True, begin=0, end=90,
         convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=1)
