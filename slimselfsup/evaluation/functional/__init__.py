from .knn import knn_accuracy, knn_classify

__all__ = ['knn_accuracy', 'knn_classify']
