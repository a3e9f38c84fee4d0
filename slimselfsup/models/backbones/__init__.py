from .slimmable_resnet import SlimmableResNet, SlimmableResNetCIFAR
from .timm_prelogits import TIMMPreLogits
from .tec_vit import TECViT

__all__ = ['SlimmableResNet', 'SlimmableResNetCIFAR', 'TECViT', 'TIMMPreLogits']
