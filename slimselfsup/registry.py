"""Registries of slimselfsup, children of mmpretrain's.

A config with ``default_scope = 'slimselfsup'`` finds our types first and falls back to
mmpretrain's (and mmengine's) for everything we do not define, so ``type='ResNet'`` or
``type='LARS'`` keep meaning what they mean in mmpretrain.
"""
from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry


def _child(name: str, parent: Registry, location: str) -> Registry:
    return Registry(name, parent=parent, scope='slimselfsup', locations=[location])


RUNNERS = _child('runner', mmpretrain_registry.RUNNERS, 'slimselfsup.engine')
LOOPS = _child('loop', mmpretrain_registry.LOOPS, 'slimselfsup.engine')
HOOKS = _child('hook', mmpretrain_registry.HOOKS, 'slimselfsup.engine')
OPTIMIZERS = _child('optimizer', mmpretrain_registry.OPTIMIZERS, 'slimselfsup.engine')
OPTIM_WRAPPERS = _child('optim_wrapper', mmpretrain_registry.OPTIM_WRAPPERS,
                        'slimselfsup.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child(
    'optimizer wrapper constructor',
    mmpretrain_registry.OPTIM_WRAPPER_CONSTRUCTORS, 'slimselfsup.engine')
PARAM_SCHEDULERS = _child('parameter scheduler', mmpretrain_registry.PARAM_SCHEDULERS,
                          'slimselfsup.engine')
LOG_PROCESSORS = _child('log processor', mmpretrain_registry.LOG_PROCESSORS,
                        'slimselfsup.engine')

DATASETS = _child('dataset', mmpretrain_registry.DATASETS, 'slimselfsup.datasets')
DATA_SAMPLERS = _child('data sampler', mmpretrain_registry.DATA_SAMPLERS,
                       'slimselfsup.datasets')
TRANSFORMS = _child('transform', mmpretrain_registry.TRANSFORMS, 'slimselfsup.datasets')

MODELS = _child('model', mmpretrain_registry.MODELS, 'slimselfsup.models')
MODEL_WRAPPERS = _child('model_wrapper', mmpretrain_registry.MODEL_WRAPPERS,
                        'slimselfsup.models')
WEIGHT_INITIALIZERS = _child('weight initializer',
                             mmpretrain_registry.WEIGHT_INITIALIZERS, 'slimselfsup.models')

METRICS = _child('metric', mmpretrain_registry.METRICS, 'slimselfsup.evaluation')
EVALUATORS = _child('evaluator', mmpretrain_registry.EVALUATORS, 'slimselfsup.evaluation')

# We define no visualizers; these children make mmpretrain's reachable from our scope.
VISUALIZERS = _child('visualizer', mmpretrain_registry.VISUALIZERS, 'slimselfsup.engine')
VISBACKENDS = _child('vis_backend', mmpretrain_registry.VISBACKENDS, 'slimselfsup.engine')

__all__ = [
    'RUNNERS', 'LOOPS', 'HOOKS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'LOG_PROCESSORS', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS',
    'METRICS', 'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS'
]
