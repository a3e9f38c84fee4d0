from .slimmable_mlp_neck import SlimmableMLPNeck

__all__ = ['SlimmableMLPNeck']
