"""Plot scalars of mmengine runs (losses, learning rate, metrics) against
the iteration, one subplot per key and one line per run.

Reads the ``WORK_DIR/TIMESTAMP/vis_data/scalars.json`` that every mmengine
run writes; see mmctx.analysis.curves for how training and validation
lines are placed on the iteration axis.

Example:
    python tools/analysis/plot_curves.py \
        work_dirs/mask_rcnn_gc_r50_fpn_demo/*/vis_data/scalars.json \
        --keys loss coco/bbox_mAP --out curves.png
"""
import argparse
import os
from typing import Optional, Sequence, Tuple

from matplotlib.figure import Figure

from mmctx.analysis.curves import plot_curves, read_scalars, run_names


def parse_args(argv: Optional[Sequence[str]] = None
               ) -> Tuple[argparse.ArgumentParser, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'scalars', nargs='+', help="mmengine runs' vis_data/scalars.json")
    parser.add_argument(
        '--keys', nargs='+', default=['loss'],
        help='scalars to draw, one subplot each (default: loss)')
    parser.add_argument(
        '--out', default='curves.png', help='PNG file to write')
    return parser, parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Figure:
    parser, args = parse_args(argv)
    runs = {}
    for name, path in zip(run_names(args.scalars), args.scalars):
        if not os.path.isfile(path):
            parser.error(f'{path}: no such file')
        try:
            runs[name] = read_scalars(path)
        except ValueError as error:
            parser.error(str(error))
    try:
        fig = plot_curves(runs, args.keys)
    except KeyError as error:
        parser.error(f'--keys: {error.args[0]}')
    folder = os.path.dirname(args.out)
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig.savefig(args.out)
    print(args.out)
    return fig


if __name__ == '__main__':
    main()
