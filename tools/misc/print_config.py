"""Print the fully merged config: ``python tools/misc/print_config.py CONFIG``."""
import argparse

from mmengine.config import DictAction

import slimselfsup  # noqa: F401
from slimselfsup.apis import load_config


def main() -> None:
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, xxx=yyy')
    args = parser.parse_args()
    print(load_config(args.config, args.cfg_options).pretty_text)


if __name__ == '__main__':
    main()
