_base_ = [
    '../_base_/models/seed_resnet18.py',
    '../_base_/datasets/imagenet_bs32_seed.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# SEED (arXiv 2101.04731), reference defaults: ResNet-18 student, ResNet-50 MoCo v2
# teacher (200 ep; convert with `tools/convert_ckpt.py moco-teacher`), K=65536,
# tau_S=0.2, tau_T=1e-4, SGD lr 0.03 @ batch 256, wd 1e-4, cosine, 200 epochs.
model = dict(teacher_ckpt='checkpoints/seed_teachers/mocov2_r50_200ep.pth')
