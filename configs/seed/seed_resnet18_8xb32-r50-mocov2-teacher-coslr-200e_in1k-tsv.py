_base_ = [
    '../_base_/models/seed_resnet18.py',
    '../_base_/datasets/imagenet_bs32_seed-tsv.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# seed_resnet18_8xb32-r50-mocov2-teacher-coslr-200e_in1k.py reading ImageNet from the
# reference's TSV files (data/imagenet/train.tsv + train.lineidx, see folder2tsv.py).
model = dict(teacher_ckpt='checkpoints/seed_teachers/mocov2_r50_200ep.pth')
