"""One width of a slimmable ResNet as an mmdet backbone (SlimCLR transfer).

Registered in **mmdet's** ``MODELS`` (not ours), so an mmdet config finds it with
``default_scope = 'mmdet'`` after
``custom_imports = dict(imports=['slimselfsup.models.backbones.det_slimmable_resnet'])``.
This module is not imported by ``slimselfsup.models``: pretraining never needs mmdet.
"""
from typing import Dict, List, Optional

import torch
from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS
from mmengine.logging import print_log
from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_with_prefix

from ..slimmable.extract import extract_width, is_slimmable, resnet_stage_channels
from ..slimmable.ops import slim_channels


def slice_state_dict(source: Dict[str, torch.Tensor], target: Dict[str, torch.Tensor],
                     width: Optional[float] = None) -> Dict[str, torch.Tensor]:
    """Cut the weights of ``target``'s (narrow, plain) ResNet out of ``source``.

    ``source`` is a backbone state dict (prefix stripped) of either a
    ``SlimmableResNet`` (switchable BNs ``<name>.bns.<i>.*``, full-width convs), cut
    at ``width`` by :func:`~slimselfsup.models.slimmable.extract.extract_width`, or
    a plain ResNet of exactly ``target``'s shapes, taken as it is.

    Args:
        source (dict[str, Tensor]): The checkpoint's backbone weights.
        target (dict[str, Tensor]): ``state_dict()`` of the backbone to fill.
        width (float, optional): The width to cut out of a slimmable ``source``.
            Defaults to None: the width that gives ``target``'s stem.

    Returns:
        dict[str, Tensor]: A state dict with exactly ``target``'s keys and shapes.
    """
    if is_slimmable(source):
        if width is None:
            width = target['conv1.weight'].shape[0] / source['conv1.weight'].shape[0]
        source = extract_width(source, width)
    out, missing = {}, []
    for key, want in target.items():
        have = source.get(key)
        if have is None:
            missing.append(key)
        elif have.shape == want.shape:
            out[key] = have
        else:
            raise ValueError(
                f'{key}: checkpoint shape {tuple(have.shape)} vs backbone '
                f'{tuple(want.shape)}. The checkpoint is a plain (not slimmable) '
                'network; only its full width can be loaded: set width=1.0 or use '
                "mmdet's ResNet")
    if missing:
        raise KeyError(f'{len(missing)} backbone weights are not in the checkpoint, '
                       f'e.g. {missing[:3]}; check init_cfg.prefix (our '
                       "pretraining stores the backbone under 'backbone.')")
    return out


@MODELS.register_module()
class DetSlimmableResNet(ResNet):
    """The sub-network of a slimmable ResNet at one fixed ``width``, as an mmdet
    ResNet (SlimCLR, `arXiv 2209.15525 <https://arxiv.org/abs/2209.15525>`_).

    It is mmdet's ``ResNet`` with ``base_channels = int(64 * width)`` (plain convs
    and BNs, so ``norm_cfg=SyncBN``, ``frozen_stages``, ``norm_eval`` and
    ``out_indices`` work as usual), and its ``Pretrained`` init slices that width out
    of a ``SlimmableResNet`` checkpoint at load time: ``W[:int(C_out * w), :int(C_in
    * w)]`` for convs, the width's own BN for switchable BNs, giving the same outputs
    as ``SlimmableResNet.set_width(width)``. Checkpoints of this class, and plain
    ResNet checkpoints at ``width=1.0``, load as they are. Stage ``i`` outputs
    ``int(64 * 2**i * expansion * width)`` channels (:attr:`out_channels`), which is
    what the neck's ``in_channels`` must be.

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        width (float): The width to run at (e.g. one of SlimCLR's 1.0, 0.75, 0.5,
            0.25). Defaults to 1.0.
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=...,
            prefix='backbone.')`` loads (and slices) a checkpoint; anything else is
            mmdet's ResNet init. Defaults to None.
        **kwargs: Other arguments of mmdet's ``ResNet`` except ``base_channels`` and
            ``stem_channels``, which follow from ``width``.
    """

    def __init__(self, depth: int, width: float = 1.0,
                 init_cfg: Optional[dict] = None, **kwargs) -> None:
        for key in ('base_channels', 'stem_channels'):
            if key in kwargs:
                raise ValueError(f'DetSlimmableResNet sets `{key}` from `width`; '
                                 'remove it from the config')
        if not 0 < width <= 1:
            raise ValueError(f'width must be in (0, 1], got {width}')
        base = slim_channels(64, width)
        expansion = self.arch_settings[depth][0].expansion
        for full in (64 * 2**i * e for i in range(4) for e in (1, expansion)):
            if slim_channels(full, width) != full // 64 * base:
                raise ValueError(
                    f'width {width} does not scale every stage of a ResNet evenly '
                    f'(int({full} * {width}) != {full // 64} * int(64 * {width})); '
                    'use a width that is a multiple of 1/64, e.g. 0.25, 0.5, 0.75')
        super().__init__(depth, base_channels=base, init_cfg=init_cfg, **kwargs)
        self.width = float(width)

    @property
    def out_channels(self) -> List[int]:
        """Output channels of each stage (the FPN's ``in_channels``)."""
        return resnet_stage_channels(self.depth, self.width, range(self.num_stages))

    def init_weights(self) -> None:
        cfg = self.init_cfg
        if not (isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'):
            super().init_weights()
            return
        prefix = cfg.get('prefix')
        if prefix:
            state = _load_checkpoint_with_prefix(prefix, cfg['checkpoint'], 'cpu')
        else:
            ckpt = _load_checkpoint(cfg['checkpoint'], 'cpu')
            state = ckpt.get('state_dict', ckpt)
        self.load_state_dict(slice_state_dict(state, self.state_dict(), self.width),
                             strict=True)
        print_log(f'DetSlimmableResNet: loaded width {self.width} from '
                  f'{cfg["checkpoint"]} (prefix {prefix!r})', logger='current')
        self._is_init = True
