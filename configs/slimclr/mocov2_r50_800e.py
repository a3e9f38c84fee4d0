# Short alias of the SlimCLR-MoCo v2 800-epoch ImageNet recipe, for
#   bash tools/dist_train.sh configs/slimclr/mocov2_r50_800e.py 8
# (8 GPUs x 128 = the reference's total batch of 1024). Everything is defined in the
# properly named config below; edit that one, not this alias.
_base_ = './slimclr-mocov2_slimmable-resnet50_8xb128-amp-coslr-800e_in1k.py'
