"""Convert an official CoTNet/CoTNeXt/SE-CoTNetD checkpoint for mmctx.

Reads the files of JDAI-CV/CoTNet (timm layout: ``state_dict`` and maybe
``state_dict_ema``, keys maybe prefixed ``module.``; or a bare state dict).

The output has the layout of mmpretrain's ``ImageClassifier``: the backbone
as ``backbone.*``, which detection and segmentation configs load with
``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``.
With ``--with-head`` it also holds the linear classifier as ``head.fc.*``
and loads strictly into the model of the matching
``configs/classification/`` config (CoTNet/CoTNeXt/SECoTNetD, global
average pooling, ``LinearClsHead``; see
``mmctx.converters.classifier_model_cfg``). EMA weights are used when
present unless ``--no-ema``; the architecture is read from the keys unless
``--arch`` names it. Every rule applied is printed; a key that does not fit
stops the conversion, named.

Example:
    python tools/model_converters/cotnet2mmctx.py cotnet50.pth.tar \\
        checkpoints/cotnet50_mmctx.pth
"""
from typing import Optional, Sequence

from mmctx.converters import cotnet
from mmctx.converters.common import Conversion, run_converter


def main(argv: Optional[Sequence[str]] = None) -> Conversion:
    """Run the converter on ``argv`` (``sys.argv[1:]`` when ``None``)."""
    return run_converter(argv, __doc__.splitlines()[0], tuple(cotnet.ARCHS),
                         cotnet.plan, cotnet.detect_arch, 'cotnet2mmctx')


if __name__ == '__main__':
    main()
