from .slimmable_classifier import SlimmableClassifier, soft_cross_entropy

__all__ = ['SlimmableClassifier', 'soft_cross_entropy']
