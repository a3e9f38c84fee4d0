"""Cross-rank gathers used by contrastive objectives.

Both functions are no-ops (return the input) when torch.distributed is not
initialised, so single-process and CPU runs take the same code path.
"""
from typing import Optional, Tuple

import torch
import torch.distributed as dist
from mmengine.dist import get_world_size
from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp


@torch.no_grad()
def concat_all_gather(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from all ranks along dim 0, without gradient.

    Args:
        x (torch.Tensor): The local tensor. Every rank must pass the same shape.

    Returns:
        torch.Tensor: ``world_size * len(x)`` rows, rank 0's rows first.
    """
    if get_world_size() == 1:
        return x
    out = [torch.empty_like(x) for _ in range(get_world_size())]
    dist.all_gather(out, x.contiguous())
    return torch.cat(out, dim=0)


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward sums the incoming gradients of every rank."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        out = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(out, x.contiguous())
        return tuple(out)

    @staticmethod
    def backward(ctx, *grads: torch.Tensor) -> torch.Tensor:
        stacked = torch.stack(grads)
        dist.all_reduce(stacked)
        return stacked[dist.get_rank()]


def all_gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from all ranks along dim 0, keeping the graph.

    Each rank's gradient with respect to its own slice receives the contributions
    of the losses computed on every rank, so a loss averaged over local rows and
    averaged again by DDP equals the loss of one process holding the global batch.

    Args:
        x (torch.Tensor): The local tensor. Every rank must pass the same shape.

    Returns:
        torch.Tensor: ``world_size * len(x)`` rows, rank 0's rows first.
    """
    if get_world_size() == 1:
        return x
    return torch.cat(_GatherWithGrad.apply(x), dim=0)


def shuffle_batch(x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Shuffle BN's permutation of the global batch (mmpretrain's ``batch_shuffle_ddp``).

    In one process the permutation stays within the batch that BN normalises as a
    whole, so it changes nothing but costs a gather, a copy and an index of the
    batch: then ``x`` is returned as it is.

    Returns:
        tuple[torch.Tensor, torch.Tensor | None]: The local shuffled batch and the
        index that :func:`unshuffle_batch` needs (None in one process).
    """
    if get_world_size() == 1:
        return x, None
    return batch_shuffle_ddp(x)


def unshuffle_batch(x: torch.Tensor, idx_unshuffle: Optional[torch.Tensor]) -> torch.Tensor:
    """Undo :func:`shuffle_batch` on its outputs."""
    return x if idx_unshuffle is None else batch_unshuffle_ddp(x, idx_unshuffle)
