"""Hook that puts the model into channels-last memory format before training."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from slimselfsup.models.target_generators import FrozenTeacher
from slimselfsup.registry import HOOKS


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Convert the model's 4-D weights to ``torch.channels_last`` before training.

    Convolutions in bf16/fp16 on recent NVIDIA GPUs run faster in NHWC; pair it
    with ``channels_last=True`` of ``GPUMultiViewDataPreprocessor`` so the inputs
    match. Parameters keep their identity (converted in place), so an optimizer
    built before still holds them.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        """Convert every 4-D parameter and buffer in place."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        tensors = list(model.parameters()) + list(model.buffers())
        for module in model.modules():  # frozen networks sit outside the module tree
            if isinstance(module, FrozenTeacher):
                tensors += list(module.model.parameters()) + list(module.model.buffers())
        for tensor in tensors:
            if tensor.dim() == 4:
                tensor.data = tensor.data.contiguous(memory_format=torch.channels_last)
