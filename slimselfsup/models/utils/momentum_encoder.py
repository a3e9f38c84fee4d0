"""Momentum (EMA) copy of an online network, updated with foreach kernels."""
import copy

import torch
from torch import nn


class MomentumEncoder(nn.Module):
    """A frozen copy of ``online`` whose weights follow it by EMA.

    ``theta_k <- m * theta_k + (1 - m) * theta_q`` for every parameter, done as one
    ``torch._foreach_lerp_`` call instead of a Python loop over parameters. Buffers
    (BN running statistics) are not averaged: the momentum encoder keeps the ones its
    own forward passes produce, as in MoCo.

    Note:
        ``m`` is the paper's momentum (0.999 keeps 99.9% of the old weights). This is
        the opposite of mmengine's ``ExponentialMovingAverage`` convention (0.001).

    Args:
        online (nn.Module): The network to follow.
    """

    def __init__(self, online: nn.Module) -> None:
        super().__init__()
        self.module = copy.deepcopy(online)
        self.module.requires_grad_(False)

    @torch.no_grad()
    def copy_from(self, online: nn.Module) -> None:
        """Make the momentum weights equal to ``online``'s (parameters and buffers)."""
        self.module.load_state_dict(online.state_dict())

    @torch.no_grad()
    def update(self, online: nn.Module, momentum: float) -> None:
        """EMA step towards ``online`` with coefficient ``momentum``.

        Args:
            online (nn.Module): The network followed; same structure as the copy.
            momentum (float): Weight of the old momentum weights, in [0, 1].
        """
        ema = list(self.module.parameters())
        new = [p.detach() for p in online.parameters()]
        if len(ema) != len(new):
            raise RuntimeError('MomentumEncoder.update got a network with a different '
                               'structure than the one it was built from')
        torch._foreach_lerp_(ema, new, 1.0 - momentum)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)


def check_momentum(value: float, name: str = 'momentum') -> float:
    """Reject momentum values given in mmengine's inverted EMA convention.

    Args:
        value (float): The paper-convention momentum, e.g. 0.999.
        name (str): Argument name for the error message. Defaults to 'momentum'.

    Returns:
        float: ``value`` unchanged.
    """
    if not 0.5 <= value <= 1.0:
        raise ValueError(
            f'`{name}`={value} is not a paper-convention momentum in [0.5, 1]. '
            f'slimselfsup uses the paper convention (MoCo: 0.999 keeps 99.9% of '
            f'the old key-encoder weights); mmpretrain configs write 1 - m '
            f'(e.g. 0.001). Use {name}={1 - value:g}.')
    return value
