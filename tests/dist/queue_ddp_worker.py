"""Train a tiny MoCo v2 for a few steps under DDP; the reference of the queue test.

Launched by ``tests/test_models/test_queue_ddp.py`` as::

    python -m torch.distributed.run --nproc_per_node 2 --master_port PORT \
        tests/dist/queue_ddp_worker.py --out DIR --steps 3 --batch-per-rank 4

Every rank builds the same model (same seed), takes its rows
``[rank * B, (rank + 1) * B)`` of one fixed batch of real CIFAR-10 images, wraps the
model in mmengine's :class:`~mmengine.model.MMDistributedDataParallel` (gloo) and
steps it through ``ddp_model.train_step``, so gradients are averaged by DDP. Each
rank writes ``DIR/rank{r}.pth`` with its final ``state_dict``.

The test imports :func:`build_model`, :func:`load_batch`, :func:`slice_batch` and
:func:`train` from this file for its one-process reference run, so both runs share
exactly the same model, data and optimiser.
"""
import argparse
import os
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import slimselfsup  # noqa: E402,F401  (compatibility shims)
from slimselfsup.utils import register_all_modules  # noqa: E402

CIFAR_MINI = REPO / 'demo' / 'cifar10-mini'
SEED = 0
LR = 0.5


def model_cfg(queue_len: int = 32, feat_dim: int = 8) -> dict:
    """A tiny MoCo v2 whose normalisation does not depend on the batch split.

    GroupNorm normalises every sample on its own, so B images on each of two ranks
    give the same activations as 2B images in one process (BatchNorm would not, and
    shuffle-BN would make the result depend on the shuffle).
    """
    norm = dict(type='GN', num_groups=4, requires_grad=True)
    return dict(
        type='MoCoV2',
        queue_len=queue_len,
        feat_dim=feat_dim,
        momentum=0.99,
        data_preprocessor=dict(
            type='SelfSupDataPreprocessor',
            mean=[125.307, 122.961, 113.8575],
            std=[51.5865, 50.847, 51.255],
            to_rgb=True),
        backbone=dict(type='ResNet', depth=18, base_channels=8, stem_channels=8,
                      norm_cfg=norm, out_indices=(3, )),
        neck=dict(type='MoCoV2Neck', in_channels=64, hid_channels=16,
                  out_channels=feat_dim, with_avg_pool=True),
        head=dict(type='NCEHead', loss=dict(type='InfoNCELoss', temperature=0.2)))


def build_model(**kwargs):
    """Build and initialise the tiny MoCo v2 with a fixed seed."""
    from slimselfsup.registry import MODELS
    register_all_modules()
    torch.manual_seed(SEED)
    model = MODELS.build(model_cfg(**kwargs))
    model.init_weights()
    return model


def load_batch(num_images: int) -> dict:
    """A fixed batch of real images: view 1 as is, view 2 flipped horizontally.

    Images come through the real data pipeline (``ImageFolder``, ``MultiView``,
    ``PackInputs``, ``default_collate``); the first image of each class is used
    (classes cycle when ``num_images`` exceeds the number of classes).

    Args:
        num_images (int): Batch size.

    Returns:
        dict: ``inputs`` (two uint8 tensors ``(N, 3, 32, 32)``) and
        ``data_samples``, ready for ``model.train_step``.
    """
    from mmengine.dataset import default_collate

    from slimselfsup.registry import DATASETS
    register_all_modules()
    dataset = DATASETS.build(dict(
        type='ImageFolder',
        data_root=str(CIFAR_MINI),
        data_prefix='train',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='MultiView', num_views=[1, 1],
                 transforms=[[], [dict(type='RandomFlip', prob=1.0,
                                       direction='horizontal')]]),
            dict(type='PackInputs'),
        ]))
    by_class = {}
    for idx in range(len(dataset)):
        by_class.setdefault(int(dataset.get_data_info(idx)['gt_label']), []).append(idx)
    classes = sorted(by_class)
    indices = [by_class[classes[i % len(classes)]][i // len(classes)]
               for i in range(num_images)]
    return default_collate([dataset[i] for i in indices])


def slice_batch(batch: dict, start: int, stop: int) -> dict:
    """Rows ``[start, stop)`` of a collated two-view batch."""
    return dict(inputs=[view[start:stop] for view in batch['inputs']],
                data_samples=batch['data_samples'][start:stop])


def train(model, batch: dict, steps: int) -> list:
    """``steps`` SGD steps through ``model.train_step`` (a DDP wrapper or not).

    Returns:
        list[float]: The loss of every step.
    """
    from mmengine.optim import OptimWrapper
    params = model.module.parameters() if hasattr(model, 'module') \
        else model.parameters()
    optim_wrapper = OptimWrapper(torch.optim.SGD(
        params, lr=LR, momentum=0.9, weight_decay=1e-4))
    model.train()
    losses = []
    for _ in range(steps):
        log_vars = model.train_step(batch, optim_wrapper)
        losses.append(torch.as_tensor(log_vars['loss']).detach().item())
    return losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='folder for rank{r}.pth')
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--batch-per-rank', type=int, default=4)
    args = parser.parse_args()

    import torch.distributed as dist
    from mmengine.model import MMDistributedDataParallel

    torch.set_num_threads(1)
    dist.init_process_group(backend='gloo')
    rank, world = dist.get_rank(), dist.get_world_size()
    b = args.batch_per_rank

    model = build_model()
    initial_queue = model.queue.queue.clone()
    batch = slice_batch(load_batch(world * b), rank * b, (rank + 1) * b)
    ddp_model = MMDistributedDataParallel(module=model)
    losses = train(ddp_model, batch, args.steps)

    torch.save(dict(state_dict=model.state_dict(), initial_queue=initial_queue,
                    losses=losses, world_size=world),
               os.path.join(args.out, f'rank{rank}.pth'))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == '__main__':
    main()
