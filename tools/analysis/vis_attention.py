"""Draw the attention maps of a trained model's blocks over an image.

Runs IMAGE through the config's test pipeline and the model (mmdet or mmseg,
'tensor' mode: one forward over the whole image) and writes one PNG per
(block, head) into --out: global maps (GC, SNL, attention pooling), the rows
of the --query points (NL, MHSA, AA), a per-position summary of local
window weights (CoT) and a bar chart of channel gates (SE). See
mmctx.analysis.attention_vis for what each panel shows.

Example:
    python tools/analysis/vis_attention.py configs/mask_rcnn_bot_r50_fpn.py \
        CHECKPOINT demo.jpg --layer backbone.layer4.0.conv2 \
        --query 320,200 --out vis/
"""
import argparse
import os
from typing import List, Optional, Sequence, Tuple

import cv2

import mmctx  # noqa: F401  (registers modules, safe checkpoint loading)
from mmctx.analysis.attention_vis import InputGeometry, render
from mmctx.analysis.inference import (build_model, forward_tensor,
                                      image_batch, load_config)
from mmctx.compat import trust_checkpoints
from mmctx.launch import add_config_args
from mmctx.models.attention import attention_sources, capture_attention


def parse_point(text: str) -> Tuple[float, float]:
    """Parse ``'X,Y'`` (image pixels) for ``--query``."""
    try:
        x, y = (float(v) for v in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'--query takes X,Y in image pixels, got {text!r}') from None
    return x, y


def parse_args(argv: Optional[Sequence[str]] = None
               ) -> Tuple[argparse.ArgumentParser, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('image', help='image file')
    parser.add_argument(
        '--layer', action='append',
        help='qualified name of a block to draw (repeatable; default: all)')
    parser.add_argument(
        '--query', action='append', type=parse_point,
        help='query point X,Y in image pixels for maps with a row per '
        'query position (repeatable; default: the image centre)')
    parser.add_argument('--out', required=True, help='folder for the PNGs')
    add_config_args(parser)
    return parser, parser.parse_args(argv)


def check_queries(parser: argparse.ArgumentParser,
                  queries: List[Tuple[float, float]],
                  image_hw: Tuple[int, int]) -> None:
    """Exit with a usage error for a query point outside the image."""
    height, width = image_hw
    for x, y in queries:
        if not (0 <= x < width and 0 <= y < height):
            parser.error(f'--query {x:g},{y:g} lies outside the '
                         f'{width}x{height} image')


def main(argv: Optional[Sequence[str]] = None) -> List[str]:
    parser, args = parse_args(argv)
    if args.trust_checkpoint:
        trust_checkpoints()
    image = cv2.imread(args.image)
    if image is None:
        parser.error(f'IMAGE {args.image!r} cannot be read as an image')
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    queries = args.query or [(image.shape[1] / 2, image.shape[0] / 2)]
    check_queries(parser, queries, image.shape[:2])

    cfg = load_config(args.config, args.cfg_options)
    model = build_model(cfg, args.checkpoint)
    available = list(attention_sources(model))
    if not available:
        parser.error(f'{args.config}: the model has no attention block')
    layers = args.layer or available
    unknown = [name for name in layers if name not in available]
    if unknown:
        parser.error(f'--layer: no attention block named '
                     f'{", ".join(unknown)}; available:\n  ' +
                     '\n  '.join(available))

    with capture_attention(model, layers) as maps:
        inputs, samples = forward_tensor(model, image_batch(cfg, args.image))
    geometry = InputGeometry.from_sample(samples[0], inputs.shape[-2:])
    os.makedirs(args.out, exist_ok=True)
    paths = []
    for layer in layers:
        if not maps[layer]:
            print(f'note: {layer} reported no attention map, skipped')
            continue
        paths += render(layer, maps[layer][0], image, geometry, queries,
                        args.out)
    print('\n'.join(paths))
    return paths


if __name__ == '__main__':
    main()
