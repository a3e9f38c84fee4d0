from .slimmable_resnet import SlimmableResNet, SlimmableResNetCIFAR

__all__ = ['SlimmableResNet', 'SlimmableResNetCIFAR']
