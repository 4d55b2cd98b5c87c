"""Shared test helpers: seeding, parameter randomisation, both attention
paths, and a workspace of tiny demo data for end-to-end tool runs."""
import os.path as osp
import subprocess
import sys

import pytest
import torch

import mmctx  # noqa: F401  (registers the modules)
from mmctx.datasets import write_ade_semantic, write_coco_instances

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHORT = ['default_hooks.logger.interval=1', 'log_processor.window_size=1']


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def randomize_(module: torch.nn.Module, std: float = 0.1) -> torch.nn.Module:
    """Fill every parameter with random values (breaks zero-inits)."""
    with torch.no_grad():
        for param in module.parameters():
            param.normal_(0, std)
    return module


@pytest.fixture(params=['explicit', 'fused', 'chunked'])
def attention_path(request, monkeypatch):
    """Run a test on each path of ``grid_attention``: explicit logits, the
    fused kernel on augmented vectors, and the chunked narrow-head function
    (small maps take the explicit path by default, so the others are
    forced here)."""
    from mmctx.models.attention import grid_attention
    if request.param != 'explicit':
        monkeypatch.setattr(grid_attention, 'EXPLICIT_LIMIT', 0)
    ratio = float('inf') if request.param == 'chunked' else 0.0
    monkeypatch.setattr(grid_attention, 'NARROW_HEAD_RATIO', ratio)
    return request.param


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """A folder holding tiny demo data where the demo configs look."""
    root = tmp_path_factory.mktemp('demo')
    tiny = dict(num_train=8, num_val=4, size=(128, 160), seed=3)
    write_coco_instances(str(root / 'data/demo/coco'), **tiny)
    write_ade_semantic(str(root / 'data/demo/ade'), **tiny)
    return root


def run_tool(cwd, *args: str, env=None) -> str:
    """Run a command in ``cwd``; fail with its output if it fails."""
    proc = subprocess.run(
        list(args), cwd=cwd, env=env, capture_output=True, text=True,
        timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    return output


def train(cwd, config, work_dir, iters, *extra):
    """Train ``config`` for ``iters`` steps with tools/train.py, saving a
    checkpoint every 2 steps; return the tool's output."""
    return run_tool(
        cwd, sys.executable, osp.join(ROOT, 'tools', 'train.py'), config,
        '--work-dir', str(work_dir), *extra, '--cfg-options',
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        'default_hooks.checkpoint.interval=2', *SHORT)
