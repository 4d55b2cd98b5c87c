"""Drop-in replacements for a bottleneck's 3x3 conv."""
from .cot import CoTLayer, CoXtLayer
from .mhsa import MHSA

__all__ = ['CoTLayer', 'CoXtLayer', 'MHSA']
