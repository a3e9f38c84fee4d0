# Fine-tuning of TEC ViT-B/16 pretrained 800 epochs (from MAE: 84.8; from iBoT:
# 85.1): layer decay 0.55, otherwise as the 0.65 recipe (20 warm-up epochs).
_base_ = ['./vit-base-p16_8xb128-ld065-coslr-100e_in1k.py']
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.55))
