"""Parameters and FLOPs of a full detector, segmentor or classifier config.

What is counted follows mmdet's and mmseg's ``tools/analysis_tools/
get_flops.py``: the data preprocessor prepares one image, then the model's
``'tensor'`` mode forward runs on it and mmengine's ``FlopAnalyzer`` (with
mmctx's handles for the attention and aggregation ops, see
:mod:`mmctx.analysis.complexity`) counts it.

- mmdet: backbone, neck and heads; a two-stage detector's RoI heads run on
  the RPN's proposals of the image (up to its test ``max_per_img``, 1000 for
  Mask R-CNN), the mask head on the first 100 as mmdet's tensor mode does.
  The image is random, so the proposal count is that of an untrained RPN
  on noise: RoI-head FLOPs are indicative. The input is padded to the data
  preprocessor's size divisor (800x1333 becomes 800x1344).
- mmseg: backbone and decode head; the auxiliary head (training only) is
  removed, from the parameters too, as mmseg's tool does.

- mmpretrain: the ``ImageClassifier``'s ``'tensor'`` mode forward
  (backbone, neck, head: the class scores) on one normalised image at the
  config's test input size, as mmpretrain's ``get_flops`` tool counts it
  (see :func:`mmctx.analysis.inference.classifier_input_hw`).

Parameters are those of the whole model as built (minus mmseg's auxiliary
head). The backbone is also counted alone on the same input: its share does
not depend on proposal counts and is where the attention blocks differ.
One multiply-add counts as one FLOP.
"""
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

import torch
from mmengine.config import Config
from mmdet.structures import DetDataSample
from mmengine.structures import BaseDataElement
from mmseg.structures import SegDataSample
from torch import nn

from .complexity import count
from .inference import build_model, classifier_input_hw

#: Data-sample class of each scope.
_SAMPLES = {'mmdet': DetDataSample, 'mmseg': SegDataSample}


class TensorModeForward(nn.Module):
    """``model(inputs, data_samples, mode='tensor')`` as a one-input module,
    for the jit tracer.

    Args:
        model: An mmdet detector, mmseg segmentor or mmpretrain classifier.
        data_samples: Samples matching the inputs (``None`` for a
            classifier).
    """

    def __init__(self, model: nn.Module,
                 data_samples: Optional[List[Any]]) -> None:
        super().__init__()
        self.model = model
        self.data_samples = data_samples

    def forward(self, inputs: torch.Tensor) -> Any:
        """Run the tensor-mode forward on ``inputs``."""
        return self.model(inputs, self.data_samples, mode='tensor')


def _data_sample(scope: str, hw: Tuple[int, int]) -> BaseDataElement:
    return _SAMPLES[scope](
        metainfo=dict(
            img_id=0, ori_shape=hw, img_shape=hw, scale_factor=(1.0, 1.0)))


@dataclass
class Complexity:
    """Counts of a model and of its backbone alone.

    Args:
        params: Parameters of the model.
        flops: FLOPs of its tensor-mode forward.
        backbone_params: Parameters of the backbone.
        backbone_flops: FLOPs of the backbone on the same input.
    """

    params: int
    flops: int
    backbone_params: int
    backbone_flops: int


def classifier_complexity(cfg: Config,
                          hw: Optional[Tuple[int, int]] = None,
                          seed: int = 0) -> Complexity:
    """Parameters and FLOPs of an mmpretrain ``ImageClassifier`` config.

    Args:
        cfg: Config from :func:`mmctx.analysis.inference.load_config`,
            with ``default_scope='mmpretrain'``.
        hw: Input (height, width); default: the config's test input size
            (:func:`mmctx.analysis.inference.classifier_input_hw`).
        seed: Seed of the construction weights and the random image.

    Returns:
        The counts of the model (class scores) and of its backbone.

    Raises:
        ValueError: If the config's ``default_scope`` is not mmpretrain.
    """
    if cfg.get('default_scope') != 'mmpretrain':
        raise ValueError(f'classifier_complexity needs a config with '
                         f"default_scope='mmpretrain', got default_scope="
                         f"{cfg.get('default_scope')!r}")
    hw = tuple(hw) if hw is not None else classifier_input_hw(cfg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(cfg)
        image = torch.randn((1, 3) + hw)
    params, flops = count(TensorModeForward(model, None), (image, ))
    return Complexity(params, flops, *count(model.backbone, (image, )))


def config_complexity(cfg: Config, hw: Tuple[int, int],
                      seed: int = 0) -> Complexity:
    """Parameters and FLOPs of ``cfg.model`` on one random ``hw`` image.

    Args:
        cfg: Config from :func:`mmctx.analysis.inference.load_config`.
        hw: Image size (height, width) before the preprocessor's padding
            (mmdet, mmseg) or the classifier's input size (mmpretrain).
        seed: Seed of the construction weights and the random image (the
            RPN's proposals, hence RoI-head FLOPs, depend on both).

    Returns:
        The counts of the model and of its backbone.
    """
    if cfg.get('default_scope') == 'mmpretrain':
        return classifier_complexity(cfg, hw, seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(cfg)
        image = torch.rand((3, ) + tuple(hw)) * 255
    if getattr(model, 'auxiliary_head', None) is not None:
        model.auxiliary_head = None
    batch = dict(
        inputs=[image],
        data_samples=[_data_sample(cfg.default_scope, tuple(hw))])
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
    params, flops = count(
        TensorModeForward(model, data['data_samples']), (data['inputs'], ))
    return Complexity(params, flops,
                      *count(model.backbone, (data['inputs'], )))
