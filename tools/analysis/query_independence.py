"""GCNet's Table 1 statistics for the non-local style blocks of a model.

For every block reporting 'spatial' attention (NL, SNL, GC, MHSA, AA, ...):
the mean cosine distance (1 - cos)/2 over pairs of distinct positions of its
input, of its output before the residual add and of its attention rows, over
the first N images of the config's validation set (see
mmctx.analysis.query_independence for the exact definitions). Prints a
markdown table and writes a CSV.

Example:
    python tools/analysis/query_independence.py \
        configs/gcnet/mask-rcnn_r50-nl-c4_fpn_1x_coco.py CHECKPOINT \
        --num-images 20
"""
import argparse
import csv
import os
import os.path as osp
from typing import List, Optional, Sequence


import mmctx  # noqa: F401  (registers modules, safe checkpoint loading)
from mmctx.analysis.inference import (build_model, forward_tensor,
                                      load_config, val_batches)
from mmctx.analysis.query_independence import (BlockDistances,
                                               markdown_table, measure)
from mmctx.compat import trust_checkpoints
from mmctx.launch import add_config_args

CSV_COLUMNS = ('block', 'type', 'input_distance', 'output_distance',
               'attention_distance', 'images')


def write_csv(path: str, rows: List[BlockDistances]) -> None:
    """Write one CSV line per block.

    Args:
        path: Output file (its folder is created).
        rows: Measured blocks.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for r in rows:
            writer.writerow((r.name, r.type, f'{r.input:.6f}',
                             f'{r.output:.6f}', f'{r.attention:.6f}',
                             r.images))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--num-images', type=int, default=10,
        help='validation images to average over (default: 10)')
    parser.add_argument(
        '--out', default='query_independence.csv',
        help='CSV file to write (default: query_independence.csv)')
    add_config_args(parser)
    args = parser.parse_args(argv)
    if args.num_images < 1:
        parser.error(f'--num-images must be >= 1, got {args.num_images}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if args.trust_checkpoint:
        trust_checkpoints()
    cfg = load_config(args.config, args.cfg_options)
    model = build_model(cfg, args.checkpoint)
    rows, notes = measure(model, val_batches(cfg, args.num_images),
                          forward_tensor)
    print(markdown_table(rows))
    for note in notes:
        print(f'note: {note}')
    write_csv(args.out, rows)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
