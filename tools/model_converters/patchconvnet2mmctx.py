"""Convert an official PatchConvNet checkpoint to an mmctx checkpoint.

Reads the files of facebookresearch/deit (``{'model': state_dict}`` or a
bare state dict).

Handles S60/S120/B60/B120/L120 at any resolution, 1k or 21k, and the
multi-class-token S60_multi. The output has the layout of mmpretrain's
``ImageClassifier``: stem and trunk as ``backbone.*``, which detection and
segmentation configs load with ``init_cfg=dict(type='Pretrained',
checkpoint=DST, prefix='backbone.')`` (their pyramid levels 0 and 1 are
mmctx's own and keep their initialisation). With ``--with-head`` it also
holds the attention pooling as ``neck.*`` and the classifier as
``head.fc.*`` and loads strictly into the model of the matching
``configs/classification/`` config (``PatchConvNet(out_indices=(2, ))``,
``AttentionPoolNeck``, ``LinearClsHead`` or, for S60_multi,
``MultiTokenClsHead``; see ``mmctx.converters.classifier_model_cfg``).
Every rule applied is printed; a key that does not fit stops the
conversion, named.

Example:
    python tools/model_converters/patchconvnet2mmctx.py S60.pth \\
        checkpoints/patchconvnet_s60_mmctx.pth
"""
from typing import Optional, Sequence

from mmctx.converters import patchconvnet
from mmctx.converters.common import Conversion, run_converter


def main(argv: Optional[Sequence[str]] = None) -> Conversion:
    """Run the converter on ``argv`` (``sys.argv[1:]`` when ``None``)."""
    return run_converter(argv, __doc__.splitlines()[0], patchconvnet.ARCHS,
                         patchconvnet.plan, patchconvnet.detect_arch,
                         'patchconvnet2mmctx')


if __name__ == '__main__':
    main()
