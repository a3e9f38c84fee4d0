"""Monitoring self-supervised pretraining with a weighted kNN classifier."""
from typing import Optional, Union

from mmengine.hooks import Hook
from torch.utils.data import DataLoader

from slimselfsup.evaluation import format_knn_result, knn_evaluate
from slimselfsup.registry import HOOKS

DATA_BATCH = Optional[Union[dict, tuple, list]]


@HOOKS.register_module()
class KNNHook(Hook):
    """Weighted kNN accuracy of the frozen features during training.

    The kNN monitor of Wu et al. 2018, "Unsupervised Feature Learning via
    Non-Parametric Instance Discrimination", as used by DINO and MoCo: features of
    ``train_dataloader`` form the bank, each image of ``val_dataloader`` is
    classified by its ``k`` nearest neighbours weighted by ``exp(sim / T)``.

    It runs every ``interval`` epochs (or iterations) and at the end of training,
    logs ``knn/top1`` and ``knn/top5`` to the message hub and the visualizer, and
    puts the model back in train mode. Both loaders should use a deterministic,
    single-view test pipeline and ``DefaultSampler(shuffle=False)``; they are
    built on first use with ``runner.build_dataloader``, so they shard over ranks
    in distributed runs.

    Args:
        train_dataloader (dict | DataLoader): Loader of the labelled feature bank.
        val_dataloader (dict | DataLoader): Loader of the labelled images to
            classify.
        interval (int): Evaluate every ``interval`` epochs (iterations when
            ``by_epoch=False``). Defaults to 10.
        k (int): Number of neighbours. Defaults to 200.
        temperature (float): Temperature of the neighbour weights. Defaults to 0.07.
        by_epoch (bool): Count ``interval`` in epochs or iterations.
            Defaults to True.
        chunk_size (int): Validation features classified per step; bounds the
            similarity matrix to ``chunk_size x len(train set)``. Defaults to 512.
        num_classes (int, optional): Number of classes. Defaults to None, meaning
            taken from the training dataset's ``metainfo['classes']`` or the labels.
    """

    priority = 'NORMAL'

    def __init__(self,
                 train_dataloader: Union[dict, DataLoader],
                 val_dataloader: Union[dict, DataLoader],
                 interval: int = 10,
                 k: int = 200,
                 temperature: float = 0.07,
                 by_epoch: bool = True,
                 chunk_size: int = 512,
                 num_classes: Optional[int] = None) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        if k < 1:
            raise ValueError(f'k must be >= 1, got {k}')
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self._train_loader_cfg = train_dataloader
        self._val_loader_cfg = val_dataloader
        self._loaders = None
        self.interval = interval
        self.k = k
        self.temperature = temperature
        self.by_epoch = by_epoch
        self.chunk_size = chunk_size
        self.num_classes = num_classes
        self.last_result: Optional[dict] = None

    def after_train_epoch(self, runner) -> None:
        """Evaluate every ``interval`` epochs and after the last one."""
        if self.by_epoch and (self.every_n_epochs(runner, self.interval)
                              or self.is_last_train_epoch(runner)):
            self.evaluate(runner, step=runner.epoch + 1)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        """Evaluate every ``interval`` iterations and after the last one."""
        if not self.by_epoch and (self.every_n_train_iters(runner, self.interval)
                                  or self.is_last_train_iter(runner)):
            self.evaluate(runner, step=runner.iter + 1)

    def evaluate(self, runner, step: int) -> dict:
        """Run the kNN evaluation now and log it at ``step``."""
        if self._loaders is None:
            self._loaders = (runner.build_dataloader(self._train_loader_cfg,
                                                     seed=runner.seed),
                             runner.build_dataloader(self._val_loader_cfg,
                                                     seed=runner.seed))
        result = knn_evaluate(runner.model, *self._loaders, k=self.k,
                              temperature=self.temperature,
                              chunk_size=self.chunk_size,
                              num_classes=self.num_classes)
        scalars = {f'knn/{key}': result[key] for key in result if key.startswith('top')}
        for name, value in scalars.items():
            runner.message_hub.update_scalar(name, value)
        runner.visualizer.add_scalars(scalars, step=step)
        unit = 'Epoch' if self.by_epoch else 'Iter'
        runner.logger.info(f'{unit}(knn) [{step}] {format_knn_result(result)}')
        self.last_result = result
        return result
