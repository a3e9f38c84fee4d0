# Step 2b of the CIFAR-10 recipe, a second TEC round: TEC ViT-Tiny/4 from the TEC
# ViT-Tiny/4 of step 2 (tec-mae_vit-tiny-p4_1xb256-amp-coslr-200e_cifar10.py), read
# through the tec-finetune converter (MLP cls token folded, final norm kept). Same
# schedule and targets as step 2; fine-tune as in step 3.
_base_ = ['./tec-mae_vit-tiny-p4_1xb256-amp-coslr-200e_cifar10.py']
model = dict(
    target_generator=dict(
        checkpoint='work_dirs/tec-mae_vit-tiny-p4_1xb256-amp-coslr-200e_cifar10/'
        'epoch_200.pth',
        converter='tec-finetune',
        converter_options=dict(keep_norm=True)))
