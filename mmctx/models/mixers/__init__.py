"""Drop-in replacements for a bottleneck's 3x3 conv."""
from .mhsa import MHSA

__all__ = ['MHSA']
