"""Write the demo data sets used by configs/demo/.

Example:
    python tools/make_demo_data.py --out data/demo
"""
import argparse
import time

from mmctx.datasets import write_ade_semantic, write_coco_instances


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/demo', help='output folder')
    parser.add_argument('--num-train', type=int, default=1000)
    parser.add_argument('--num-val', type=int, default=40)
    parser.add_argument(
        '--size', type=int, nargs=2, default=(160, 160),
        metavar=('H', 'W'), help='image height and width')
    parser.add_argument('--max-objects', type=int, default=5)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--sets', nargs='+', choices=('coco', 'ade'), default=('coco', 'ade'),
        help='which sets to write (default: both)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.time()
    common = dict(num_train=args.num_train, num_val=args.num_val,
                  size=tuple(args.size), max_objects=args.max_objects,
                  seed=args.seed)
    if 'coco' in args.sets:
        coco = write_coco_instances(f'{args.out}/coco', **common)
        print(f'COCO-format instances: {coco}')
    if 'ade' in args.sets:
        ade = write_ade_semantic(f'{args.out}/ade', **common)
        print(f'ADE20k-layout semantic maps: {ade}')
    print(f'written in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
