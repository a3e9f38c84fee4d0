# Fine-tuning of TEC ViT-B/16 pretrained 100 epochs from a 300-epoch MAE (the
# paper's 83.9): layer decay 0.65, 5 warm-up epochs.
_base_ = ['./vit-base-p16_8xb128-ld050-warmup5-coslr-100e_in1k.py']
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.65))
