# Linear evaluation of a SEED ResNet-18 student with SEED's protocol (the reference's
# main_lincls.py, MoCo's): the MoCo v2 probe of configs/mocov2/benchmarks (frozen
# backbone, SGD lr 30, wd 0, x0.1 at epochs 60 and 80, 100 epochs, batch 256) on the
# student's 512-d features. The student lives under `backbone.` in our SEED checkpoints:
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_200.pth
# (ResNet-34 students: model.backbone.depth=34.)
_base_ = '../../mocov2/benchmarks/resnet50_linear-8xb32-steplr-100e_in1k.py'
model = dict(backbone=dict(depth=18), head=dict(in_channels=512))
# the reference scales lr 30 linearly with the total batch (30 x B / 256)
auto_scale_lr = dict(enable=False, base_batch_size=256, mode='linear')
