from .feature_extractor import extract_features, pool_features
from .functional import *  # noqa: F401,F403
from .functional import knn_accuracy, knn_classify
from .knn_evaluator import format_knn_result, knn_evaluate
from .metrics import *  # noqa: F401,F403

__all__ = [
    'extract_features', 'pool_features', 'knn_evaluate', 'format_knn_result',
    'knn_classify', 'knn_accuracy'
]
