"""Publish a training checkpoint: ``python tools/misc/publish_model.py IN OUT``.

Drops the training state (optimizer, message hub, schedulers, RNG states, AMP loss
scaler), keeps ``state_dict`` and ``meta``, and writes ``OUT`` with the first 8 hex
digits of the file's sha256 added to its name (``OUT-1a2b3c4d.pth``), the name
:func:`slimselfsup.apis.model_zoo.download_checkpoint` verifies downloads against.
The result loads with ``torch.load(weights_only=True)``.
"""
import argparse
import hashlib
import io
import os
import os.path as osp
import sys
from typing import Optional, Sequence

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from slimselfsup.apis.model_zoo import load_checkpoint_file  # noqa: E402
from slimselfsup.utils.checkpoint_io import atomic_write  # noqa: E402

TRAINING_STATE = ('optimizer', 'message_hub', 'param_schedulers', 'rng_state',
                  'scaler', 'loss_scaler')


def publish(src: str, dst: str) -> str:
    """Write the published file and return its final name."""
    checkpoint = load_checkpoint_file(src)
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        raise ValueError(f'{src} is not a training checkpoint (no state_dict)')
    out = {k: v for k, v in checkpoint.items() if k not in TRAINING_STATE}
    stem = dst[:-len('.pth')] if dst.endswith('.pth') else dst
    os.makedirs(osp.dirname(osp.abspath(stem)) or '.', exist_ok=True)
    buffer = io.BytesIO()  # the name holds the hash of the bytes, known before writing
    torch.save(out, buffer)
    data = buffer.getvalue()
    final = f'{stem}-{hashlib.sha256(data).hexdigest()[:8]}.pth'

    def write(tmp: str) -> None:
        with open(tmp, 'wb') as f:
            f.write(data)

    atomic_write(final, write)
    return final


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='training checkpoint')
    parser.add_argument('dst', help='output name; the sha256 prefix is appended')
    args = parser.parse_args(argv)
    final = publish(args.src, args.dst)
    print(f'published {args.src} -> {final}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
