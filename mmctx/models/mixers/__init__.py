"""Drop-in replacements for a bottleneck's 3x3 conv."""
from .aa_conv import AAConv
from .cot import CoTLayer, CoXtLayer
from .mhsa import MHSA

__all__ = ['AAConv', 'CoTLayer', 'CoXtLayer', 'MHSA']
