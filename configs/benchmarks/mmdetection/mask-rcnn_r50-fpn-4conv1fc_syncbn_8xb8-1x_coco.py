# Mask R-CNN R-50-FPN on COCO, 1x, with the stronger head of MoCo's transfer protocol
# (He et al., 2020, arXiv:1911.05722; the 4conv1fc box head with normalisation of
# "Rethinking ImageNet Pre-training"): SyncBN also in the FPN, a 4conv1fc box head
# and the mask head. Schedule and everything else as the SlimCLR-protocol default
# mask-rcnn_r50-fpn_syncbn_8xb8-1x_coco.py; expect about 1 AP more than the default,
# so compare numbers only within one protocol.
_base_ = './mask-rcnn_r50-fpn_syncbn_8xb8-1x_coco.py'

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead', conv_out_channels=256, norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))
