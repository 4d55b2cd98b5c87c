"""Convert an official PatchConvNet checkpoint to an mmctx checkpoint.

Reads the files of facebookresearch/deit (``{'model': state_dict}`` or a
bare state dict).

Handles S60/S120/B60/B120/L120 at any resolution, 1k or 21k, and the
multi-class-token S60_multi. The output loads strictly into
``PatchConvNet(arch=..., out_indices=(2,))`` (stem and trunk; the pyramid
levels 0 and 1 of other ``out_indices`` are new and reported), so
``init_cfg=dict(type='Pretrained', checkpoint=DST)`` works; with
``--with-head`` it loads into ``ImageNetClassifier(PatchConvNet(...), D,
pool='attention', num_tokens=...)``. Every rule applied is printed; a key
that does not fit stops the conversion, named.

Example:
    python tools/model_converters/patchconvnet2mmctx.py S60.pth \\
        checkpoints/patchconvnet_s60_mmctx.pth
"""
from typing import Optional, Sequence

from mmctx.converters import patchconvnet
from mmctx.converters.common import Conversion, run_converter


def main(argv: Optional[Sequence[str]] = None) -> Conversion:
    return run_converter(argv, __doc__.splitlines()[0], patchconvnet.ARCHS,
                         patchconvnet.plan, patchconvnet.detect_arch,
                         'patchconvnet2mmctx')


if __name__ == '__main__':
    main()
