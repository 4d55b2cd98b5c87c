"""Write the demo data sets used by configs/demo/.

- coco: COCO-format instances (data/demo/coco), for the detection demos;
- ade: ADE20k-layout semantic maps (data/demo/ade), for the segmentation
  demos;
- imagenet: one shape per image in mmpretrain's ImageNet layout
  (data/demo/imagenet), for the classification demo.

``--num-train``, ``--num-val`` and ``--size`` apply to every set written;
left out, each set takes its own default (imagenet: 6000 + 200 images at
48x48; coco/ade: 1000 + 40 at 160x160).

Example:
    python tools/make_demo_data.py --out data/demo
    python tools/make_demo_data.py --sets imagenet --num-train 100
"""
import argparse
import time

from mmctx.datasets import (write_ade_semantic, write_coco_instances,
                            write_imagenet_folders)

#: Per-set defaults of --num-train, --num-val and --size.
DEFAULTS = dict(
    coco=dict(num_train=1000, num_val=40, size=(160, 160)),
    ade=dict(num_train=1000, num_val=40, size=(160, 160)),
    imagenet=dict(num_train=6000, num_val=200, size=(48, 48)))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/demo', help='output folder')
    parser.add_argument(
        '--num-train', type=int,
        help='training images (default: per set, see above)')
    parser.add_argument(
        '--num-val', type=int,
        help='validation images (default: per set)')
    parser.add_argument(
        '--size', type=int, nargs=2, metavar=('H', 'W'),
        help='image height and width (default: per set)')
    parser.add_argument(
        '--max-objects', type=int, default=5,
        help='most objects per image (coco, ade)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--sets', nargs='+', choices=tuple(DEFAULTS),
        default=('coco', 'ade'),
        help='which sets to write (default: coco ade)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.time()
    given = dict(num_train=args.num_train, num_val=args.num_val,
                 size=None if args.size is None else tuple(args.size))
    for name in args.sets:
        kwargs = dict(DEFAULTS[name], seed=args.seed)
        kwargs.update((k, v) for k, v in given.items() if v is not None)
        if name == 'coco':
            coco = write_coco_instances(f'{args.out}/coco',
                                        max_objects=args.max_objects,
                                        **kwargs)
            print(f'COCO-format instances: {coco}')
        elif name == 'ade':
            ade = write_ade_semantic(f'{args.out}/ade',
                                     max_objects=args.max_objects, **kwargs)
            print(f'ADE20k-layout semantic maps: {ade}')
        else:
            imagenet = write_imagenet_folders(f'{args.out}/imagenet',
                                              **kwargs)
            print(f'ImageNet-layout classification set: {imagenet}')
    print(f'written in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
