"""Parameters and FLOPs of the backbone presets beside the papers' figures.

Each preset is measured at 224x224 with a 1000-class classifier (global
pooling and a linear layer), as the papers report them; FLOPs count one
multiply-add as one (see mmctx.analysis.complexity for how the attention
and aggregation ops are counted).

Example:
    python tools/analysis/complexity.py
"""
import argparse

import torch

import mmctx  # noqa: F401  (registers modules)
from mmctx.analysis.complexity import ImageNetClassifier, count
from mmctx.registry import MODELS

#: (label, backbone config, paper parameters M, paper GFLOPs or None)
PRESETS = [
    ('ResNet-50', dict(type='mmdet.ResNet', depth=50), 25.56, 4.1),
    ('BoTNet-50', dict(type='BoTNet', depth=50, max_size=14), 20.8, None),
    ('CoTNet-50', dict(type='CoTNet', depth=50), 22.2, 3.3),
    ('CoTNeXt-50', dict(type='CoTNeXt', depth=50), 30.1, 4.3),
    ('CoTNet-101', dict(type='CoTNet', depth=101), 38.3, 6.1),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, default=224)
    args = parser.parse_args()
    x = torch.randn(1, 3, args.size, args.size)
    print(f'| backbone ({args.size}x{args.size}, 1000 classes) | params (M) '
          '| paper params (M) | GFLOPs | paper GFLOPs |\n|---|---|---|---|---|')
    for label, cfg, paper_params, paper_flops in PRESETS:
        model = ImageNetClassifier(MODELS.build(cfg), 2048)
        params, flops = count(model, (x, ))
        paper = '-' if paper_flops is None else f'{paper_flops}'
        print(f'| {label} | {params / 1e6:.2f} | {paper_params} | '
              f'{flops / 1e9:.2f} | {paper} |')


if __name__ == '__main__':
    main()
