"""Initialisation that survives an enclosing backbone's ``init_weights``."""
from mmengine.model import BaseModule


class SelfInitModule(BaseModule):
    """A ``BaseModule`` whose default initialisation is its own.

    mmdet's ResNet first applies Kaiming init to every ``Conv2d`` in the
    tree and only then calls each child's ``init_weights``. Subclasses define
    :meth:`reset_parameters` (called at construction too); when no
    ``init_cfg`` is given, ``init_weights`` re-applies it, so zero-initialised
    residual branches are still zero after the backbone's initialisation.
    """

    def reset_parameters(self) -> None:
        """Apply the block's own initialisation."""
        raise NotImplementedError

    def init_weights(self) -> None:
        """Re-apply :meth:`reset_parameters` unless ``init_cfg`` is set."""
        if self.init_cfg is None:
            self.reset_parameters()
            self._is_init = True
        else:
            super().init_weights()
