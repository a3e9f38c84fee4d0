"""Weighted kNN accuracy of a checkpoint's frozen features.

``python tools/analysis_tools/knn_eval.py CONFIG CHECKPOINT [--k 200] [--temperature
0.07]`` evaluates the kNN classifier of Wu et al. 2018 (as monitored by DINO/MoCo) on
the data of the config's ``KNNHook`` entry in ``custom_hooks``, prints a small table
and writes ``knn_eval_<time>.json`` to the work dir. Multi-GPU:
``torchrun --nproc_per_node 8 tools/analysis_tools/knn_eval.py ... --launcher pytorch``.
"""
import argparse
import json
import os
import os.path as osp
import time

from mmengine.device import get_device
from mmengine.dist import get_rank, init_dist
from mmengine.runner import Runner, load_checkpoint

import slimselfsup  # noqa: F401
from slimselfsup.apis import add_runtime_args, load_config, parse_runtime_args
from slimselfsup.evaluation import find_knn_hook, format_knn_result, knn_evaluate
from slimselfsup.registry import MODELS
from slimselfsup.utils import register_all_modules


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='kNN evaluation of frozen features (Wu et al. 2018)')
    parser.add_argument('config', help='config file with a KNNHook in custom_hooks')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--k', type=int, help="neighbours (default: the hook's)")
    parser.add_argument('--temperature', type=float,
                        help="temperature of the neighbour weights "
                        "(default: the hook's)")
    parser.add_argument('--chunk-size', type=int,
                        help='queries per similarity step (bounds memory)')
    parser.add_argument('--work-dir', help='where to write the json result')
    parser.add_argument('--non-strict', action='store_true',
                        help='allow missing/unexpected keys in the checkpoint')
    return parse_runtime_args(add_runtime_args(parser))


def format_table(result: dict) -> str:
    rows = [(f'top-{key[3:]}', f'{value:.2f}') for key, value in result.items()
            if key.startswith('top')]
    rows += [('k', str(result['k'])), ('temperature', f"{result['temperature']:g}"),
             ('train images', str(result['num_train'])),
             ('val images', str(result['num_val'])),
             ('classes', str(result['num_classes']))]
    width = max(len(name) for name, _ in rows)
    vwidth = max(len(value) for _, value in rows)
    line = f"+{'-' * (width + 2)}+{'-' * (vwidth + 2)}+"
    body = [f'| {name:<{width}} | {value:>{vwidth}} |' for name, value in rows]
    return '\n'.join([line, f"| {'kNN':<{width}} | {'':>{vwidth}} |", line, *body,
                      line])


def main() -> None:
    args = parse_args()
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    hook_cfg = find_knn_hook(cfg)
    if args.launcher != 'none':
        init_dist(args.launcher, **cfg.get('env_cfg', {}).get('dist_cfg', {}))

    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    load_checkpoint(model, args.checkpoint, map_location='cpu',
                    strict=not args.non_strict)
    model.to(get_device())

    def pick(cli, key, default):
        return cli if cli is not None else hook_cfg.get(key, default)

    seed = (cfg.get('randomness') or {}).get('seed')
    result = knn_evaluate(
        model,
        Runner.build_dataloader(hook_cfg['train_dataloader'], seed=seed),
        Runner.build_dataloader(hook_cfg['val_dataloader'], seed=seed),
        k=pick(args.k, 'k', 200),
        temperature=pick(args.temperature, 'temperature', 0.07),
        chunk_size=pick(args.chunk_size, 'chunk_size', 512),
        num_classes=hook_cfg.get('num_classes'))
    if get_rank() != 0:
        return

    work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    os.makedirs(work_dir, exist_ok=True)
    out_file = osp.join(work_dir, f"knn_eval_{time.strftime('%Y%m%d_%H%M%S')}.json")
    with open(out_file, 'w') as f:
        json.dump(dict(config=args.config, checkpoint=args.checkpoint, **result), f,
                  indent=2)
    print(format_table(result))
    print(format_knn_result(result))
    print(f'Saved to {out_file}')


if __name__ == '__main__':
    main()
