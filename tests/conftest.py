"""Shared test helpers."""
import pytest
import torch

import mmctx  # noqa: F401  (registers the modules)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def randomize_(module: torch.nn.Module, std: float = 0.1) -> torch.nn.Module:
    """Fill every parameter with random values (breaks zero-inits)."""
    with torch.no_grad():
        for param in module.parameters():
            param.normal_(0, std)
    return module


@pytest.fixture(params=['fused', 'explicit'])
def attention_path(request, monkeypatch):
    """Run a test on both paths of ``grid_attention``: the fused kernel on
    augmented vectors and the explicit logits (small maps use the latter
    by default, so the fused path is forced here)."""
    from mmctx.models.attention import grid_attention
    limit = 0 if request.param == 'fused' else 1 << 62
    monkeypatch.setattr(grid_attention, 'EXPLICIT_LIMIT', limit)
    return request.param
