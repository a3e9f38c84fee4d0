# Linear evaluation of every width of a Slimmable SEED ResNet-50 with SEED's protocol (the
# reference's main_lincls.py, MoCo's; configs/seed/benchmarks/): frozen backbone in eval
# mode, SGD lr 30, wd 0, x0.1 at epochs 60 and 80, 100 epochs, batch 256. Each width gets
# its own probe trained with plain cross-entropy (`loss_mode='ce'`: the probes share no
# parameter, so this is four independent probes in one run), so every width compares with
# a SEED student of that width trained alone and probed the same way. SlimCLR's
# switchable probe (in-place distillation between the probes, lr 60 @ 1024) is
# configs/slimclr/benchmarks/slimmable-resnet50_linear-8xb128-steplr-100e_in1k.py; use it
# to compare with SlimCLR's numbers. The student lives under `backbone.`:
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_200.pth
# One width alone: --cfg-options model.backbone.width=0.5
_base_ = '../../slimclr/benchmarks/slimmable-resnet50_linear-8xb128-steplr-100e_in1k.py'
model = dict(loss_mode='ce')
train_dataloader = dict(batch_size=32)
val_dataloader = dict(batch_size=32)
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=30.))
# the reference scales lr 30 linearly with the total batch (30 x B / 256)
auto_scale_lr = dict(enable=False, base_batch_size=256, mode='linear')
