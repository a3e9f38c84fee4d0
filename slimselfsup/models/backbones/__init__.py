from .slimmable_resnet import SlimmableResNet, SlimmableResNetCIFAR
from .tec_vit import TECViT
from .timm_prelogits import TIMMPreLogits

__all__ = ['SlimmableResNet', 'SlimmableResNetCIFAR', 'TECViT', 'TIMMPreLogits']
