"""Analysis tools for slimmable networks (SlimCLR, arXiv 2209.15525): per-width
gradient statistics, optimisation trajectories and per-width complexity.

Not imported by ``slimselfsup/__init__.py``; import it explicitly.
"""
from .complexity import format_complexity_table, slim_complexity
from .grad_stats import SliceRecorder, slim_grad_stats, static_slice, stats_to_record, width_key
from .trajectory import (direction_keys, evaluate_grid, pca_2d, project, slice_state,
                         trajectory_directions, trajectory_pca, unslice_direction)

__all__ = [
    'SliceRecorder', 'direction_keys', 'evaluate_grid', 'format_complexity_table',
    'pca_2d', 'project', 'slice_state', 'slim_complexity', 'slim_grad_stats',
    'static_slice', 'stats_to_record', 'trajectory_directions', 'trajectory_pca',
    'unslice_direction', 'width_key'
]
