"""A frozen pretrained network: SEED's teacher and TEC's base model."""
import os.path as osp
from typing import Optional

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule, revert_sync_batchnorm
from torch import nn

from slimselfsup.registry import MODELS
from slimselfsup.utils.checkpoint_io import load_checkpoint_file
from slimselfsup.utils.state_dict import (ConversionError, check_keys, keep_prefixes,
                                          unwrap_state_dict)


@MODELS.register_module()
class FrozenTeacher(BaseModule):
    """A pretrained network that is used and never trained, for mmpretrain's
    ``target_generator`` slot (SEED's teacher) or inside one (TEC's base model).

    * **Outside the optimizer, DDP and weight init:** the network is held as a plain
      attribute, not a submodule, so ``parameters()``, ``buffers()``, ``modules()``
      and ``init_cfg`` never reach it; ``.to()``, ``.cuda()``, ``.half()`` ... do
      (``_apply``).
    * **No gradient:** ``requires_grad=False``, and :meth:`forward` runs under
      ``no_grad``.
    * **Always in eval mode**, also after ``model.train()`` (BN uses the
      teacher's statistics and never updates them); SyncBN becomes BN.
    * **Loaded strictly** from ``checkpoint`` by :meth:`init_weights` (at every start
      and resume); mismatches name the missing and unexpected keys.
    * **In checkpoints or not** (``in_checkpoint``): SEED saves its teacher with the
      student, so a run's checkpoint is complete on its own; TEC keeps its base model
      out, as the reference does (it is reloaded from its file).

    Args:
        model (dict): Config of the network (with ``type``), or of named parts run in
            order, e.g. ``dict(backbone=..., neck=...)``; its keys are then
            ``<part>.*``.
        checkpoint (str, optional): The network's weights: a file whose
            ``state_dict`` (or ``model``, or the file itself) holds them, bare or under
            ``prefix`` next to other training state. Defaults to None.
        prefix (str): Where the network's keys sit in a training checkpoint
            (``'backbone.'`` for a ViT pretrained as a backbone; ``''`` for named
            parts, found as ``<part>.*``). Keys elsewhere are the other training state
            of that run and are dropped; a checkpoint with no key there is taken as
            the bare network. Defaults to ''.
        in_checkpoint (bool): Save the weights in the owner's state dict (and load
            them from it). Defaults to False.
        required (bool): A missing ``checkpoint`` is an error; else the network keeps
            random weights with a warning (tests and benchmarks). Defaults to False.
        name (str): What the network is, in messages. Defaults to 'frozen teacher'.
        given_as (str): The config key that sets ``checkpoint``, in messages.
            Defaults to 'checkpoint'.
        hint (str): How to get a checkpoint that fits, added to errors.
            Defaults to ''.
        converter (str, optional): A converter of :mod:`slimselfsup.converters`
            (``tools/convert_ckpt.py --list``) run on the loaded ``checkpoint`` first,
            so a run's own file serves without a conversion step (e.g.
            ``'mocov3-vit'``, or ``'tec-finetune'`` for a TEC run). Its output is then
            read under ``prefix`` as above. Defaults to None.
        converter_options (dict, optional): Keyword options of ``converter`` (the
            ``--option key=value`` of the tool). Defaults to None.
        model_given_as (str): The config key of ``model``, in the fix of a mismatch.
            Defaults to 'model'.
        init_cfg (dict, optional): Unused (the weights come from ``checkpoint``).
            Defaults to None.
    """

    def __init__(self,
                 model: dict,
                 checkpoint: Optional[str] = None,
                 prefix: str = '',
                 in_checkpoint: bool = False,
                 required: bool = False,
                 name: str = 'frozen teacher',
                 given_as: str = 'checkpoint',
                 hint: str = '',
                 converter: Optional[str] = None,
                 converter_options: Optional[dict] = None,
                 model_given_as: str = 'model',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.parts = 'type' not in model
        net = nn.ModuleDict({k: MODELS.build(cfg) for k, cfg in model.items()}) \
            if self.parts else MODELS.build(model)
        net = revert_sync_batchnorm(net)  # no process group needed, no stats synced
        net.requires_grad_(False)
        net.eval()
        # a plain attribute, not a submodule: see the class docstring
        object.__setattr__(self, 'model', net)
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.in_checkpoint = in_checkpoint
        self.required = required
        self.name = name
        self.given_as = given_as
        self.hint = hint
        if converter is not None:
            # imported here: the package imports every converter, and `slimclr`
            # imports the models (a cycle at module import time)
            from slimselfsup.converters import CONVERTERS
            if converter not in CONVERTERS:
                raise KeyError(f'{name}: unknown converter {converter!r}; available: '
                               f'{", ".join(CONVERTERS)}')
        self.converter = converter
        self.converter_options = dict(converter_options or {})
        self.model_given_as = model_given_as

    @torch.no_grad()
    def forward(self, inputs: torch.Tensor):
        """The network's output; named parts are applied in order."""
        if not self.parts:
            return self.model(inputs)
        out = inputs
        for part in self.model.values():
            out = part(out)
        return out

    def train(self, mode: bool = True) -> 'FrozenTeacher':
        """Stay in eval mode, whatever ``mode``."""
        self.model.eval()
        return super().train(False)

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self.model._apply(fn, *args, **kwargs)
        return self

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        if self.in_checkpoint:
            self.model.state_dict(destination=destination, prefix=prefix,
                                  keep_vars=keep_vars)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                              missing_keys, unexpected_keys, error_msgs):
        if not self.in_checkpoint:  # keys of the network are unexpected here
            return super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                                 strict, missing_keys, unexpected_keys,
                                                 error_msgs)
        # the network's modules load their own keys, as torch's load_state_dict
        # would if the network were a submodule
        metadata = getattr(state_dict, '_metadata', {})
        for name, module in self.model.named_modules():
            module_prefix = prefix + name + '.' if name else prefix
            module._load_from_state_dict(
                state_dict, module_prefix, metadata.get(module_prefix[:-1], {}), strict,
                missing_keys, unexpected_keys, error_msgs)

    def init_weights(self) -> None:
        """Load the network from ``checkpoint`` (random weights without one, unless
        ``required``)."""
        if self.checkpoint:
            self.load(self.checkpoint)
            return
        if self.required:
            raise ValueError(
                f'{self.name} needs pretrained weights: set `{self.given_as}` (e.g. '
                f'`--cfg-options {self.given_as}=FILE`). {self.hint}'.rstrip())
        print_log(f'{self.name}: no checkpoint ({self.given_as}), random weights (fine '
                  'for tests and benchmarks, not for training)', logger='current',
                  level=30)
        for part in (self.model.values() if self.parts else [self.model]):
            if hasattr(part, 'init_weights'):
                part.init_weights()

    def load(self, path: str) -> None:
        """Load the network strictly from the checkpoint file ``path``.

        Raises:
            FileNotFoundError: ``path`` does not exist.
            ConversionError: The keys or shapes do not match; the message names the
                missing and unexpected keys (or the shapes), the network the
                checkpoint holds and the one the config builds, and how to get a
                checkpoint that fits.
        """
        if not osp.isfile(path):
            raise FileNotFoundError(f'{self.name} checkpoint {path!r} ({self.given_as}) '
                                    f'does not exist. {self.hint}'.rstrip())
        state = load_checkpoint_file(path, self.given_as)
        if self.converter:
            from slimselfsup.converters import convert  # see __init__
            try:
                state = convert(self.converter, state, **self.converter_options)
            except ConversionError as err:
                raise ConversionError(f'{self.name} checkpoint {path} ({self.given_as}), '
                                      f'converter {self.converter!r}: {err}. '
                                      f'{self.hint}'.rstrip()) from None
        state = unwrap_state_dict(state)
        roots = tuple(self.prefix + part + '.' for part in self.model) if self.parts \
            else (self.prefix, )
        if any(roots):
            state = keep_prefixes(state, roots, strip=self.prefix)
        expected = self.model.state_dict()
        what = f'{self.name} checkpoint {path}' + (
            f' (converted by {self.converter!r})' if self.converter else '')
        try:
            check_keys(state, expected.keys(), what)
            shapes = [f'{k} {tuple(state[k].shape)} vs {tuple(v.shape)}'
                      for k, v in expected.items() if state[k].shape != v.shape]
            if shapes:
                raise ConversionError(f'{what} does not match: shapes (checkpoint vs '
                                      f'config) differ: {shapes[:5]} ({len(shapes)})')
        except ConversionError as err:
            # imported here, as `convert` is (see __init__)
            from slimselfsup.converters.describe import describe_state, settings_diff
            diff = settings_diff(state, expected)
            fix = f' Fix: set {diff} in `{self.model_given_as}` to build the ' \
                f'checkpoint\'s network, or point `{self.given_as}` at a checkpoint of ' \
                'the network the config builds.' if diff else ''
            raise ConversionError(
                f'{err}. The checkpoint holds {describe_state(state)}; the config '
                f'builds {describe_state(expected)} as the {self.name}.{fix} '
                f'{self.hint}'.rstrip()) from None
        self.model.load_state_dict(state, strict=True)

    def extra_repr(self) -> str:
        return (f'model={type(self.model).__name__}, checkpoint={self.checkpoint!r}, '
                f'in_checkpoint={self.in_checkpoint}')
