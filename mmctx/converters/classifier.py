"""The classifier model dicts the converted checkpoints load into."""
from . import cotnet, patchconvnet
from .common import ConversionError

#: Every architecture a converter writes, with its converter module.
CONVERTERS = {
    **{arch: cotnet
       for arch in cotnet.ARCHS},
    **{arch: patchconvnet
       for arch in patchconvnet.ARCHS},
}


def classifier_model_cfg(arch: str,
                         with_head: bool = True,
                         num_classes: int = 1000) -> dict:
    """The mmpretrain ``ImageClassifier`` model dict of a converted
    architecture: the ``model`` of its ``configs/classification/`` config.

    Args:
        arch: A converter architecture (``'cotnet50'``, ``'se_cotnetd152'``,
            ``'S60'``, ``'S60_multi'``, ...).
        with_head: Include the neck and head (``--with-head`` files);
            without them, the backbone alone (``backbone.*`` files).
        num_classes: Classes of the head.

    Returns:
        The model dict.

    Raises:
        ConversionError: For an architecture no converter writes.
    """
    if arch not in CONVERTERS:
        raise ConversionError(f'no converter writes arch {arch!r}; known: '
                              f'{tuple(CONVERTERS)}')
    return CONVERTERS[arch].model_cfg(arch, with_head, num_classes)
