"""Print the parameter count of the model each config builds.

Example:
    python tools/analysis/count_params.py \
        configs/gcnet/mask-rcnn_r50-gcb-r16-c3-c5_fpn_1x_coco.py
    python tools/analysis/count_params.py configs/*/*.py
"""
import argparse

from mmctx.analysis.inference import build_model, load_config


def count(config: str) -> int:
    """Number of parameters of the model built from ``config``."""
    model = build_model(load_config(config))
    return sum(p.numel() for p in model.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+', help='config files')
    args = parser.parse_args()
    print('| config | parameters |\n|---|---|')
    for config in args.configs:
        print(f'| {config} | {count(config) / 1e6:.2f}M |')


if __name__ == '__main__':
    main()
