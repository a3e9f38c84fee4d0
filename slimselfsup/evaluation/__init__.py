from .feature_extractor import extract_features, pool_features
from .functional import *  # noqa: F401,F403
from .functional import knn_accuracy, knn_classify
from .knn_evaluator import find_knn_hook, format_knn_result, knn_evaluate, knn_result
from .metrics import *  # noqa: F401,F403

__all__ = [
    'extract_features', 'pool_features', 'knn_evaluate', 'knn_result', 'format_knn_result',
    'find_knn_hook', 'knn_classify', 'knn_accuracy'
]
