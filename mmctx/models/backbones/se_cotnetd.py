"""SE-CoTNetD, the hybrid CoT/SE network of the CoTNet repository.

The official ``models/cotnet_hybrid.py`` (``se_cotnetd_50/101/152``) is a
ResNet-D-like network that differs from CoTNet-50/101 in every part:

- deep stem: three 3x3 convs (stride 2, then 1, 1; widths ``w, w, 2w`` with
  ``w`` = 32 for depth 50 and 64 for 101/152), BN and ReLU, and **no
  max-pool**: every stage, the first included, starts with a stride-2
  block, so the outputs are still at strides 4/8/16/32;
- average-pool shortcuts (ResNet-D): ``AvgPool 2x2 (ceil, padding not
  counted) -> 1x1 conv -> BN`` in the first block of each stage;
- ``conv2`` of each bottleneck is a CoT layer in every c5 block and in the
  even blocks (0, 2, 4, ...) of c4, and an :class:`SEConv` elsewhere
  (all of c2 and c3, odd blocks of c4): a 3x3 conv, BN and swish whose
  output is rescaled by an SE gate with BN and swish in its bottleneck
  (the official radix-1 split-attention conv). Swish appears only inside
  these mixers and the CoT layer; the stem and the bottlenecks keep ReLU;
- downsampling in the mixer: for depth 50/101 a stride-2 ``SEConv`` is a
  strided 3x3 conv and a stride-2 CoT layer average-pools (3x3, stride 2)
  before the layer; for depth 152 both run at stride 1 and are followed by
  an anti-aliasing blur pool (:class:`BlurPool2d`).

Built from :class:`CtxResNet` (mmdet's ResNet with ``deep_stem``,
``avg_down``, ``strides=(2, 2, 2, 2)`` and per-block mixers), without the
stem max-pool.

Official key -> mmctx key, as ``tools/model_converters/cotnet2mmctx.py``
applies it (rules in :mod:`mmctx.converters.cotnet`). Every key not listed
keeps its name: ``layerX.Y.conv1/bn1/conv3/bn3``, the shortcuts'
``layerX.Y.downsample.1/2`` (``downsample.0`` is the pool, no keys), the
SE convs' ``layerX.Y.conv2.conv/bn0/fc1/bn1/fc2`` and the CoT layers'
``layerX.Y.conv2.key_embed.*``/``conv2.embed.*``. The converted file
prefixes every backbone key with ``backbone.``, as mmpretrain's
``ImageClassifier`` names them; the classifier ``fc`` is not part of the
backbone and, kept with ``--with-head``, becomes ``head.fc``.

============================  ==================================
official                      mmctx
============================  ==================================
``conv1.{0,1,3,4,6}.*``       ``stem.{0,1,3,4,6}.*``
``bn1.*``                     ``stem.7.*``
``layerX.Y.conv2.conv1x1.*``  ``layerX.Y.conv2.value_embed.*``
``layerX.Y.conv2.bn.*``       ``layerX.Y.conv2.norm.*``
``layerX.Y.conv2.se.*``       ``layerX.Y.conv2.fuse.*``
============================  ==================================

Neither network holds state outside these keys (the blur filter is a
non-persistent buffer, the pools have none), so the map is one-to-one; with
a 1000-class classifier both have 23,107,784 (50), 40,912,392 (101) and
55,783,688 (152) parameters.
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from ...registry import MODELS
from ..attention.observer import AttentionSource
from ..checks import check_choice, check_positive_int
from ..mixers.cot import CoTLayer
from .ctx_resnet import CtxResNet


class BlurPool2d(nn.Module):
    """Anti-aliased stride-2 downsampling (Zhang, 2019), as the official
    SE-CoTNetD-152: reflection padding by one, a per-channel 3x3 binomial
    blur (``[1, 2, 1]`` outer ``[1, 2, 1]``, divided by 16), stride 2.

    The output is ``ceil(H/2) x ceil(W/2)``, the size of the stride-2
    average-pool shortcut. The filter is a non-persistent buffer: no
    parameters and no state-dict key, as the official layer.

    Args:
        channels: Channels of the input.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        check_positive_int('channels', channels)
        self.channels = channels
        taps = torch.tensor([1., 2., 1.])
        kernel = (taps[:, None] * taps[None, :]) / 16
        self.register_buffer(
            'kernel', kernel.expand(channels, 1, 3, 3).clone(),
            persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, ceil(H/2), ceil(W/2)); needs H, W >= 2."""
        if x.shape[-1] < 2 or x.shape[-2] < 2:
            raise ValueError(f'BlurPool2d needs a feature map of at least '
                             f'2x2 (reflection padding), got {tuple(x.shape)}')
        return F.conv2d(
            F.pad(x, (1, 1, 1, 1), mode='reflect'),
            self.kernel,
            stride=2,
            groups=self.channels)


@MODELS.register_module()
class SEConv(AttentionSource, BaseModule):
    """SE-CoTNetD's non-CoT mixer: ``swish(BN(3x3 conv(x)))`` rescaled by
    a squeeze-excitation gate ``sigmoid(fc2(swish(BN(fc1(mean(.))))))``.

    This is the official radix-1 split-attention conv: with one split the
    split-attention softmax becomes a sigmoid, i.e. an SE gate, here with
    BN and swish in its bottleneck (unlike SENet's ReLU, see
    :class:`~mmctx.models.plugins.SEBlock`). Submodule names follow the
    official ones (``conv``, ``bn0``, ``fc1``, ``bn1``, ``fc2``). The gates
    reach observers as ``'channel'`` maps. As the official layer, the
    gate's BN sees one pooled value per image, so training needs batches
    of 2 or more.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        stride: 1 or 2. Default: 1.
        anti_alias: Downsample (stride 2) with a :class:`BlurPool2d` after
            the gated output instead of a strided conv (SE-CoTNetD-152).
            Default: False.
        ratio: Gate width is ``max(in_channels // ratio, min_channels)``.
            Default: 4.
        min_channels: Smallest gate width. Default: 32.
        init_cfg: mmengine init config. Default: None.
    """

    #: BN and activation are inside: the host block drops its ``norm2``/ReLU.
    own_norm_act = True

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 anti_alias: bool = False,
                 ratio: int = 4,
                 min_channels: int = 32,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_positive_int('in_channels', in_channels)
        check_positive_int('out_channels', out_channels)
        check_choice('stride', stride, (1, 2))
        check_positive_int('ratio', ratio)
        check_positive_int('min_channels', min_channels)
        gate_channels = max(in_channels // ratio, min_channels)
        blur = anti_alias and stride == 2
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            3,
            stride=1 if blur else stride,
            padding=1,
            bias=False)
        self.bn0 = nn.BatchNorm2d(out_channels)
        self.fc1 = nn.Conv2d(out_channels, gate_channels, 1)
        self.bn1 = nn.BatchNorm2d(gate_channels)
        self.fc2 = nn.Conv2d(gate_channels, out_channels, 1)
        self.blur = BlurPool2d(out_channels) if blur else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_out, H', W')."""
        out = F.silu(self.bn0(self.conv(x)))
        squeezed = F.silu(self.bn1(self.fc1(out.mean((2, 3), keepdim=True))))
        gates = torch.sigmoid(self.fc2(squeezed))
        if self.observed:
            self.report_attention(gates.flatten(1), None, None, 'channel')
        out = out * gates
        return out if self.blur is None else self.blur(out)


@MODELS.register_module()
class AntiAliasedCoTLayer(CoTLayer):
    """A :class:`~mmctx.models.CoTLayer` that downsamples with a
    :class:`BlurPool2d` after the layer (SE-CoTNetD-152) instead of an
    average pool before it; the layer itself runs at stride 1. Same keys
    as ``CoTLayer``.

    Args:
        in_channels: Input channels (equal to ``out_channels``).
        out_channels: Output channels.
        stride: 1 or 2. Default: 1.
        kernel_size: Odd context window. Default: 3.
        init_cfg: mmengine init config. Default: None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 kernel_size: int = 3,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        check_choice('stride', stride, (1, 2))
        super().__init__(
            in_channels,
            out_channels,
            stride=1,
            kernel_size=kernel_size,
            init_cfg=init_cfg)
        self.blur = BlurPool2d(out_channels) if stride == 2 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H', W')."""
        out = super().forward(x)
        return out if self.blur is None else self.blur(out)


@MODELS.register_module()
class SECoTNetD(CtxResNet):
    """SE-CoTNetD backbone (official CoTNet repo, ``se_cotnetd_<depth>``).

    See the module docstring for the architecture and the official key
    layout. Outputs of the four stages have 256, 512, 1024 and 2048
    channels at strides 4, 8, 16 and 32, for any input size (odd and
    non-square included; depth 152 needs at least 2x2 before each blur
    pool, i.e. inputs of 17 pixels or more).

    Args:
        depth: 50, 101 or 152. Default: 50.
        in_channels: Image channels. Default: 3.
        out_indices: Stages whose outputs are returned. Default:
            ``(0, 1, 2, 3)``.
        frozen_stages: Stages to freeze (stem included; -1 freezes
            nothing): parameters, mixers included, stop training and their
            BNs stay in eval mode. Default: -1.
        norm_cfg: Norm of the stem, the bottlenecks' ``bn1``/``bn3`` and
            the shortcuts. The mixers' own BNs are plain BN, as
            :class:`~mmctx.models.CoTLayer`'s, so a SyncBN config syncs
            only those. Default: ``dict(type='BN', requires_grad=True)``.
        norm_eval: Keep every BN in eval mode while training. Default: True.
        with_cp: Gradient-checkpoint each block. Default: False.
        zero_init_residual: Zero-initialise each block's last BN (as the
            official ``zero_init_last_bn``) when no ``init_cfg`` is given.
            Default: True.
        init_cfg: mmengine init config, e.g. ``dict(type='Pretrained',
            checkpoint=...)`` with a checkpoint from
            ``tools/model_converters/cotnet2mmctx.py``. Default: None.
    """

    #: Stem output channels (twice the official ``stem_width``).
    stem_widths = {50: 64, 101: 128, 152: 128}

    def __init__(self,
                 depth: int = 50,
                 in_channels: int = 3,
                 *,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = True,
                 with_cp: bool = False,
                 zero_init_residual: bool = True,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        check_choice('depth', depth, tuple(self.stem_widths))
        anti_alias = depth == 152
        se = dict(type='SEConv', anti_alias=anti_alias)
        cot = dict(type='AntiAliasedCoTLayer' if anti_alias else 'CoTLayer')
        c2, c3, c4, c5 = self.arch_settings[depth][1]
        mixers = ([se] * c2, [se] * c3,
                  [cot if i % 2 == 0 else se for i in range(c4)], [cot] * c5)
        super().__init__(
            depth=depth,
            in_channels=in_channels,
            stem_channels=self.stem_widths[depth],
            base_channels=64,
            num_stages=4,
            strides=(2, 2, 2, 2),
            dilations=(1, 1, 1, 1),
            out_indices=out_indices,
            style='pytorch',
            deep_stem=True,
            avg_down=True,
            frozen_stages=frozen_stages,
            norm_cfg=norm_cfg,
            norm_eval=norm_eval,
            with_cp=with_cp,
            zero_init_residual=zero_init_residual,
            init_cfg=init_cfg,
            mixers=mixers)

    def _make_stem_layer(self, in_channels: int, stem_channels: int) -> None:
        """mmdet's deep stem without the max-pool (stage 1 downsamples)."""
        super()._make_stem_layer(in_channels, stem_channels)
        self.maxpool = nn.Identity()
