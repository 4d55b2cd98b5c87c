"""mmctx: context and attention blocks for OpenMMLab.

Importing the package checks that mmcv has its compiled ops, makes mmengine
load local checkpoints safely on torch >= 2.6, registers every block and
backbone in mmengine's root ``MODELS`` registry and the crash-safe
checkpoint hook in its root ``HOOKS`` registry.
"""
from .compat import check_mmcv_ops, install_checkpoint_loader
from .version import __version__

check_mmcv_ops()
install_checkpoint_loader()

from . import hooks, models  # noqa: E402,F401  (registers the modules)

__all__ = ['__version__', 'hooks', 'models']
