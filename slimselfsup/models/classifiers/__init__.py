from .slimmable_classifier import SlimmableClassifier

__all__ = ['SlimmableClassifier']
