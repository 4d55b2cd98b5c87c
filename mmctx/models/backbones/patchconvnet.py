"""PatchConvNet (Touvron et al., 2021): a columnar convnet, with a simple
feature pyramid for dense prediction.

The network as in the official code (facebookresearch/deit,
``patchconvnet_models.py``):

- stem: four 3x3 stride-2 convs without bias, ``3 -> D/8 -> D/4 -> D/2 ->
  D``, GELU between them (none after the last): stride 16;
- trunk: ``depth`` residual blocks at constant resolution,
  ``x + drop_path(gamma * f(LN(x)))`` with ``f = 1x1 conv, GELU, 3x3
  depthwise conv, GELU, squeeze-excite (C -> C/4 -> C, ReLU, sigmoid), 1x1
  conv`` (all convs with bias), LayerNorm over channels (eps 1e-6) and a
  per-channel layer scale ``gamma``; every block has the same drop-path
  rate (the official ``dpr_constant``);
- the ImageNet classifier is :class:`..pooling.AttentionPool` and a linear
  layer on the trunk output.

For detection and segmentation the stride-16 trunk output feeds a simple
feature pyramid (as XCiT's and BEiT's dense-prediction backbones), one
branch per level, built only for the levels in ``out_indices``:

- level 0, stride 4: 2x2 stride-2 transposed conv, LN, GELU, 2x2 stride-2
  transposed conv;
- level 1, stride 8: 2x2 stride-2 transposed conv;
- level 2, stride 16: the trunk output itself;
- level 3, stride 32: 2x2 max pooling, rounding up (an odd trunk grid
  gives ``ceil(H / 32)`` rows, as ResNet's last stage).

All levels have ``D`` channels (:attr:`PatchConvNet.out_channels`). The
pyramid normalises with LayerNorm, not BatchNorm as XCiT, so the backbone
has no batch statistics (no ``norm_eval``) and behaves the same at any
batch size. ``PatchConvNet(arch='S60', out_indices=(2,))`` holds exactly the
official stem and trunk.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmcv.cnn.bricks import DropPath
from mmcv.cnn.bricks.scale import LayerScale
from mmengine.model import BaseModule
from torch import nn
from torch.utils.checkpoint import checkpoint

from ...registry import MODELS
from ..checks import check_positive_int
from ..plugins.se_block import SEBlock

STRIDE = 16
NUM_LEVELS = 4
TRUNK_LEVEL = 2  # the level at the trunk's stride
TRUNK_STAGES = 4  # equal parts of the trunk that frozen_stages counts
ARCH_KEYS = {'embed_dims', 'depth', 'layer_scale_init'}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a (N, C, H, W) map, at each position.

    Args:
        channels: Number of channels ``C``.
        eps: Added to the variance. Default: 1e-6.
    """

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` (N, C, H, W) over C."""
        # on a channels-last map both permutes are views, not copies
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias,
                         self.eps)
        return x.permute(0, 3, 1, 2)


class PatchConvBlock(BaseModule):
    """One residual trunk block of PatchConvNet.

    Args:
        channels: Channels ``C`` of the block's input and output.
        layer_scale_init: Initial value of the layer scale ``gamma``.
        drop_path_rate: Probability of dropping the residual branch of a
            sample in training. Default: 0.
        init_cfg: mmengine init config. Default: None.
    """

    def __init__(self,
                 channels: int,
                 layer_scale_init: float,
                 drop_path_rate: float = 0.,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.norm = LayerNorm2d(channels)
        self.conv1 = nn.Conv2d(channels, channels, 1)
        self.dwconv = nn.Conv2d(
            channels, channels, 3, padding=1, groups=channels)
        self.se = SEBlock(channels, ratio=4)
        self.conv2 = nn.Conv2d(channels, channels, 1)
        self.gamma = LayerScale(
            channels, data_format='channels_first', scale=layer_scale_init)
        self.drop_path = DropPath(drop_path_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        out = F.gelu(self.conv1(self.norm(x)))
        out = self.se(F.gelu(self.dwconv(out)))
        return x + self.drop_path(self.gamma(self.conv2(out)))


@MODELS.register_module()
class PatchConvNet(BaseModule):
    """PatchConvNet backbone with a simple feature pyramid.

    Args:
        arch: ``'S60'``, ``'S120'``, ``'B60'``, ``'B120'`` or ``'L120'``
            (the paper's models), or a dict with ``embed_dims`` (a multiple
            of 8), ``depth`` and optionally ``layer_scale_init`` (1e-6 when
            absent, as every official model but S60). Default: ``'S60'``.
        out_indices: Pyramid levels to return, level ``i`` at stride
            ``4 * 2**i`` (see the module docstring); level 2 is the trunk
            output. Branches of other levels are not built; maps come in
            increasing level order. Default: (0, 1, 2, 3).
        drop_path_rate: Drop-path rate of every trunk block (the official
            code uses one rate for all blocks). Default: 0.
        layer_scale_init: Initial layer scale of the trunk blocks; ``None``
            takes the arch's value (1e-4 for S60, 1e-6 for the others, as
            the official code). Default: None.
        frozen_stages: Parts kept frozen (no gradients, eval mode): -1
            none, 0 the stem, ``k`` in 1..4 the stem and the first
            ``k * depth // 4`` trunk blocks (the trunk counts as four equal
            stages; 4 freezes it all). The pyramid branches are never
            frozen. Default: -1.
        with_cp: Gradient-checkpoint each trunk block in training
            (non-reentrant), trading compute for memory. Default: False.
        init_cfg: mmengine init config, e.g. a ``Pretrained`` checkpoint.
            Default: None (PyTorch's default init of the trunk's and
            pyramid's convs, as the official code; the stem's and the
            squeeze-excite's ConvModules use mmcv's Kaiming init, where the
            official code keeps PyTorch's default).
    """

    #: name -> (embed_dims, depth, layer_scale_init)
    arch_settings: Dict[str, Tuple[int, int, float]] = {
        'S60': (384, 60, 1e-4),
        'S120': (384, 120, 1e-6),
        'B60': (768, 60, 1e-6),
        'B120': (768, 120, 1e-6),
        'L120': (1024, 120, 1e-6),
    }

    def __init__(self,
                 arch: Union[str, dict] = 'S60',
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 drop_path_rate: float = 0.,
                 layer_scale_init: Optional[float] = None,
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        embed_dims, depth, default_scale = self._parse_arch(arch)
        if layer_scale_init is None:
            layer_scale_init = default_scale
        if isinstance(layer_scale_init, bool) or not isinstance(
                layer_scale_init, (int, float)) or layer_scale_init <= 0:
            raise ValueError('layer_scale_init must be a positive number, '
                             f'got {layer_scale_init!r}')
        if isinstance(drop_path_rate, bool) or not isinstance(
                drop_path_rate, (int, float)) or not 0 <= drop_path_rate < 1:
            raise ValueError('drop_path_rate must be a number in [0, 1), '
                             f'got {drop_path_rate!r}')
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        if (not out_indices or len(set(out_indices)) != len(out_indices)
                or not all(_is_int(i) and 0 <= i < NUM_LEVELS
                           for i in out_indices)):
            raise ValueError('out_indices must be distinct levels in '
                             f'0..{NUM_LEVELS - 1}, got {out_indices!r}')
        if not _is_int(frozen_stages) or not (-1 <= frozen_stages <=
                                              TRUNK_STAGES):
            raise ValueError('frozen_stages must be an integer in '
                             f'-1..{TRUNK_STAGES}, got {frozen_stages!r}')
        self.embed_dims = embed_dims
        self.depth = depth
        self.out_indices = tuple(sorted(out_indices))
        self.out_channels: List[int] = [embed_dims] * len(self.out_indices)
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp

        # 3 -> D/8 -> D/4 -> D/2 -> D, GELU between the convs
        widths = [3] + [embed_dims // 8 * 2**i for i in range(4)]
        self.stem = nn.Sequential(*[
            ConvModule(
                widths[i],
                widths[i + 1],
                3,
                stride=2,
                padding=1,
                bias=False,
                act_cfg=dict(type='GELU') if i < 3 else None)
            for i in range(4)
        ])
        self.blocks = nn.ModuleList(
            PatchConvBlock(embed_dims, layer_scale_init, drop_path_rate)
            for _ in range(depth))
        self.pyramid = nn.ModuleDict(
            {str(i): self._make_level(i)
             for i in self.out_indices})
        self._freeze()

    def _parse_arch(self, arch: Union[str, dict]) -> Tuple[int, int, float]:
        if isinstance(arch, str):
            if arch not in self.arch_settings:
                raise ValueError(f'arch must be one of '
                                 f'{tuple(self.arch_settings)} or a dict, '
                                 f'got {arch!r}')
            return self.arch_settings[arch]
        keys = set(arch) if isinstance(arch, dict) else set()
        if not {'embed_dims', 'depth'} <= keys <= ARCH_KEYS:
            raise ValueError('arch as a dict must have the keys embed_dims '
                             'and depth (and optionally layer_scale_init), '
                             f'got {arch!r}')
        check_positive_int('arch.embed_dims', arch['embed_dims'])
        check_positive_int('arch.depth', arch['depth'])
        if arch['embed_dims'] % 8:
            raise ValueError('arch.embed_dims must be a multiple of 8 (the '
                             f'stem starts at embed_dims / 8), got '
                             f'{arch["embed_dims"]}')
        return (arch['embed_dims'], arch['depth'],
                arch.get('layer_scale_init', 1e-6))

    def _make_level(self, level: int) -> nn.Module:
        dims = self.embed_dims
        if level == 0:
            return nn.Sequential(
                nn.ConvTranspose2d(dims, dims, 2, stride=2),
                LayerNorm2d(dims), nn.GELU(),
                nn.ConvTranspose2d(dims, dims, 2, stride=2))
        if level == 1:
            return nn.ConvTranspose2d(dims, dims, 2, stride=2)
        if level == TRUNK_LEVEL:
            return nn.Identity()
        return nn.MaxPool2d(2, ceil_mode=True)

    def _frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        num_blocks = self.frozen_stages * self.depth // TRUNK_STAGES
        return [self.stem, *self.blocks[:num_blocks]]

    def _freeze(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'PatchConvNet':
        """Set train mode, keeping the frozen parts in eval mode."""
        super().train(mode)
        if mode:
            for module in self._frozen_modules():
                module.eval()
        return self

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Images (N, 3, H, W), H and W multiples of 16, to the maps of
        ``out_indices``: level ``i`` is (N, D, H / 2**(i+2), W / 2**(i+2)),
        rounded up at level 3."""
        if x.dim() != 4 or x.shape[-2] % STRIDE or x.shape[-1] % STRIDE:
            raise ValueError('PatchConvNet needs an input of shape (N, C, H, '
                             f'W) with H and W divisible by {STRIDE}, got '
                             f'{tuple(x.shape)}')
        # channels-last keeps the per-position LayerNorms free of copies
        x = self.stem(x).contiguous(memory_format=torch.channels_last)
        cp = self.with_cp and self.training and torch.is_grad_enabled()
        for block in self.blocks:
            if cp:
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return tuple(self.pyramid[str(i)](x) for i in self.out_indices)
