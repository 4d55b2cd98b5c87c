"""CtxResNet: mmdet's ResNet/ResNeXt with context plug-ins in every block.

The backbone subclasses mmdet's ``ResNet`` and only swaps its residual
blocks, so every mmdet argument keeps its meaning and its position (``depth,
in_channels, stem_channels, ...`` in mmdet's order; everything mmctx adds is
keyword-only) and unchanged layers keep their state-dict keys
(``torchvision://resnet50`` and mmdet checkpoints load and report only the
keys that really differ). On top of mmdet it:

- chains plug-ins at one position (each gets the previous one's output), in
  any registry scope; mmseg 1.2.2's ResNet feeds them all the same input;
- accepts plug-ins in ``BasicBlock`` (depth 18/34) at ``after_conv1`` and
  ``after_conv2``;
- takes ResNeXt's ``groups``/``base_width`` for bottleneck depths (and,
  unlike mmdet's ``ResNeXt``, applies ``zero_init_residual`` to them);
- lets a plug-in spec name the blocks of a stage it goes into (``blocks``),
  e.g. GCNet's single non-local block in c4;
- replaces the 3x3 ``conv2`` of every bottleneck of a stage by a *mixer*
  (``mixers``: one entry per stage, ``None`` or a mixer config such as
  BoTNet's ``dict(type='MHSA', heads=4)``, or a list with one of those per
  block, as SE-CoTNetD's alternating c4). The mixer is built with the
  conv's ``in_channels``, ``out_channels`` and ``stride`` and keeps its
  name, so its keys are ``layerX.Y.conv2.*``; a mixer with its own
  normalisation (``own_norm_act``, CoTNet) replaces the BN and ReLU after
  the conv too;
- reports bad plug-in specs with ``ValueError`` naming the offending key;
- returns ``self`` from ``train()``/``eval()`` like any ``nn.Module``.
"""
import inspect
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn
from mmdet.models.backbones.resnet import BasicBlock, Bottleneck, ResNet
from mmdet.models.backbones.resnext import Bottleneck as XBottleneck
from mmdet.models.layers import ResLayer

from ...registry import MODELS
from ..checks import check_positive_int

BOTTLENECK_POSITIONS = ('after_conv1', 'after_conv2', 'after_conv3')
BASIC_POSITIONS = ('after_conv1', 'after_conv2')
#: mmdet ResNet's arguments, in its positional order.
RESNET_SIGNATURE = inspect.signature(ResNet.__init__)


def bind_resnet_arguments(owner: nn.Module, depth: int, args: Sequence[Any],
                          kwargs: dict, partial: bool = False) -> dict:
    """mmdet ``ResNet``'s arguments of a call ``(depth, *args, **kwargs)``.

    Args:
        owner: The backbone being built, named in errors.
        depth: The ``depth`` passed.
        args: Positional arguments after ``depth``, in mmdet's order.
        kwargs: Keyword arguments.
        partial: Bind only what is given (no defaults, other keys allowed
            in ``kwargs`` are not checked) instead of the full call.

    Returns:
        Argument name -> value; with every default when not ``partial``.

    Raises:
        TypeError: Too many positional arguments, an argument given twice or
            (unless ``partial``) one mmdet's ``ResNet`` does not take.
    """
    bind = RESNET_SIGNATURE.bind_partial if partial else RESNET_SIGNATURE.bind
    try:
        bound = bind(owner, depth, *args, **kwargs)
    except TypeError as error:
        names = ', '.join(list(RESNET_SIGNATURE.parameters)[1:])
        raise TypeError(
            f'{type(owner).__name__}: {error}; it takes mmdet ResNet\'s '
            f'arguments ({names}) and, by keyword only, groups, base_width, '
            f'mixers and its preset options') from None
    if not partial:
        bound.apply_defaults()
    return {k: v for k, v in bound.arguments.items() if k != 'self'}


def resnet_argument(owner: nn.Module, name: str, depth: int,
                    args: Sequence[Any], kwargs: dict) -> Any:
    """One mmdet ``ResNet`` argument of a call ``(depth, *args, **kwargs)``.

    Args:
        owner: The backbone being built, named in errors.
        name: The argument's name in mmdet's ``ResNet.__init__``.
        depth: The ``depth`` passed.
        args: Positional arguments after ``depth``, in mmdet's order.
        kwargs: Keyword arguments.

    Returns:
        The value passed by keyword or position, else mmdet's default.
    """
    if name in kwargs:
        return kwargs[name]
    positional = bind_resnet_arguments(owner, depth, args, {}, partial=True)
    return positional.get(name, RESNET_SIGNATURE.parameters[name].default)


def run_residual(block: nn.Module, inner: Callable[[torch.Tensor],
                                                   torch.Tensor],
                 x: torch.Tensor) -> torch.Tensor:
    """Run a block's residual function and its final ReLU.

    Args:
        block: The block (its ``with_cp`` and ``relu`` are used).
        inner: ``x -> branch(x) + shortcut(x)``.
        x: Block input.

    Returns:
        ``relu(inner(x))``, with ``inner`` gradient-checkpointed (the
        non-reentrant form torch asks for) when ``block.with_cp`` is set.
    """
    if block.with_cp and x.requires_grad:
        out = torch.utils.checkpoint.checkpoint(inner, x, use_reentrant=False)
    else:
        out = inner(x)
    return block.relu(out)


def check_preset(name: str, depth: int, depths: Sequence[int],
                 kwargs: dict) -> None:
    """Argument checks shared by the mixer presets.

    Args:
        name: Preset class name, for messages.
        depth: Requested depth.
        depths: Depths the preset supports.
        kwargs: The remaining keyword arguments (must not set ``mixers``).
    """
    if depth not in depths:
        raise ValueError(f'depth must be one of {tuple(depths)} for {name}, '
                         f'got {depth!r}')
    if 'mixers' in kwargs:
        raise ValueError(f'{name} sets mixers itself; use CtxResNet for '
                         'other mixer layouts')


class CtxBasicBlock(BasicBlock):
    """mmdet ``BasicBlock`` with plug-ins after ``conv1`` and ``conv2``.

    Args:
        inplanes: Input channels.
        planes: Output channels.
        plugins: Plug-in specs (``cfg`` and ``position``); ``after_conv2``
            sits before the residual addition.
        **kwargs: Remaining mmdet ``BasicBlock`` arguments.
    """

    make_block_plugins = Bottleneck.make_block_plugins
    forward_plugin = Bottleneck.forward_plugin

    def __init__(self,
                 inplanes: int,
                 planes: int,
                 plugins: Optional[List[dict]] = None,
                 **kwargs) -> None:
        super().__init__(inplanes, planes, **kwargs)
        plugins = plugins or []
        self.after_conv1_plugin_names = self.make_block_plugins(
            planes,
            [p['cfg'] for p in plugins if p['position'] == 'after_conv1'])
        self.after_conv2_plugin_names = self.make_block_plugins(
            planes,
            [p['cfg'] for p in plugins if p['position'] == 'after_conv2'])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """conv-norm-relu, plug-ins, conv-norm, plug-ins, add, relu."""

        def inner(x: torch.Tensor) -> torch.Tensor:
            out = self.relu(self.norm1(self.conv1(x)))
            out = self.forward_plugin(out, self.after_conv1_plugin_names)
            out = self.norm2(self.conv2(out))
            out = self.forward_plugin(out, self.after_conv2_plugin_names)
            identity = x if self.downsample is None else self.downsample(x)
            return out + identity

        return run_residual(self, inner, x)


class MixerBottleneckForward:
    """Bottleneck forward in which ``conv2`` may be a mixer.

    A mixer whose ``own_norm_act`` is true (CoTNet's layers) ends in its own
    normalisation, so the block applies no ``norm2``/ReLU after it (the
    factory removes ``norm2``); any other ``conv2`` is followed by them as in
    mmdet. Gradient checkpointing uses the non-reentrant form torch asks for.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """conv1-norm-relu, conv2 (or mixer), conv3-norm, plug-ins, add."""

        def inner(x: torch.Tensor) -> torch.Tensor:
            out = self.relu(self.norm1(self.conv1(x)))
            if self.with_plugins:
                out = self.forward_plugin(out, self.after_conv1_plugin_names)
            out = self.conv2(out)
            if not getattr(self.conv2, 'own_norm_act', False):
                out = self.relu(self.norm2(out))
            if self.with_plugins:
                out = self.forward_plugin(out, self.after_conv2_plugin_names)
            out = self.norm3(self.conv3(out))
            if self.with_plugins:
                out = self.forward_plugin(out, self.after_conv3_plugin_names)
            identity = x if self.downsample is None else self.downsample(x)
            return out + identity

        return run_residual(self, inner, x)


class CtxBottleneck(MixerBottleneckForward, Bottleneck):
    """mmdet's ResNet ``Bottleneck`` with a mixer-aware forward."""


class CtxXBottleneck(MixerBottleneckForward, XBottleneck):
    """mmdet's ResNeXt ``Bottleneck`` with a mixer-aware forward."""


class BlockFactory:
    """Builds the blocks of one stage, each with the plug-ins meant for it.

    mmdet's ``ResLayer`` calls its ``block`` argument once per block, in
    order, with keyword arguments; this factory stands in for the block class
    and hands each call only the plug-ins whose ``blocks`` include it.

    Args:
        block: Block class to instantiate.
        num_blocks: Blocks in the stage.
        plugins: The stage's plug-in specs, or ``None``.
        mixer: Config of the mixer that replaces each block's ``conv2``,
            a list of one config (or ``None``) per block, or ``None``.

    Raises:
        ValueError: A per-block mixer list whose length is not
            ``num_blocks``.
    """

    def __init__(self,
                 block: type,
                 num_blocks: int,
                 plugins: Optional[List[dict]],
                 mixer: Union[None, dict, Sequence[Optional[dict]]] = None
                 ) -> None:
        self.block = block
        self.expansion = block.expansion
        self.num_blocks = num_blocks
        self.plugins = plugins or []
        if not isinstance(mixer, (list, tuple)):
            mixer = [mixer] * num_blocks
        elif len(mixer) != num_blocks:
            raise ValueError(f'a per-block mixers entry needs one entry per '
                             f'block of its stage ({num_blocks}), got '
                             f'{len(mixer)}: {mixer!r}')
        self.mixers = list(mixer)
        self.index = 0

    def __call__(self, **kwargs) -> nn.Module:
        """Build the next block of the stage."""
        selected = []
        for spec in self.plugins:
            spec = dict(spec)
            blocks = spec.pop('blocks', None)
            if blocks is None or self.index in [
                    b % self.num_blocks for b in blocks
            ]:
                selected.append(spec)
        mixer = self.mixers[self.index]
        self.index += 1
        block = self.block(plugins=selected or None, **kwargs)
        if mixer is not None:
            conv = block.conv2
            if conv.dilation != (1, 1):
                raise ValueError(
                    f'mixers replace an undilated 3x3 conv; this stage has '
                    f'dilation {conv.dilation[0]} (dilations=...)')
            block.conv2 = MODELS.build(
                mixer,
                default_args=dict(
                    in_channels=conv.in_channels,
                    out_channels=conv.out_channels,
                    stride=conv.stride[0]))
            if getattr(block.conv2, 'own_norm_act', False):
                delattr(block, block.norm2_name)
        return block


@MODELS.register_module()
class CtxResNet(ResNet):
    """ResNet/ResNeXt backbone whose blocks host context plug-ins.

    The positional arguments are mmdet ``ResNet``'s, in its order
    (``CtxResNet(50, 1)`` has a one-channel stem, as ``ResNet(50, 1)``);
    ``groups``, ``base_width`` and ``mixers`` are keyword-only.

    Args:
        depth: 18, 34, 50, 101 or 152.
        *args: mmdet ``ResNet``'s further arguments by position
            (in_channels, stem_channels, base_channels, num_stages, ...).
        groups: ResNeXt cardinality (bottleneck depths only). Default: 1.
        base_width: ResNeXt width per group. Default: 4.
        plugins: Plug-in specs as in mmdet's ResNet: each a dict with
            ``cfg`` (the plug-in config, which may hold a ``postfix`` to tell
            two plug-ins of one type apart), ``position`` (``'after_conv1'``,
            ``'after_conv2'`` or, for bottlenecks, ``'after_conv3'``),
            optional ``stages`` (one bool per stage) and optional
            ``blocks`` (indices of the blocks of each selected stage that
            get the plug-in; negative indices count from the end; all
            blocks when absent).
            Several plug-ins at one position are applied in order.
        mixers: One entry per stage: ``None`` keeps the 3x3 conv, a config
            (e.g. ``dict(type='MHSA', heads=4)``) replaces ``conv2`` of every
            block of that stage, a list (one ``None`` or config per block of
            the stage) mixes per block. Default: None (no mixers).
        **kwargs: Every argument of mmdet's ``ResNet`` by name (plugins
            above, in_channels, stem_channels, base_channels, num_stages,
            strides, dilations, out_indices, style, deep_stem, avg_down,
            frozen_stages, conv_cfg, norm_cfg, norm_eval, dcn,
            stage_with_dcn, with_cp, zero_init_residual, pretrained,
            init_cfg).

    Raises:
        TypeError: An argument mmdet's ``ResNet`` does not take, or too
            many positional arguments.

    Example:
        >>> backbone = CtxResNet(depth=50, plugins=[dict(
        ...     cfg=dict(type='GCBlock', ratio=1. / 16),
        ...     stages=(False, True, True, True), position='after_conv3')])
    """

    def __init__(self,
                 depth: int,
                 *args,
                 groups: int = 1,
                 base_width: int = 4,
                 mixers: Optional[Sequence[Optional[dict]]] = None,
                 **kwargs) -> None:
        kwargs = bind_resnet_arguments(self, depth, args, kwargs)
        if depth not in self.arch_settings:
            raise ValueError(f'depth must be one of '
                             f'{tuple(self.arch_settings)}, got {depth!r}')
        check_positive_int('groups', groups)
        check_positive_int('base_width', base_width)
        if groups > 1 and depth < 50:
            raise ValueError(f'groups > 1 needs a bottleneck depth (50, 101, '
                             f'152), got depth={depth}')
        self.groups = groups
        self.base_width = base_width
        num_stages = kwargs['num_stages']
        plugins = kwargs['plugins']
        self._check_plugins(plugins, depth, num_stages)
        self.mixers = self._check_mixers(mixers, num_stages,
                                         kwargs['stage_with_dcn'],
                                         kwargs['dcn'])
        if depth < 50 and any(m is not None for m in self.mixers):
            raise ValueError(f'mixers replace a bottleneck\'s 3x3 conv and '
                             f'need depth 50, 101 or 152, got depth={depth}')
        self._stage = 0
        kwargs['plugins'] = list(plugins) if plugins is not None else None
        super().__init__(**kwargs)

    def _check_plugins(self, plugins: Optional[Sequence[dict]], depth: int,
                       num_stages: int) -> None:
        if plugins is None:
            return
        if isinstance(plugins, dict) or not isinstance(plugins,
                                                       (list, tuple)):
            raise TypeError(f'plugins must be a list of dicts, got '
                            f'{type(plugins).__name__}')
        block, stage_blocks = self.arch_settings[depth]
        stage_blocks = stage_blocks[:num_stages]
        allowed = (BASIC_POSITIONS
                   if block is BasicBlock else BOTTLENECK_POSITIONS)
        for i, plugin in enumerate(plugins):
            if not isinstance(plugin, dict) or 'cfg' not in plugin:
                raise ValueError(f'plugins[{i}] must be a dict with a "cfg" '
                                 f'key, got {plugin!r}')
            position = plugin.get('position')
            if position not in allowed:
                raise ValueError(
                    f'plugins[{i}].position must be one of {allowed} for '
                    f'depth {depth}, got {position!r}')
            stages = plugin.get('stages')
            if stages is not None and len(stages) != num_stages:
                raise ValueError(
                    f'plugins[{i}].stages must have one entry per stage '
                    f'(num_stages={num_stages}), got {tuple(stages)}')
            blocks = plugin.get('blocks')
            if blocks is None:
                continue
            sizes = [
                n for n, on in zip(stage_blocks, stages or stage_blocks) if on
            ]
            limit = min(sizes, default=0)
            if isinstance(blocks, (str, int)) or not all(
                    isinstance(b, int) and -limit <= b < limit
                    for b in blocks):
                raise ValueError(
                    f'plugins[{i}].blocks must be a sequence of block '
                    f'indices valid in every selected stage (blocks per '
                    f'stage: {stage_blocks}), got {blocks!r}')

    @staticmethod
    def _check_mixers(mixers: Optional[Sequence[Optional[dict]]],
                      num_stages: int, stage_with_dcn: Optional[Sequence],
                      dcn: Optional[dict]) -> Tuple[Optional[dict], ...]:
        if mixers is None:
            return (None, ) * num_stages
        if isinstance(mixers, dict) or len(mixers) != num_stages:
            raise ValueError(f'mixers must have one entry (None or a config '
                             f'dict) per stage (num_stages={num_stages}), '
                             f'got {mixers!r}')
        for i, mixer in enumerate(mixers):
            per_block = mixer if isinstance(mixer, (list, tuple)) else [mixer]
            if not all(
                    m is None or isinstance(m, dict) and 'type' in m
                    for m in per_block):
                raise ValueError(f'mixers[{i}] must be None, a config dict '
                                 f'with a "type" key or a list of those (one '
                                 f'per block), got {mixer!r}')
            if any(m is not None for m in per_block) and dcn is not None and (
                    stage_with_dcn is not None and stage_with_dcn[i]):
                raise ValueError(f'mixers[{i}] and dcn both replace conv2 of '
                                 f'stage {i}; use one of them')
        return tuple(mixers)

    def train(self, mode: bool = True) -> 'CtxResNet':
        """Set train mode (keeping frozen stages and ``norm_eval``).

        mmdet's ``ResNet.train`` returns ``None``; this returns ``self`` as
        ``nn.Module.train`` does, so ``model.eval()`` can be chained.
        """
        super().train(mode)
        return self

    def make_res_layer(self, block: type, num_blocks: int,
                       plugins: Optional[List[dict]], **kwargs) -> ResLayer:
        """Build a stage from the context-aware version of ``block``."""
        if block is BasicBlock:
            block = CtxBasicBlock
        elif self.groups > 1:
            block = CtxXBottleneck
            kwargs.update(
                groups=self.groups,
                base_width=self.base_width,
                base_channels=self.base_channels)
        else:
            block = CtxBottleneck
        # mmdet's ResNet builds its stages in order, one call each
        factory = BlockFactory(block, num_blocks, plugins,
                               self.mixers[self._stage])
        self._stage += 1
        return ResLayer(block=factory, num_blocks=num_blocks, **kwargs)


@MODELS.register_module()
class BoTNet(CtxResNet):
    """BoTNet: ResNet with BoTNet's MHSA in place of every c5 3x3 conv.

    Args:
        depth: 50, 101 or 152.
        *args: mmdet ``ResNet``'s further arguments by position.
        heads: MHSA heads. Default: 4.
        position: MHSA position encoding. Default: ``'relative'``.
        max_size: Largest feature size with exact position embeddings.
            Default: 84.
        query_chunk: Optional MHSA query chunk. Default: None.
        **kwargs: Every other :class:`CtxResNet` argument except ``mixers``.
    """

    def __init__(self,
                 depth: int = 50,
                 *args,
                 heads: int = 4,
                 position: str = 'relative',
                 max_size: Union[int, Sequence[int]] = 84,
                 query_chunk: Optional[int] = None,
                 **kwargs) -> None:
        check_preset('BoTNet', depth, (50, 101, 152), kwargs)
        mhsa = dict(type='MHSA', heads=heads, position=position,
                    max_size=max_size, query_chunk=query_chunk)
        num_stages = resnet_argument(self, 'num_stages', depth, args,
                                     kwargs)
        if num_stages != 4:
            raise ValueError('BoTNet puts MHSA in c5 and needs num_stages=4, '
                             f'got num_stages={num_stages}')
        super().__init__(
            depth, *args, mixers=(None, None, None, mhsa), **kwargs)


@MODELS.register_module()
class CoTNet(CtxResNet):
    """CoTNet: a CoT layer in place of every 3x3 conv of all four stages.

    Args:
        depth: 50 or 101.
        *args: mmdet ``ResNet``'s further arguments by position.
        kernel_size: CoT context window. Default: 3.
        **kwargs: Every other :class:`CtxResNet` argument except ``mixers``.
    """

    mixer_type = 'CoTLayer'
    depths = (50, 101)

    def __init__(self, depth: int = 50, *args, kernel_size: int = 3,
                 **kwargs) -> None:
        check_preset(type(self).__name__, depth, self.depths, kwargs)
        cot = dict(type=self.mixer_type, kernel_size=kernel_size)
        num_stages = resnet_argument(self, 'num_stages', depth, args,
                                     kwargs)
        super().__init__(
            depth, *args, mixers=(cot, ) * num_stages, **kwargs)


@MODELS.register_module()
class CoTNeXt(CoTNet):
    """CoTNeXt: CoXt layers in a ResNeXt with cardinality 2, width 48.

    Args:
        depth: 50 or 101.
        *args: mmdet ``ResNet``'s further arguments by position.
        groups: Cardinality. Default: 2.
        base_width: Width per group. Default: 48.
        **kwargs: As :class:`CoTNet`.
    """

    mixer_type = 'CoXtLayer'

    def __init__(self, depth: int = 50, *args, groups: int = 2,
                 base_width: int = 48, **kwargs) -> None:
        super().__init__(
            depth, *args, groups=groups, base_width=base_width, **kwargs)


@MODELS.register_module()
class AAResNet(CtxResNet):
    """AA-ResNet: attention-augmented 3x3 convs in the last three stages.

    Every bottleneck of c3, c4 and c5 gets an :class:`AAConv` in place of
    its 3x3 conv; c2 stays convolutional. The paper augments from the last
    stage backwards as memory allows; c3-c5 reproduces its ImageNet FLOPs
    (attention at c2 would add about 1 GFLOP at 224x224, against the
    reported 0.1), and c2 at detection sizes (200x336 positions) would cost
    far more attention compute than the rest of the network.

    Size: with the paper's formula (conv with ``F_out - d_v`` filters, 1x1
    q/k/v, ``d_v x d_v`` output projection) each augmented conv has about
    ``0.39 F_out^2`` fewer parameters than the 3x3 conv it replaces, so
    AA-ResNet-50 has 25.12M parameters with a 1000-class classifier
    (tables for 224x224), 0.44M fewer than ResNet-50. The paper's RetinaNet
    table agrees (AA-R50 33.1M vs R50 33.4M); its ImageNet table's 25.8M
    (+0.2M) cannot come from the stated formula with any choice of
    augmented stages, and is not reproduced.

    Args:
        depth: 50 or 101.
        *args: mmdet ``ResNet``'s further arguments by position.
        heads: Attention heads. Default: 8.
        kappa: ``d_k / F_out``. Default: 0.2.
        upsilon: ``d_v / F_out``. Default: 0.1.
        stages: One bool per stage: which stages are augmented.
            Default: ``(False, True, True, True)``.
        max_input_size: Input size up to which the relative tables are
            exact: each stage's tables cover ``max_input_size / stride``
            positions (168/84/42 for c3/c4/c5 at the default 1344, the
            padded long side of COCO's 800x1333). Default: 1344.
        query_chunk: Optional attention query chunk. Default: None.
        **kwargs: Every other :class:`CtxResNet` argument except ``mixers``.
    """

    def __init__(self,
                 depth: int = 50,
                 *args,
                 heads: int = 8,
                 kappa: float = 0.2,
                 upsilon: float = 0.1,
                 stages: Sequence[bool] = (False, True, True, True),
                 max_input_size: int = 1344,
                 query_chunk: Optional[int] = None,
                 **kwargs) -> None:
        check_preset('AAResNet', depth, (50, 101), kwargs)
        check_positive_int('max_input_size', max_input_size)
        num_stages = resnet_argument(self, 'num_stages', depth, args,
                                     kwargs)
        if isinstance(stages, str) or len(stages) != num_stages or not all(
                isinstance(on, bool) for on in stages):
            raise ValueError(f'stages must have one bool per stage '
                             f'(num_stages={num_stages}), got {stages!r}')
        strides = resnet_argument(self, 'strides', depth, args, kwargs)
        mixers, stride = [], 4
        for on, stage_stride in zip(stages, strides):
            stride *= stage_stride
            mixers.append(
                dict(type='AAConv', heads=heads, kappa=kappa,
                     upsilon=upsilon, query_chunk=query_chunk,
                     max_size=-(-max_input_size // stride)) if on else None)
        super().__init__(depth, *args, mixers=mixers, **kwargs)
