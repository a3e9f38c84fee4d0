_base_ = './slimclr-simclr_slimmable-resnet18_1xb256-coslr-12e_cifar10-mini.py'
# The main demo as the pipeline demo runs it (tools/pipeline.py, README "From pretraining
# to a report in one command"): the same training, with kNN at every width every 3
# epochs (the report's kNN curve) and four checkpoints kept (its trajectory figure).
custom_hooks = [
    dict(type='KNNHook',
         train_dataloader={{_base_.knn_train_dataloader}},
         val_dataloader={{_base_.knn_val_dataloader}},
         interval=3, k=200, temperature=0.07, widths={{_base_.widths}},
         random_baseline=True)
]
default_hooks = dict(checkpoint=dict(interval=3, max_keep_ckpts=4))
