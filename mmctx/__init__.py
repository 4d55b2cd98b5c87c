"""mmctx: context and attention blocks for OpenMMLab.

Importing the package checks that mmcv has its compiled ops, makes mmengine
load local checkpoints safely on torch >= 2.6, registers every block and
backbone in mmengine's root ``MODELS`` registry and the crash-safe
checkpoint hook in its root ``HOOKS`` registry, and sets up ``mmctx::``
config paths (``_base_ = 'mmctx::gcnet/...'``) with the ``mmctx`` registry
scope that builds them in the config's mmdet, mmseg or mmpretrain scope.
A script must import mmctx before it reads a config with an ``mmctx::``
base: a config's ``custom_imports`` run only after its bases are read.
"""
from .compat import check_mmcv_ops, install_checkpoint_loader
from .version import __version__

check_mmcv_ops()
install_checkpoint_loader()

from . import hooks, models, registry  # noqa: E402,F401  (registrations)
from .mim import register_config_alias  # noqa: E402

register_config_alias()

__all__ = ['__version__', 'hooks', 'models', 'registry']
