"""Shape-preserving blocks for ResNet ``plugins=[...]``."""
from .gc_block import GCBlock
from .non_local import NonLocalBlock, SimplifiedNonLocalBlock
from .se_block import SEBlock

__all__ = ['GCBlock', 'NonLocalBlock', 'SimplifiedNonLocalBlock', 'SEBlock']
