from .slimmable_accuracy import SlimmableAccuracy

__all__ = ['SlimmableAccuracy']
