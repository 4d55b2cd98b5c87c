"""Draw the attention maps of a trained model's blocks over an image.

Runs IMAGE through the config's test pipeline and the model (mmdet or mmseg,
'tensor' mode: one forward over the whole image) and writes one PNG per
(block, head) into --out: global maps (GC, SNL, attention pooling), the rows
of the --query points (NL, MHSA, AA), a per-position summary of local
window weights (CoT) and a bar chart of channel gates (SE). See
mmctx.analysis.attention_vis for what each panel shows.

A config whose model is an ``ImageNetClassifier`` (configs/imagenet/, with a
checkpoint converted ``--with-head``) classifies IMAGE resized to
``input_size`` instead, prints the top classes, and draws the attention
pool's map; with one class token per class (PatchConvNet S60_multi) one
panel per chosen class: --classes, or the --top-k best-scoring classes.

Example:
    python tools/analysis/vis_attention.py configs/botnet/mask-rcnn_bot50_fpn_1x_coco.py \
        CHECKPOINT demo.jpg --layer backbone.layer4.0.conv2 \
        --query 320,200 --out vis/
"""
import argparse
import os
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

import mmctx  # noqa: F401  (registers modules, safe checkpoint loading)
from mmctx.analysis.attention_vis import InputGeometry, render
from mmctx.analysis.complexity import ImageNetClassifier
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


def parse_classes(text: str) -> List[int]:
    """Parse ``'C1,C2,...'`` (class indices) for ``--classes``."""
    try:
        return [int(v) for v in text.split(',')]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'--classes takes class indices C1,C2,..., got {text!r}') from None


#: ImageNet mean and standard deviation of RGB values in [0, 1].
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def classify(model: ImageNetClassifier, image: np.ndarray, size: int,
             classes: Optional[List[int]],
             top_k: int) -> Tuple[InputGeometry, List[int]]:
    """Run a classifier on an RGB image resized to ``size`` x ``size``.

    Args:
        model: The classifier (observers already attached).
        image: (H, W, 3) RGB uint8 image.
        size: Input side.
        classes: Classes to report, or ``None`` for the ``top_k`` best.
        top_k: How many classes to report when ``classes`` is ``None``.

    Returns:
        The input geometry and the reported classes (printed with their
        probabilities).
    """
    resized = cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC)
    x = (torch.from_numpy(resized).float() / 255 -
         torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    with torch.no_grad():
        scores = model(x.permute(2, 0, 1)[None])[0].softmax(-1)
    if classes is None:
        classes = scores.topk(min(top_k, len(scores))).indices.tolist()
    for cls in classes:
        print(f'class {cls}: probability {scores[cls].item():.4f}')
    return InputGeometry(image.shape[:2], (size, size), (size, size)), classes


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
    parser.add_argument(
        '--classes', type=parse_classes,
        help='class indices C1,C2,... whose class-token maps to draw '
        '(multi-class-token pooling; default: the --top-k best-scoring '
        'classes of an ImageNetClassifier, every token otherwise)')
    parser.add_argument(
        '--top-k', type=int, default=5,
        help='classes an ImageNetClassifier reports and draws when '
        '--classes is not given (default: 5)')
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

    tokens = args.classes
    if isinstance(model, ImageNetClassifier) and tokens is not None:
        unknown = [c for c in tokens if not 0 <= c < model.fc.out_features]
        if unknown:
            parser.error(f'--classes: no class {unknown}; the classifier has '
                         f'{model.fc.out_features} classes')
    with capture_attention(model, layers) as maps:
        if isinstance(model, ImageNetClassifier):
            geometry, tokens = classify(model, image,
                                        cfg.get('input_size', 224),
                                        args.classes, args.top_k)
        else:
            inputs, samples = forward_tensor(model,
                                             image_batch(cfg, args.image))
            geometry = InputGeometry.from_sample(samples[0],
                                                 inputs.shape[-2:])
    os.makedirs(args.out, exist_ok=True)
    paths = []
    for layer in layers:
        if not maps[layer]:
            print(f'note: {layer} reported no attention map, skipped')
            continue
        paths += render(layer, maps[layer][0], image, geometry, queries,
                        args.out, tokens=tokens)
    print('\n'.join(paths))
    return paths


if __name__ == '__main__':
    main()
