from .slimmable_mlp_neck import SlimmableMLPNeck
from .tec_adapter import ClsTokenMLP, TECEncoderAdaptor
from .tec_decoder import TECDecoder

__all__ = ['SlimmableMLPNeck', 'ClsTokenMLP', 'TECEncoderAdaptor', 'TECDecoder']
