"""The GPU views of a CPU view pipeline: move a recipe's augmentation onto the device."""
from typing import Any, Dict, List, Sequence

#: ``GPUMultiViewDataPreprocessor`` view arguments of a pipeline with no augmentation.
_NOTHING = dict(flip_prob=0., jitter_prob=0., brightness=0., contrast=0., saturation=0.,
                hue=0., gray_prob=0., blur_prob=0., solarize_prob=0.)
_LUMA_BGR = (0.114, 0.587, 0.2989)


def _number(cfg: dict, key: str, default: float = 0.) -> float:
    value = cfg.get(key, default)
    if not isinstance(value, (int, float)):
        raise ValueError(f'{cfg["type"]}: {key}={value!r} has no GPU equivalent; '
                         'ViewAugment takes one number (the torchvision range rule).')
    return float(value)


def _view_args(pipeline: Sequence[dict]) -> Dict[str, Any]:
    """``ViewAugment`` arguments of one CPU view pipeline."""
    args: Dict[str, Any] = dict(_NOTHING)
    for step in pipeline:
        prob, transforms = 1., [step]
        if step['type'] == 'RandomApply':
            prob, transforms = float(step.get('prob', 0.5)), step['transforms']
            if len(transforms) != 1:
                raise ValueError('RandomApply with several transforms has no GPU '
                                 f'equivalent: {[t["type"] for t in transforms]}')
        t = transforms[0]
        kind = t['type'].split('.')[-1]
        if kind == 'RandomResizedCrop':
            if not isinstance(t.get('scale'), int):
                raise ValueError('RandomResizedCrop: only a square int `scale` has a '
                                 f'GPU equivalent, got {t.get("scale")!r}')
            args.update(crop_size=t['scale'],
                        scale=tuple(t.get('crop_ratio_range', (0.08, 1.))),
                        ratio=tuple(t.get('aspect_ratio_range', (3. / 4., 4. / 3.))))
        elif kind == 'RandomFlip':
            if t.get('direction', 'horizontal') != 'horizontal':
                raise ValueError('RandomFlip: only horizontal flips have a GPU '
                                 f'equivalent, got direction={t["direction"]!r}')
            args['flip_prob'] = prob * _number(t, 'prob', 0.5)
        elif kind == 'ColorJitter':
            args['jitter_prob'] = prob
            for key in ('brightness', 'contrast', 'saturation', 'hue'):
                args[key] = _number(t, key)
        elif kind == 'RandomGrayscale':
            weights = tuple(t.get('channel_weights', (1., 1., 1.)))
            if not t.get('keep_channels', False) or any(
                    abs(a - b) > 1e-3 for a, b in zip(weights, _LUMA_BGR)):
                raise ValueError('RandomGrayscale: the GPU grayscale keeps 3 channels '
                                 f'with luma weights {_LUMA_BGR} (BGR); got '
                                 f'keep_channels={t.get("keep_channels")}, '
                                 f'channel_weights={weights}')
            args['gray_prob'] = prob * _number(t, 'prob', 0.1)
        elif kind == 'GaussianBlur':
            if t.get('magnitude_std', 'inf') != 'inf':
                raise ValueError('GaussianBlur: only magnitude_std="inf" (sigma drawn '
                                 'uniformly) has a GPU equivalent')
            args['blur_prob'] = prob * _number(t, 'prob', 1.)
            args['blur_sigma'] = tuple(t.get('magnitude_range', (0.1, 2.0)))
        elif kind == 'Solarize':
            args['solarize_prob'] = prob * _number(t, 'prob', 1.)
            args['solarize_thr'] = _number(t, 'thr', 128.)
        else:
            raise ValueError(f'{t["type"]} has no GPU equivalent in ViewAugment; keep '
                             'this recipe on the CPU pipeline.')
    if 'crop_size' not in args:
        raise ValueError('a view pipeline needs a RandomResizedCrop to move to the GPU')
    return args


def views_from_pipeline(pipeline: Sequence[dict]) -> List[Dict[str, Any]]:
    """The ``views`` of :class:`GPUMultiViewDataPreprocessor` that reproduce the
    ``MultiView`` of a CPU training pipeline (same transforms, same parameters).

    Args:
        pipeline (Sequence[dict]): A training pipeline holding one ``MultiView``
            (``num_views`` an int or a list, one view pipeline per entry).

    Returns:
        list[dict]: One dict per view pipeline: ``num_views`` plus the arguments of
        :class:`ViewAugment`.
    """
    multiview = [t for t in pipeline if t['type'].split('.')[-1] == 'MultiView']
    if len(multiview) != 1:
        raise ValueError('expected one MultiView in the pipeline, found '
                         f'{len(multiview)}: {[t["type"] for t in pipeline]}')
    num_views, pipelines = multiview[0]['num_views'], multiview[0]['transforms']
    counts = [num_views] if isinstance(num_views, int) else list(num_views)
    if len(counts) != len(pipelines):
        raise ValueError(f'MultiView: {len(counts)} view counts for '
                         f'{len(pipelines)} view pipelines')
    return [dict(num_views=n, **_view_args(p)) for n, p in zip(counts, pipelines)]
