"""Train a model from a config: ``python tools/train.py CONFIG [options]``.

Same command line as mmpretrain's ``tools/train.py``.
"""
import argparse

import slimselfsup  # noqa: F401  (applies compatibility shims)
from slimselfsup.apis import (add_runtime_args, add_train_args, apply_train_args, load_config,
                              parse_runtime_args)
from slimselfsup.registry import RUNNERS
from slimselfsup.utils import register_all_modules


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    return parse_runtime_args(add_runtime_args(add_train_args(parser)))


#: Folds the command-line options into the config.
merge_args = apply_train_args


def main() -> None:
    args = parse_args()
    register_all_modules()
    cfg = merge_args(load_config(args.config, args.cfg_options), args)
    cfg.setdefault('runner_type', 'SelfSupRunner')
    runner = RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    main()
