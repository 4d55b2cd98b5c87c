"""Draw the attention maps of a trained model's blocks over an image.

Runs IMAGE through the config's test pipeline and the model (mmdet or mmseg,
'tensor' mode: one forward over the whole image) and writes one PNG per
(block, head) into --out: global maps (GC, SNL, attention pooling), the rows
of the --query points (NL, MHSA, AA), a per-position summary of local
window weights (CoT) and a bar chart of channel gates (SE). See
mmctx.analysis.attention_vis for what each panel shows.

A config whose model is an mmpretrain ``ImageClassifier``
(configs/classification/, e.g. with a checkpoint converted ``--with-head``)
classifies the whole IMAGE resized to the config's ``input_size`` (else its
test ``CenterCrop`` size) instead, prints the chosen classes with their
probabilities, and draws the maps of its blocks and attention-pooling neck
(``neck``); with one class token per class (PatchConvNet S60_multi) one
panel per chosen class: --classes, or the --top-k best-scoring classes.

Examples:
    python tools/analysis/vis_attention.py \
        configs/botnet/mask-rcnn_bot50_fpn_1x_coco.py CHECKPOINT demo.jpg \
        --layer backbone.layer4.0.conv2 --query 320,200 --out vis/
    python tools/analysis/vis_attention.py \
        configs/classification/patchconvnet-s60-multi_32xb64_in1k.py \
        CHECKPOINT demo.jpg --layer neck --top-k 3 --out vis/
"""
import argparse
import os
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

import mmctx  # noqa: F401  (registers modules, safe checkpoint loading)
from mmctx.analysis.attention_vis import InputGeometry, render
from mmctx.analysis.inference import (build_model, classifier_input_hw,
                                      classify, forward_tensor, image_batch,
                                      is_classifier, load_config)
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


def report_classes(model: torch.nn.Module, image: np.ndarray,
                   input_hw: Tuple[int, int], classes: Optional[List[int]],
                   top_k: int) -> Tuple[InputGeometry, List[int]]:
    """Classify an image with an ``ImageClassifier`` and print classes.

    Args:
        model: The classifier (observers already attached).
        image: (H, W, 3) BGR uint8 image.
        input_hw: Input size the whole image is resized to.
        classes: Classes to report, or ``None`` for the ``top_k`` best.
        top_k: How many classes to report when ``classes`` is ``None``.

    Returns:
        The input geometry and the reported classes (printed with their
        probabilities).
    """
    scores = classify(model, image, input_hw)
    if classes is None:
        classes = scores.topk(min(top_k, len(scores))).indices.tolist()
    for cls in classes:
        print(f'class {cls}: probability {scores[cls].item():.4f}')
    return InputGeometry(image.shape[:2], input_hw, input_hw), classes


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
        'classes of an ImageClassifier, every token otherwise)')
    parser.add_argument(
        '--top-k', type=int, default=5,
        help='classes an ImageClassifier reports and draws when '
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
    if args.top_k < 1:
        parser.error(f'--top-k must be >= 1, got {args.top_k}')
    bgr = cv2.imread(args.image)
    if bgr is None:
        parser.error(f'IMAGE {args.image!r} cannot be read as an image')
    image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
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
    classifier = is_classifier(model)
    num_classes = getattr(model.head, 'num_classes', None) \
        if classifier else None
    if num_classes is not None and tokens is not None:
        unknown = [c for c in tokens if not 0 <= c < num_classes]
        if unknown:
            parser.error(f'--classes: no class {unknown}; the classifier has '
                         f'{num_classes} classes')
    with capture_attention(model, layers) as maps:
        if classifier:
            geometry, tokens = report_classes(model, bgr,
                                              classifier_input_hw(cfg),
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
