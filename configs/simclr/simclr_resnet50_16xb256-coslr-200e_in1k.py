_base_ = [
    '../_base_/models/simclr_resnet50.py',
    '../_base_/datasets/imagenet_bs256_simclr.py',
    '../_base_/schedules/lars_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# SimCLR (arXiv 2002.05709): batch 4096, LARS lr 4.8 (= 0.3 * B / 256), wd 1e-6,
# T=0.1, 10 warm-up epochs then cosine.
train_dataloader = dict(batch_size=256)
