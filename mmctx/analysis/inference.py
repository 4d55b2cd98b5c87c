"""Load a config and checkpoint and run images through the model, for the
analysis tools (mmdet, mmseg and mmpretrain configs alike:
``default_scope`` decides).

The model runs in ``'tensor'`` mode: the data preprocessor, then one
forward of backbone, neck and heads on the whole (resized, padded) input,
as mmdet's and mmseg's ``get_flops`` tools do. Every attention block thus
runs once per image and sees the whole image. An mmpretrain
``ImageClassifier`` sees the whole image resized to its input size
(:func:`classify`), not the centre crop of its test pipeline.
"""
import copy
from typing import Any, Dict, Iterator, List, Optional, Tuple

import cv2
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner, load_checkpoint
from mmpretrain.models import ImageClassifier
from torch import nn

from ..launch import read_config


def load_config(path: str,
                cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """Read a config (:func:`mmctx.launch.read_config`) and enter its scope.

    Args:
        path: Config file.
        cfg_options: Overrides, as parsed by mmengine's ``DictAction``.

    Returns:
        The config.
    """
    cfg = read_config(path, cfg_options)
    init_default_scope(cfg.default_scope)
    return cfg


def build_model(cfg: Config, checkpoint: Optional[str] = None) -> nn.Module:
    """Build ``cfg.model`` on the CPU in eval mode, with SyncBN reverted.

    A top-level ``data_preprocessor`` (mmpretrain's configs) goes into the
    model when it has none, as mmengine's ``Runner`` does.

    Args:
        cfg: Config from :func:`load_config`.
        checkpoint: Weights to load (mmengine's loader, so local files go
            through mmctx's safe loader); ``None`` keeps the weights the
            modules are constructed with (no ``init_weights``, which could
            fetch pretrained weights).

    Returns:
        The model.
    """
    init_default_scope(cfg.default_scope)
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor',
                             copy.deepcopy(cfg.data_preprocessor))
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu')
    return model.eval()


def test_pipeline(cfg: Config) -> Compose:
    """The test pipeline of ``cfg`` without its annotation loading."""
    steps = [
        step for step in copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
        if 'Annotations' not in step['type']
    ]
    return Compose(steps)


def image_batch(cfg: Config, path: str) -> Dict[str, List[Any]]:
    """One image file through the test pipeline, as a batch of one.

    Args:
        cfg: Config whose test pipeline is used.
        path: Image file.

    Returns:
        A batch for the model's data preprocessor.
    """
    return pseudo_collate([test_pipeline(cfg)(dict(img_path=path, img_id=0))])


def val_batches(cfg: Config, num_images: int) -> Iterator[Dict[str, Any]]:
    """The first ``num_images`` images of the validation set, one per batch.

    Batches of one keep each image free of the padding a larger batch adds
    to fit its largest image.

    Args:
        cfg: Config with a ``val_dataloader``.
        num_images: How many images to yield.

    Yields:
        Batches for the model's data preprocessor.
    """
    if num_images < 1:
        raise ValueError(f'num_images must be >= 1, got {num_images}')
    loader_cfg = copy.deepcopy(cfg.val_dataloader)
    loader_cfg.batch_size = 1
    for index, batch in enumerate(Runner.build_dataloader(loader_cfg)):
        if index == num_images:
            return
        yield batch


def forward_tensor(model: nn.Module,
                   batch: Dict[str, Any]) -> Tuple[torch.Tensor, List[Any]]:
    """Preprocess ``batch`` and run the model in ``'tensor'`` mode.

    Args:
        model: An mmdet detector or mmseg segmentor.
        batch: Output of :func:`image_batch` or a dataloader.

    Returns:
        The network input (N, 3, H, W) and the data samples.
    """
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        model(data['inputs'], data['data_samples'], mode='tensor')
    return data['inputs'], data['data_samples']


def is_classifier(model: nn.Module) -> bool:
    """Whether ``model`` is an mmpretrain ``ImageClassifier``."""
    return isinstance(model, ImageClassifier)


def classifier_input_hw(cfg: Config) -> Tuple[int, int]:
    """The (height, width) a classifier config's images are fed at.

    Args:
        cfg: An mmpretrain config.

    Returns:
        ``input_size`` when the config sets it (an int or (h, w)), else
        the ``crop_size`` of the test pipeline's ``CenterCrop`` (mmpretrain
        writes it as an int or (w, h)), else 224 x 224.
    """
    size = cfg.get('input_size')
    if size is not None:
        return (size, size) if isinstance(size, int) else tuple(size)
    dataset = (cfg.get('test_dataloader') or {}).get('dataset', {})
    for step in dataset.get('pipeline', []):
        if step['type'] == 'CenterCrop':
            crop = step['crop_size']
            return (crop, crop) if isinstance(crop, int) else (crop[1],
                                                               crop[0])
    return 224, 224


def classify(model: nn.Module, image: np.ndarray,
             input_hw: Tuple[int, int]) -> torch.Tensor:
    """Class probabilities of an ``ImageClassifier`` for one image.

    The whole image is resized (bicubic) to ``input_hw`` and goes through
    the model's data preprocessor (normalisation, BGR to RGB as
    configured) and one ``'tensor'`` forward.

    Args:
        model: The classifier, from :func:`build_model`.
        image: (H, W, 3) uint8 image in BGR order, as mmcv and OpenCV load
            it.
        input_hw: Input size, e.g. from :func:`classifier_input_hw`.

    Returns:
        (num_classes,) softmax of the logits.

    Raises:
        ValueError: If ``image`` is not an (H, W, 3) array.
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'expected an (H, W, 3) image, got shape '
                         f'{image.shape}')
    resized = cv2.resize(image, input_hw[::-1], interpolation=cv2.INTER_CUBIC)
    inputs = torch.from_numpy(np.ascontiguousarray(resized)).permute(2, 0, 1)
    with torch.no_grad():
        data = model.data_preprocessor(dict(inputs=[inputs]), False)
        logits = model(data['inputs'], mode='tensor')
    return logits[0].softmax(-1)
