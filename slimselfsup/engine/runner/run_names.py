"""One log file per run, also for runs started in the same second of one process.

mmengine names a run, its logger, visualizer and default scope after the second it
started in (``20261206_030803``, or ``CONFIG_20261206_030803``), and
``MMLogger.get_instance`` returns an existing logger of that name unchanged. A second
Runner built in the same second (``tools/pipeline.py``'s probe after a skipped
pretraining, a notebook, tests) therefore wrote its whole log into the first run's file
in another work dir, and its own folder got none.
"""
from mmengine.logging import MMLogger


def unique_timestamp(timestamp: str) -> str:
    """``timestamp``, or ``timestamp-N`` with the smallest N >= 1 that no logger of
    this process ends with.

    Every rank of a distributed run builds the same Runners in the same order, so
    the ranks pick the same name (the timestamp itself is rank 0's).
    """
    # the registry of named instances is mmengine's ManagerMixin's own dict
    names = tuple(MMLogger._instance_dict)
    candidate, n = timestamp, 0
    while any(name.endswith(candidate) for name in names):
        n += 1
        candidate = f'{timestamp}-{n}'
    return candidate
