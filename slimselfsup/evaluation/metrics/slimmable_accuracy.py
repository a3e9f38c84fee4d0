"""Top-k accuracy of every width of a slimmable classifier (SlimCLR,
arXiv 2209.15525)."""
from typing import List, Sequence, Union

import torch
from mmengine.evaluator import BaseMetric
from mmpretrain.evaluation import Accuracy

from slimselfsup.registry import METRICS


@METRICS.register_module()
class SlimmableAccuracy(BaseMetric):
    """Top-k accuracy at the test width and at every width of a slimmable model.

    The evaluation of `Slimmable Networks for Contrastive Self-supervised Learning
    <https://arxiv.org/abs/2209.15525>`_ (SlimCLR): one forward per width, one
    accuracy per width. Reads what :class:`~slimselfsup.models.SlimmableClassifier`
    predicts: ``pred_score`` (the test width) and ``width_scores``
    (``(num_widths, num_classes)``, rows ordered like the metainfo ``widths``).
    Reports ``{prefix}/top{k}`` for ``pred_score`` (first, so ``save_best='auto'``
    tracks it) and ``{prefix}_w{w}/top{k}`` for every width, e.g.
    ``accuracy_w1.0/top1``, ``accuracy_w0.25/top5``. Predictions without
    ``width_scores`` (a plain ``ImageClassifier``) give only ``{prefix}/top{k}``.

    Args:
        topk (int | Sequence[int]): The k of top-k. Defaults to (1, ).
        collect_device (str): ``'cpu'`` or ``'gpu'``, for gathering results
            across ranks. Defaults to ``'cpu'``.
        prefix (str): Name stem of the keys. Defaults to ``'accuracy'``.
    """

    def __init__(self,
                 topk: Union[int, Sequence[int]] = (1, ),
                 collect_device: str = 'cpu',
                 prefix: str = 'accuracy') -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        # the keys are built here; BaseMetric.evaluate must not prefix them again
        self.name, self.prefix = prefix, None

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep the scores and labels of one batch."""
        for sample in data_samples:
            if 'pred_score' not in sample:
                raise KeyError(f'{type(self).__name__} needs `pred_score` in the '
                               'predictions; use SlimmableClassifier or an '
                               'mmpretrain classifier')
            result = dict(pred_score=sample['pred_score'].cpu(),
                          gt_label=sample['gt_label'].cpu())
            if 'width_scores' in sample:
                result['width_scores'] = sample['width_scores'].cpu()
                result['widths'] = tuple(float(w) for w in sample['widths'])
            self.results.append(result)

    def _accuracy(self, pred: torch.Tensor, target: torch.Tensor, name: str) -> dict:
        accs = Accuracy.calculate(pred, target, topk=self.topk, thrs=(None, ))
        return {f'{name}/top{k}': acc[0].item() for k, acc in zip(self.topk, accs)}

    def compute_metrics(self, results: List[dict]) -> dict:
        """Accuracies in percent, see the class docstring for the keys."""
        target = torch.cat([r['gt_label'] for r in results])
        metrics = self._accuracy(torch.stack([r['pred_score'] for r in results]),
                                 target, self.name)
        if 'width_scores' in results[0]:
            widths = results[0]['widths']
            scores = torch.stack([r['width_scores'] for r in results])
            for i, width in enumerate(widths):
                metrics.update(self._accuracy(scores[:, i], target,
                                              f'{self.name}_w{width}'))
        return metrics
