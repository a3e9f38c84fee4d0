"""Plots of the gradient imbalance recorded by ``SlimGradHook``.

``python tools/analysis_tools/plot_slim_grads.py WORK_DIR/slim_grads.jsonl
[WORK_DIR/fc_grads.npz] --out DIR`` writes (SlimCLR, arXiv 2209.15525, Sec. 3):

* ``grad_imbalance.png``: mean gradient norm of each width's sub-block, its ratio
  to the whole gradient, and the paper's ratios for the smallest width ``s``:
  ``|g_full| / |g_s|`` and ``|g_full \\ s| / |g_s|`` (gradient magnitude imbalance);
* ``fc_singular_values.png``: top-2 singular values of the last linear layer's
  gradient per width;
* ``fc_grad_pca.png`` (with the ``.npz``): PCA over training steps of that layer's
  gradient sub-block of each width, first and second component against the step
  (gradient direction divergence).
"""
import argparse
import os
from typing import List, Optional

from slimselfsup.analysis.slim_plots import (load_records, plot_imbalance, plot_pca,
                                             plot_singular_values)


def main(argv: Optional[List[str]] = None) -> List[str]:
    parser = argparse.ArgumentParser(description='plot SlimGradHook records')
    parser.add_argument('jsonl', help='slim_grads.jsonl written by SlimGradHook')
    parser.add_argument('npz', nargs='?', help='fc_grads.npz written by SlimGradHook')
    parser.add_argument('--out', default='.', help='output folder')
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    records = load_records(args.jsonl)
    paths = [plot_imbalance(records, args.out), plot_singular_values(records, args.out)]
    if args.npz:
        paths.append(plot_pca(args.npz, args.out))
    paths = [p for p in paths if p]
    for p in paths:
        print(f'saved {p}')
    return paths


if __name__ == '__main__':
    main()
