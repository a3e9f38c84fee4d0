"""Compare resolved configs field by field with the papers' recipes.

Every method keeps a table of its paper's (or reference code's) recipes next to its
configs, ``configs/<method>/recipe.yml``::

    Recipes:
      - config: mocov2_resnet50_8xb32-coslr-200e_in1k.py   # relative to the table
        source: facebookresearch/moco main_moco.py defaults   # where the values are from
        paper: {gpus: 8, batch_per_gpu: 32, lr: 0.03, ...}   # the reference's values
        differences:                                       # kept on purpose, with why
          epochs: the README row "..."
      - config: mocov2_resnet50_8xb32-coslr-800e_in1k.py
        base: mocov2_resnet50_8xb32-coslr-200e_in1k.py     # inherits paper/differences
        paper: {epochs: 800}                               # `drop: [key]` removes one

:func:`recipe_fields` reads the recipe-defining fields from a resolved config (batch
per GPU and total, optimizer, LR and its scaling rule, weight-decay and LARS
exclusions, warm-up, schedule and its granularity, epochs, precision, temperatures,
queue, momentum, head sizes and BN placement, augmentation per view and the method's
own settings). :func:`check` fails a config whose field differs from the table unless
the table gives a reason, and also fails on fields the table does not list and on
reasons for fields that match (stale reasons), so the table stays complete and true.

Usage::

    python tools/analysis_tools/recipe_check.py [configs/<method>/recipe.yml ...]

prints every field of every recipe (config value, paper value, status) and exits 1 if
any check fails.
"""
import argparse
import glob
import inspect
import math
import os.path as osp
import re
import sys
from typing import Any, Dict, List, Optional

import yaml

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# custom_keys of paramwise_cfg that name normalisation layers (ResNet shortcut BNs are
# `downsample.1`) or biases, mapped to one word so tables can say `[bias, norm]`
_NORM_KEYS = {'bn', 'norm', 'ln', 'gn', 'downsample.1'}


def _semantic(key: str) -> str:
    key = key.lstrip('.')
    if key in _NORM_KEYS:
        return 'norm'
    return key


def _num(x: Any) -> Any:
    """Round floats to 6 significant digits so printed tables stay readable."""
    if isinstance(x, float):
        return float(f'{x:.6g}')
    if isinstance(x, (list, tuple)):
        return [_num(v) for v in x]
    return x


def _default(cls_type: str, arg: str, registry=None) -> Any:
    """Default of ``arg`` in the ``__init__`` of the registered ``cls_type``."""
    if registry is None:
        from slimselfsup.registry import MODELS as registry
    cls = registry.get(cls_type)
    for klass in (cls.__mro__ if cls is not None else ()):
        param = inspect.signature(klass.__init__).parameters.get(arg) \
            if '__init__' in vars(klass) else None
        if param is not None and param.default is not inspect.Parameter.empty:
            return param.default
    return None


# ---------------------------------------------------------------- the fields
def _optim_fields(cfg) -> Dict[str, Any]:
    wrapper = cfg.optim_wrapper
    opt = wrapper.optimizer
    out: Dict[str, Any] = {}
    out['optimizer'] = opt.type + ('-nesterov' if opt.get('nesterov') else '')
    out['lr'] = _num(opt.lr)
    out['weight_decay'] = _num(opt.get('weight_decay', 0.0))
    if 'momentum' in opt or opt.type in ('SGD', 'LARS'):
        out['momentum'] = _num(opt.get('momentum', 0.0))
    if 'betas' in opt or opt.type in ('AdamW', 'Adam'):
        out['betas'] = _num(list(opt.get('betas', (0.9, 0.999))))
    pw = wrapper.get('paramwise_cfg') or {}
    keys = pw.get('custom_keys') or {}
    no_decay = {_semantic(k) for k, v in keys.items() if v.get('decay_mult', 1) == 0}
    if pw.get('norm_decay_mult', 1) == 0:
        no_decay.add('norm')
    if pw.get('bias_decay_mult', 1) == 0:
        no_decay.add('bias')
    out['no_weight_decay'] = sorted(no_decay)
    if opt.type == 'LARS':
        out['lars_exclude'] = sorted(
            {_semantic(k) for k, v in keys.items() if v.get('lars_exclude')})
    if 'layer_decay_rate' in pw:
        out['layer_decay'] = _num(pw.layer_decay_rate)
    kind = wrapper.get('type', 'OptimWrapper')
    if kind == 'AmpOptimWrapper':
        out['precision'] = 'bf16' if 'bfloat16' in str(wrapper.get('dtype')) else 'fp16'
    else:
        out['precision'] = 'bf16' if kind == 'BF16OptimWrapper' else 'fp32'
    if wrapper.get('clip_grad'):
        out['grad_clip'] = _num(wrapper.clip_grad.get('max_norm'))
    return out


def _schedule_fields(cfg) -> Dict[str, Any]:
    scheds = cfg.param_scheduler
    scheds = list(scheds) if isinstance(scheds, (list, tuple)) else [scheds]
    out: Dict[str, Any] = {'warmup': 'none'}
    main = []
    for s in scheds:
        by_epoch = s.get('by_epoch', True)
        if s.type == 'LinearLR' and s.get('begin', 0) == 0 and s.get('end', 0) > 0:
            unit = 'e' if by_epoch else 'it'
            # the start factor (1e-4 here, 0 or 1e-8 in most references) is left out
            out['warmup'] = f'{s.end}{unit}'
        else:
            main.append(s)
    names = {'CosineAnnealingLR': 'cosine', 'MultiStepLR': 'step', 'StepLR': 'step',
             'PolyLR': 'poly', 'ConstantLR': 'constant'}
    out['schedule'] = '+'.join(names.get(s.type, s.type) for s in main)
    out['schedule_per'] = 'iter' if any(
        s.get('convert_to_iter_based') or not s.get('by_epoch', True) for s in main) \
        else 'epoch'
    for s in main:
        if s.type == 'MultiStepLR':
            out['lr_steps'] = [list(s.milestones), _num(s.get('gamma', 0.1))]
        if s.type == 'CosineAnnealingLR':
            out['min_lr'] = _num(s.get('eta_min', 0.0))
    out['epochs'] = cfg.train_cfg.get('max_epochs')
    return out


def _batch_fields(cfg, name: str) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    m = re.search(r'[_-](\d+)xb(\d+)', name)
    per_gpu = cfg.train_dataloader.batch_size
    accum = cfg.optim_wrapper.get('accumulative_counts', 1)
    scale = cfg.get('auto_scale_lr')
    gpus = int(m.group(1)) if m else None
    if gpus is None and scale and scale.get('base_batch_size'):
        # a config named without `NxbM` (an alias): the batch its lr is set for
        gpus = scale.base_batch_size // (per_gpu * accum)
    out['gpus'] = gpus
    out['batch_per_gpu'] = per_gpu
    out['accumulation'] = accum
    out['total_batch'] = gpus * per_gpu * accum if gpus else None
    out['lr_scaling'] = scale.get('mode', 'linear') if scale else 'none'
    return out


def _mlp(neck) -> Dict[str, Any]:
    """Sizes, BN placement and biases of a projection/prediction MLP config."""
    t = neck.type
    layers = neck.get('num_layers', 2)
    dims = [neck.in_channels] + [neck.hid_channels] * (layers - 1) + [neck.out_channels]
    if t == 'MoCoV2Neck':
        return dict(dims=dims, bn='none', bias='all')
    if t == 'LinearNeck':
        return dict(dims=[neck.in_channels, neck.out_channels], bn='none', bias='all')
    hidden_bn = neck.get('with_hidden_bn', True)
    last_bn = neck.get('with_last_bn', True)
    bn = []
    if hidden_bn:
        bn.append('hidden')
    if last_bn:
        bn.append('last' if neck.get('with_last_bn_affine', True) else 'last(no affine)')
    hidden_bias = neck.get('with_bias', False)
    last_bias = neck.get('with_last_bias', False)
    bias = 'all' if hidden_bias and last_bias else 'hidden' if hidden_bias else \
        'last' if last_bias else 'none'
    return dict(dims=dims, bn='+'.join(bn) or 'none', bias=bias)


def _backbone_fields(cfg) -> Dict[str, Any]:
    bb = cfg.model.backbone
    out: Dict[str, Any] = {}
    t = bb.type
    if t == 'TIMMPreLogits':
        out['backbone'] = f"timm:{bb.model_name}"
        out['dropout'] = _num(bb.get('drop_rate', 0.0))
        out['drop_path'] = _num(bb.get('drop_path_rate', 0.0))
        out['bn_eps'] = _num(bb.get('bn_eps', 1e-5))
        return out
    desc = t
    for key in ('depth', 'arch'):
        if key in bb:
            desc += f'-{bb[key]}'
    out['backbone'] = desc
    if 'widths' in bb:
        out['widths'] = _num(list(bb.widths))
    zero_init = bb.get('zero_init_residual', _default(t, 'zero_init_residual'))
    pretrained = (bb.get('init_cfg') or {}).get('type') == 'Pretrained'
    if zero_init is not None and not pretrained:  # an init that weights overwrite
        out['zero_init_residual'] = zero_init
    if cfg.get('sync_bn'):
        out['norm'] = 'SyncBN'
    elif 'widths' in bb:  # switchable BNs, plain BN inside unless sync_bn is set
        out['norm'] = 'BN'
    elif 'norm_cfg' in bb:
        out['norm'] = bb.norm_cfg.type
    elif _default(t, 'norm_cfg') is not None:
        out['norm'] = _default(t, 'norm_cfg')['type']
    if 'drop_path_rate' in bb:
        out['drop_path'] = _num(bb.drop_path_rate)
    for key in ('frozen_stages', 'norm_eval', 'mask_ratio', 'mlp_token', 'patch_size',
                'img_size', 'out_type', 'final_norm', 'stop_grad_conv1'):
        if key in bb:
            out[key] = _num(bb[key])
    return out


def _selfsup_fields(cfg) -> Dict[str, Any]:
    model = cfg.model
    out: Dict[str, Any] = {}
    for key in ('queue_len', 'small_patches'):
        if key in model:
            out[key] = _num(model[key])
    if 'momentum' in model:  # MoCo v2's m of the momentum encoder
        out['ema_momentum'] = _num(model.momentum)
    if 'base_momentum' in model:  # MoCo v3's cosine ramp to 1
        out['ema_momentum'] = f'{_num(model.base_momentum)} -> 1 (cosine)'
    if model.get('neck'):
        if model.neck.type in ('TECDecoder', ):
            n = model.neck
            out['decoder'] = f'{n.decoder_depth}x{n.decoder_embed_dims}/' \
                f'{n.decoder_num_heads}'
            out['adaptor_group'] = n.layers_per_group
            out['predict_relation'] = n.predict_relation
        elif 'in_channels' in model.neck and 'hid_channels' in model.neck:
            out['head'] = _mlp(model.neck)
    if model.get('predictor'):
        out['predictor'] = _mlp(model.predictor)
    head = model.get('head') or {}
    loss = head.get('loss') or {}
    if head.get('type') == 'SEEDHead':  # SEEDLoss: the two temperatures of the paper
        loss = loss or dict(type='SEEDLoss')
        for field, arg in (('temperature', 'student_temperature'),
                           ('teacher_temperature', 'teacher_temperature')):
            out[field] = _num(loss.get(arg, _default(loss['type'], arg)))
    elif loss:
        out['loss'] = loss.type
        if 'temperature' in loss:
            out['temperature'] = _num(loss.temperature)
        if loss.get('loss_weight', 1.0) != 1.0:
            out['loss_weight'] = _num(loss.loss_weight)
    if head.get('type') == 'TECHead':
        out['att_tau'] = _num(head.att_loss.tau)
        out['loss_weights'] = [_num(head.feat_loss.get('loss_weight', 1.0)),
                               _num(head.att_loss.get('loss_weight', 1.0))]
    if 'teacher' in model:
        tb = model.teacher.backbone
        desc = f"{tb.type}-{tb.get('depth', '')}"
        if tb.get('base_channels', 64) != 64:
            desc += f" w{tb.base_channels // 64}"
        out['teacher'] = desc
        out['teacher_head'] = _mlp(model.teacher.neck)
    if 'target_generator' in model:
        tg = model.target_generator
        out['topk'] = tg.topk
        out['last_layers'] = tg.last_layers
    if 'slim_start_epoch' in model:
        from slimselfsup.models.algorithms import slim_loss_weights
        widths = model.get('widths') or model.backbone.widths
        out['slim_start_epoch'] = _num(model.slim_start_epoch)
        out['distill'] = model.get('distill', True)
        out['distill_alpha'] = _num(model.get('distill_alpha', 0.5))
        dl = model.get('distill_loss') or {}
        out['distill_temperature'] = _num(
            [dl.get('teacher_temperature'), dl.get('student_temperature')])
        out['loss_weights'] = _num(slim_loss_weights(model.get('loss_weights', 5),
                                                     widths))
    return out


def _classifier_fields(cfg) -> Dict[str, Any]:
    model = cfg.model
    out: Dict[str, Any] = {}
    neck = model.get('neck') or {}
    out['neck'] = neck.get('type', 'none') if neck else 'none'
    head = model.head
    out['head'] = head.type
    loss = head.get('loss') or {}
    out['loss'] = loss.get('type')
    if 'label_smooth_val' in loss:
        out['label_smooth'] = _num(loss.label_smooth_val)
    init = head.get('init_cfg')
    if init:
        init = init[0] if isinstance(init, (list, tuple)) else init
        out['head_init'] = f"{init.type}({_num(init.get('std', init.get('val')))})"
    augments = (model.get('train_cfg') or {}).get('augments') or []
    for a in augments:
        out[a.type.lower()] = _num(a.alpha)
    for key in ('loss_mode', 'distill_alpha'):
        if key in model:
            out[key] = _num(model[key])
    if 'switchable' in head:
        out['switchable'] = head.switchable
    return out


def _view(transforms) -> Dict[str, Any]:
    """Augmentation parameters of one view (a list of transform configs)."""
    out: Dict[str, Any] = {}
    for t in transforms:
        kind = t['type']
        if kind == 'RandomResizedCrop':
            lo, hi = t.get('crop_ratio_range', (0.08, 1.0))
            out['crop'] = _num([t['scale'], lo, hi])
            out['interpolation'] = t.get('interpolation', 'bilinear')
        elif kind == 'RandomCrop':
            out['crop'] = [t['crop_size'], f"pad {t.get('padding', 0)}"]
        elif kind == 'RandomFlip':
            out['flip'] = _num(t.get('prob', 0.5))
        elif kind == 'RandomApply' and t['transforms'][0]['type'] == 'ColorJitter':
            j = t['transforms'][0]
            out['jitter'] = _num([j.get('brightness', 0), j.get('contrast', 0),
                                  j.get('saturation', 0), j.get('hue', 0), t['prob']])
        elif kind == 'ColorJitter':
            out['jitter'] = _num([t.get('brightness', 0), t.get('contrast', 0),
                                  t.get('saturation', 0), t.get('hue', 0), 1.0])
        elif kind == 'RandomGrayscale':
            out['gray'] = _num(t['prob'])
        elif kind == 'GaussianBlur':
            out['blur'] = _num(t['prob'])
        elif kind == 'Solarize':
            out['solarize'] = _num(t['prob'])
        elif kind == 'RandAugment':
            out['randaugment'] = f"m{t['magnitude_level']}-mstd{t['magnitude_std']}-" \
                f"n{t['num_policies']}"
        elif kind == 'RandomErasing':
            out['erasing'] = _num(t['erase_prob'])
        elif kind == 'Lighting':
            out['lighting'] = _num(t['alphastd'])
    return out


def _views(cfg) -> List[Dict[str, Any]]:
    pipeline = cfg.train_dataloader.dataset.get('pipeline') or []
    for t in pipeline:
        if t['type'] == 'MultiView':
            counts = t['num_views']
            branches = t['transforms']
            if isinstance(counts, int):
                counts = [counts] * len(branches) if len(branches) > 1 else [counts]
            return [dict(n=n, **_view(b)) for n, b in zip(counts, branches)]
    return [dict(n=1, **_view(pipeline))]


def _detection_fields(cfg) -> Dict[str, Any]:
    model = cfg.model
    bb = model.backbone
    out: Dict[str, Any] = {}
    out['backbone'] = f"{bb.type}-{bb.depth}" + (f" w{bb.width}" if 'width' in bb else '')
    out['norm'] = bb.norm_cfg.type
    out['frozen_stages'] = bb.frozen_stages
    out['norm_eval'] = bb.norm_eval
    roi = model.roi_head
    if 'shared_head' in roi:
        out['res5_head_norm'] = roi.shared_head.norm_cfg.type
    else:
        out['fpn_norm'] = (model.neck.get('norm_cfg') or {}).get('type', 'none')
        out['box_head'] = roi.bbox_head.type
        out['box_head_norm'] = (roi.bbox_head.get('norm_cfg') or {}).get('type', 'none')
        out['mask_head_norm'] = (roi.mask_head.get('norm_cfg') or {}).get('type', 'none')
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'Resize':
            out['train_scale'] = list(t['scale'])
        elif t['type'] in ('RandomChoiceResize', 'RandomResize'):
            out['train_scale'] = _num([list(s) for s in t['scale']])
        elif t['type'] == 'RandomFlip':
            out['flip'] = _num(t['prob'])
    return out


def recipe_fields(cfg, path: str) -> Dict[str, Any]:
    """The recipe-defining fields of a resolved config (see the module docstring)."""
    name = osp.basename(path)
    out = _batch_fields(cfg, name)
    out.update(_optim_fields(cfg))
    out.update(_schedule_fields(cfg))
    if cfg.get('default_scope') == 'mmdet':
        out.update(_detection_fields(cfg))
        return out
    out.update(_backbone_fields(cfg))
    if cfg.model.type in ('ImageClassifier', 'SlimmableClassifier'):
        out.update(_classifier_fields(cfg))
    else:
        out.update(_selfsup_fields(cfg))
    out['views'] = _views(cfg)
    return out


# ---------------------------------------------------------------- the check
def same(a: Any, b: Any) -> bool:
    """Equal, with numbers compared to 6 significant digits."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or a == b and type(a) is type(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def check(fields: Dict[str, Any], entry: dict) -> List[str]:
    """Problems of a config's ``fields`` against its table ``entry`` (none = pass).

    A field that differs from ``entry['paper']`` needs a reason in
    ``entry['differences']`` (a table field the config does not have counts as
    ``None``, e.g. ``lr_steps`` of a reference with an LR step and a config without);
    a field the table does not list and a reason for a field that matches are
    problems too.
    """
    paper = entry.get('paper') or {}
    reasons = entry.get('differences') or {}
    problems = []
    for key, ours in fields.items():
        if key not in paper:
            problems.append(f'{key}: the config has {ours!r}, the table lists no '
                            'value (add the paper\'s value to `paper`)')
    for key, theirs in paper.items():
        ours = fields.get(key)  # a field the config does not have compares as None
        if not same(ours, theirs) and not reasons.get(key):
            problems.append(f'{key}: the config has {ours!r}, the paper {theirs!r}, '
                            'and the table gives no reason under `differences`')
        elif same(ours, theirs) and reasons.get(key):
            problems.append(f'{key}: the table gives a reason for a difference, but the '
                            f'config matches the paper ({ours!r}); remove the reason')
    for key in reasons:
        if key not in paper:
            problems.append(f'{key}: a reason under `differences` for a field the table '
                            'does not list under `paper`')
    return problems


def load_table(path: str) -> List[dict]:
    """The entries of a ``recipe.yml``, ``base`` inheritance resolved, with
    ``config`` made absolute."""
    with open(path) as f:
        data = yaml.safe_load(f) or {}
    entries = data.get('Recipes') or []
    by_config = {e['config']: e for e in entries}
    folder = osp.dirname(osp.abspath(path))

    def resolve(entry: dict, seen=()) -> dict:
        if 'base' not in entry:
            return dict(paper=dict(entry.get('paper') or {}),
                        differences=dict(entry.get('differences') or {}))
        if entry['base'] in seen or entry['base'] not in by_config:
            raise ValueError(f"{path}: {entry['config']} has base {entry['base']!r}, "
                             'which is not an entry of this table (or a cycle)')
        parent = resolve(by_config[entry['base']], seen + (entry['config'], ))
        for key in entry.get('drop') or ():  # fields the child config does not have
            parent['paper'].pop(key, None)
            parent['differences'].pop(key, None)
        parent['paper'].update(entry.get('paper') or {})
        for key, why in (entry.get('differences') or {}).items():
            if why is None:
                parent['differences'].pop(key, None)
            else:
                parent['differences'][key] = why
        return parent

    out = []
    for entry in entries:
        resolved = resolve(entry)
        resolved.update(config=osp.normpath(osp.join(folder, entry['config'])),
                        source=entry.get('source', ''), table=path)
        out.append(resolved)
    return out


def all_tables() -> List[str]:
    return sorted(glob.glob(osp.join(REPO, 'configs', '**', 'recipe.yml'),
                            recursive=True))


def check_entry(entry: dict, cfg_options: Optional[dict] = None) -> List[str]:
    """Resolve the entry's config (with optional overrides) and check it."""
    from slimselfsup.apis import load_config
    cfg = load_config(entry['config'])
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return check(recipe_fields(cfg, entry['config']), entry)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('tables', nargs='*', help='recipe.yml files (default: all)')
    args = parser.parse_args(argv)
    from slimselfsup.apis import load_config
    failed = 0
    for table in args.tables or all_tables():
        for entry in load_table(table):
            cfg = load_config(entry['config'])
            fields = recipe_fields(cfg, entry['config'])
            problems = check(fields, entry)
            failed += bool(problems)
            print(f"\n{osp.relpath(entry['config'], REPO)}  "
                  f"[{'FAIL' if problems else 'ok'}]  ({entry['source']})")
            for key, ours in fields.items():
                theirs = entry['paper'].get(key, '-')
                mark = '' if same(ours, theirs) else \
                    f"  <- {entry['differences'].get(key, 'NO REASON')}"
                print(f'  {key:22s} {str(ours):40s} paper: {theirs}{mark}')
            for p in problems:
                print(f'  PROBLEM {p}')
    print(f'\n{failed} config(s) failed the recipe check')
    return int(failed > 0)


if __name__ == '__main__':
    sys.exit(main())
