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
