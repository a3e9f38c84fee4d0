"""Monitoring self-supervised pretraining with a weighted kNN classifier."""
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn
from torch.utils.data import DataLoader

from slimselfsup.evaluation import format_knn_result, knn_evaluate
from slimselfsup.models.slimmable import SlimmableMixin, set_width
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
        widths (Sequence[float], optional): For slimmable models (SlimCLR,
            arXiv 2209.15525): evaluate at each of these widths, logging
            ``knn/top1_w{w}`` and ``knn/top5_w{w}`` per width plus one summary
            line; ``knn/top1``/``knn/top5`` then hold the first listed width.
            The model's widths are restored afterwards. Defaults to None: one
            evaluation at the model's current width.
        random_baseline (bool): Also evaluate before the first training step, with
            the weights as initialised (random), and log every later evaluation as
            one table of top-1 per width: after training next to random weights.
            Skipped, with a log line, when training starts from loaded weights.
            Defaults to False.
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
                 num_classes: Optional[int] = None,
                 widths: Optional[Sequence[float]] = None,
                 random_baseline: bool = False) -> None:
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
        if widths is not None and len(widths) == 0:
            raise ValueError('widths must be None or a non-empty list of widths')
        self.widths = None if widths is None else tuple(float(w) for w in widths)
        self.last_result: Optional[dict] = None
        self.last_results: Dict[float, dict] = {}
        self.random_baseline = random_baseline
        #: Results with random weights by width (None: the model's own width).
        self.baseline_results: Dict[Optional[float], dict] = {}

    def before_train(self, runner) -> None:
        """Evaluate the untrained model once when ``random_baseline`` is set."""
        if not self.random_baseline:
            return
        # mmengine keeps `load_from` only privately; a resumed run has runner.iter > 0
        if runner.iter > 0 or getattr(runner, '_load_from', None):
            runner.logger.info('KNNHook: no random-weight baseline, training starts from '
                               'loaded weights')
            return
        self._build_loaders(runner)
        if self.widths:
            self.baseline_results = self._knn_per_width(runner.model)
            line = format_width_table(self.baseline_results)
        else:
            self.baseline_results = {None: self._knn(runner.model)}
            line = format_knn_result(self.baseline_results[None])
        runner.logger.info(f'random weights: {line}')

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
        self._build_loaders(runner)
        unit = 'Epoch' if self.by_epoch else 'Iter'
        if self.widths is None:
            result = self._knn(runner.model)
            scalars = _top_scalars(result)
            line = format_knn_result(result)
            results = {None: result}
        else:
            self.last_results = results = self._knn_per_width(runner.model)
            result = self.last_results[self.widths[0]]
            scalars = _top_scalars(result)
            for width, res in self.last_results.items():
                scalars.update(_top_scalars(res, f'_w{width}'))
            line = format_width_table(self.last_results)
        if self.baseline_results:
            line = format_baseline_table(results, self.baseline_results)
        for name, value in scalars.items():
            runner.message_hub.update_scalar(name, value)
        runner.visualizer.add_scalars(scalars, step=step)
        runner.logger.info(f'{unit}(knn) [{step}] {line}')
        self.last_result = result
        return result

    def _build_loaders(self, runner) -> None:
        if self._loaders is None:
            self._loaders = (runner.build_dataloader(self._train_loader_cfg,
                                                     seed=runner.seed),
                             runner.build_dataloader(self._val_loader_cfg,
                                                     seed=runner.seed))

    def _knn(self, model: nn.Module) -> dict:
        return knn_evaluate(model, *self._loaders, k=self.k,
                            temperature=self.temperature, chunk_size=self.chunk_size,
                            num_classes=self.num_classes)

    def _knn_per_width(self, model: nn.Module) -> Dict[float, dict]:
        """kNN at every width of :attr:`widths`; every module's width is restored."""
        return run_at_widths(model, self.widths, lambda width: self._knn(model),
                             f'KNNHook(widths={list(self.widths)})')


def run_at_widths(model: nn.Module, widths: Sequence[float], fn: Callable[[float], Any],
                  who: str = 'evaluation per width') -> Dict[float, Any]:
    """``fn(width)`` with ``model`` (possibly wrapped) set to each width in turn.

    The model's own ``set_width`` is used when it has one (SlimCLR algorithms keep
    their momentum encoder at full width), else :func:`set_width` on every
    slimmable module; every module's width is restored afterwards.

    Args:
        model (nn.Module): A model with slimmable layers.
        widths (Sequence[float]): The widths.
        fn (Callable[[float], Any]): Called once per width.
        who (str): Named in the error for a model without slimmable layers.

    Returns:
        dict: ``{width: fn(width)}``.
    """
    module = model.module if is_model_wrapper(model) else model
    saved = _width_state(module)
    if not any(isinstance(m, SlimmableMixin) for m, _ in saved):
        raise TypeError(f'{who} needs a model with slimmable layers; '
                        f'{type(module).__name__} has none')
    results = {}
    try:
        for width in widths:
            if callable(getattr(module, 'set_width', None)):
                module.set_width(width)
            else:
                set_width(module, width)
            results[float(width)] = fn(float(width))
    finally:
        for m, width in saved:
            m.width = width
    return results


def _width_state(model: nn.Module) -> List[Tuple[nn.Module, float]]:
    """``(module, width)`` of every module that keeps an active width."""
    return [(m, m.width) for m in model.modules()
            if isinstance(m, SlimmableMixin) or (
                callable(getattr(m, 'set_width', None)) and hasattr(m, 'width'))]


def _top_scalars(result: dict, suffix: str = '') -> dict:
    return {f'knn/{key}{suffix}': value for key, value in result.items()
            if key.startswith('top')}


def format_width_table(results: Dict[float, dict]) -> str:
    """One line for per-width kNN results, e.g. ``kNN (k=200, T=0.07) on 1000
    images | w1.0 top-1 62.35 top-5 95.01 | w0.5 top-1 58.10 top-5 93.40``."""
    first = next(iter(results.values()))
    cells = [f'w{width} ' + ' '.join(
        f'top-{key[3:]} {value:.2f}' for key, value in res.items() if key.startswith('top'))
        for width, res in results.items()]
    return (f"kNN (k={first['k']}, T={first['temperature']:g}) on "
            f"{first['num_val']} images | " + ' | '.join(cells))


def format_baseline_table(results: Dict[Optional[float], dict],
                          baseline: Dict[Optional[float], dict]) -> str:
    """kNN top-1 per width after training next to random weights, as a table::

        kNN top-1 (k=200, T=0.1) on 1000 images, trained vs. random weights
        | width | trained | random weights |
        |  1.0  |   41.30 |          22.10 |
    """
    first = next(iter(results.values()))
    rows = [f"kNN top-1 (k={first['k']}, T={first['temperature']:g}) on "
            f"{first['num_val']} images, trained vs. random weights",
            '| width | trained | random weights |']
    for width, res in results.items():
        name = 'model' if width is None else str(width)
        rows.append(f"| {name:^5} | {res['top1']:7.2f} | {baseline[width]['top1']:14.2f} |")
    return '\n'.join(rows)
