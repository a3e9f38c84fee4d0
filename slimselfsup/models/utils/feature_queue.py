"""A FIFO queue of embeddings (MoCo negatives, SEED teacher bank)."""
from typing import Optional

import torch
from torch import nn

from .gather import concat_all_gather


class FeatureQueue(nn.Module):
    """Fixed-size FIFO queue of L2-normalised embeddings, kept as buffers.

    The queue and its pointer are buffers, so they travel with ``state_dict``:
    checkpoints and ``--resume`` restore them exactly. :meth:`enqueue` gathers the
    keys of every rank first, so all ranks hold the same queue and a DDP run with
    ``W`` processes of batch ``B`` fills it exactly like one process of batch ``W*B``.

    Args:
        length (int): Number of stored embeddings (``K``). Defaults to 65536.
        dim (int): Embedding dimension. Defaults to 128.
    """

    def __init__(self, length: int = 65536, dim: int = 128) -> None:
        super().__init__()
        if length <= 0 or dim <= 0:
            raise ValueError(f'FeatureQueue needs length > 0 and dim > 0, got '
                             f'length={length}, dim={dim}')
        self.length = length
        self.register_buffer(
            'queue', nn.functional.normalize(torch.randn(length, dim), dim=1))
        self.register_buffer('ptr', torch.zeros(1, dtype=torch.long))
        # host copy of ``ptr``: reading the buffer every step would make the host
        # wait for the device; read once after construction or loading
        self._host_ptr: Optional[int] = None

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._host_ptr = None

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Replace the oldest entries with ``keys`` gathered from all ranks.

        Args:
            keys (torch.Tensor): Local keys of shape ``(B, dim)``.
        """
        keys = concat_all_gather(keys.detach())
        n = keys.shape[0]
        if self.length % n != 0:
            raise ValueError(
                f'The queue length ({self.length}) must be a multiple of the '
                f'global batch size ({n}); change `queue_len` or the batch size.')
        if self._host_ptr is None:
            self._host_ptr = int(self.ptr)
        ptr = self._host_ptr
        self.queue[ptr:ptr + n] = keys.to(self.queue.dtype)
        self._host_ptr = (ptr + n) % self.length
        self.ptr.fill_(self._host_ptr)

    def forward(self, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
        """Return a detached copy of the stored embeddings, shape ``(K, dim)``.

        A copy, because autograd saves it for the backward pass and
        :meth:`enqueue` overwrites the buffer in place before that runs.

        Args:
            dtype (torch.dtype, optional): Dtype of the copy, e.g. the autocast
                dtype of the matmul that uses it (:func:`compute_dtype`), so that
                copy and cast are one operation. Defaults to the queue's.
        """
        return self.queue.detach().to(dtype or self.queue.dtype, copy=True)


def compute_dtype(t: torch.Tensor) -> torch.dtype:
    """The dtype a matmul with ``t`` runs in: autocast's where it is on, else ``t``'s."""
    device = t.device.type
    if torch.is_autocast_enabled(device):
        return torch.get_autocast_dtype(device)
    return t.dtype
