"""Shared machinery of the official-checkpoint converters.

A conversion is a chain of pure steps, each usable on its own:

1. :func:`read_checkpoint` loads a file through mmctx's safe loader;
2. :func:`select_state_dict` picks the weights from the layouts official
   repositories write (timm's ``state_dict``/``state_dict_ema``, deit's
   ``model``/``model_ema``, or a bare state dict) and says which it took;
3. :func:`strip_prefix` removes ``module.`` left by DataParallel/DDP;
4. :func:`apply_rules` renames every tensor by the first matching
   :class:`Rule` (or drops it, or stacks several into one): a key that no
   rule matches stops the conversion, naming the key;
5. :func:`check_against` compares the result with the target model's state
   dict, key by key and shape by shape, and names the first key that is
   unexpected, mis-shaped or missing;
6. :func:`save_checkpoint` writes an mmengine checkpoint
   ``{'state_dict': ..., 'meta': ...}``.

The target is always mmpretrain's ``ImageClassifier``, built by
:func:`build_classifier` from the model dict of the matching
``configs/classification/`` config: the converted keys are those of that
classifier, ``backbone.*`` always and, with the classifier kept,
``neck.*`` and ``head.fc.*``. Detection and segmentation backbones load
such a file with ``init_cfg=dict(type='Pretrained', checkpoint=...,
prefix='backbone.')``.

Rules are written as key templates: ``'layer{s}.{b}.conv2.bn.{p}'`` ->
``'layer{s}.{b}.conv2.norm.{p}'``. A placeholder ``{name}`` matches one
dot-free key part, ``{name:regex}`` whatever the regex matches; the
destination reuses the placeholders. Templates run both ways, so a missing
target key is reported with the official key it would come from.
"""
import argparse
import copy
import os
import os.path as osp
import pickle
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import (Callable, Dict, List, Mapping, Optional, Sequence,
                    Tuple)

import torch
from mmengine.registry import DefaultScope
from torch import nn

from ..compat import load_local_checkpoint, trust_checkpoints
from ..version import __version__

StateDict = Dict[str, torch.Tensor]
Shapes = Dict[str, torch.Size]

_PLACEHOLDER = re.compile(r'\{(\w+)(?::([^{}]+))?\}')
#: Checkpoint entries holding weights, in order of preference; the EMA
#: entries come first and are skipped with ``use_ema=False``.
EMA_KEYS = ('state_dict_ema', 'model_ema')
PLAIN_KEYS = ('state_dict', 'model')
#: Version of the conversion rules, written into every converted file.
CONVERTER_VERSION = 1


class ConversionError(ValueError):
    """The checkpoint does not fit the target model; names the key."""


def _regexes(template: str) -> Dict[str, str]:
    return {
        m.group(1): m.group(2)
        for m in _PLACEHOLDER.finditer(template) if m.group(2)
    }


def _compile(template: str,
             regexes: Optional[Mapping[str, str]] = None) -> 're.Pattern':
    """Regex of a template; ``regexes`` gives placeholders written
    without one their source template's regex."""
    parts, pos = [], 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[pos:match.start()]))
        regex = match.group(2) or (regexes or {}).get(match.group(1),
                                                      r'[^.]+')
        parts.append(f'(?P<{match.group(1)}>{regex})')
        pos = match.end()
    parts.append(re.escape(template[pos:]))
    return re.compile(''.join(parts) + r'\Z')


def _fill(template: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


@dataclass(frozen=True)
class Rule:
    """Where official keys of one form go.

    Args:
        source: Template of the official keys.
        target: Template of the mmctx keys; ``None`` drops the tensors
            (reported, never silent).
        note: What the tensors are, printed with the rule.
        stack: Index placeholder of ``source`` along which the matching
            tensors (indices 0, 1, ... n-1) are concatenated on dim 0 into
            one ``target`` tensor, e.g. per-class heads into one matrix.
    """

    source: str
    target: Optional[str]
    note: str
    stack: Optional[str] = None

    def match(self, key: str) -> Optional[Dict[str, str]]:
        """The placeholder values if ``key`` has this rule's form."""
        found = _compile(self.source).match(key)
        return None if found is None else found.groupdict()

    def rename(self, key: str) -> Optional[str]:
        """The mmctx key of official ``key`` (which must match)."""
        if self.target is None:
            return None
        return _fill(self.target, self.match(key))

    def inverse(self, key: str) -> Optional[str]:
        """The official key that would give mmctx ``key``, if any."""
        if self.target is None or self.stack is not None:
            return None
        found = _compile(self.target, _regexes(self.source)).match(key)
        return None if found is None else _fill(self.source,
                                                found.groupdict())

    def prefixed(self, prefix: str) -> 'Rule':
        """The rule with ``prefix`` before its target keys."""
        if self.target is None:
            return self
        return Rule(self.source, prefix + self.target, self.note, self.stack)

    def dropped(self, reason: str) -> 'Rule':
        """The rule turned into a drop rule, with ``reason`` as its note."""
        return Rule(self.source, None, f'{self.note}: {reason}')

    def describe(self) -> str:
        """One line for the conversion log."""
        target = 'dropped' if self.target is None else _PLACEHOLDER.sub(
            lambda m: '{' + m.group(1) + '}', self.target)
        if self.stack is not None:
            target += f' (stacked over {{{self.stack}}})'
        return f'{self.source} -> {target}  [{self.note}]'


@dataclass
class Conversion:
    """What a conversion did, for the printed report and the tests.

    Args:
        state_dict: The converted tensors, in source order.
        applied: ``(rule, tensors)`` for every rule that matched, in rule
            order.
        dropped: Official keys dropped by a rule.
        tensors_in: Tensors read from the checkpoint.
        origins: The official key (or stacked keys) of each converted key.
    """

    state_dict: StateDict
    applied: List[Tuple[Rule, int]] = field(default_factory=list)
    dropped: List[str] = field(default_factory=list)
    tensors_in: int = 0
    origins: Dict[str, str] = field(default_factory=dict)

    def lines(self) -> List[str]:
        """The report: one line per rule applied, then the counts."""
        lines = [f'rule {rule.describe()}: {count} tensor(s)'
                 for rule, count in self.applied]
        lines.append(f'tensors in: {self.tensors_in}, tensors out: '
                     f'{len(self.state_dict)}, dropped: {len(self.dropped)}')
        return lines


def read_checkpoint(path: str) -> object:
    """Load ``path`` on the CPU with mmctx's safe loader.

    Args:
        path: Checkpoint file.

    Returns:
        Whatever the file holds (checked by :func:`select_state_dict`).

    Raises:
        FileNotFoundError: If there is no such file.
        mmctx.compat.UntrustedCheckpointError: If it pickles objects beyond
            tensors and containers (``--trust-checkpoint`` allows them).
    """
    return load_local_checkpoint(path, map_location='cpu')


def _is_state_dict(value: object) -> bool:
    return isinstance(value, Mapping) and bool(value) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor)
        for k, v in value.items())


def select_state_dict(
        checkpoint: object,
        use_ema: bool = True) -> Tuple[StateDict, Optional[str], str]:
    """Pick the weights of an official checkpoint.

    Args:
        checkpoint: A loaded checkpoint: a dict holding ``state_dict``
            and/or ``state_dict_ema`` (timm, CoTNet), ``model`` and/or
            ``model_ema`` (deit), or a bare state dict.
        use_ema: Take the EMA weights when the checkpoint has them.

    Returns:
        ``(state_dict, entry, description)``: the entry used (``None`` for
        a bare state dict) and a sentence saying which and why (printed by
        the converters).

    Raises:
        ConversionError: If no entry holds a state dict.
    """
    if _is_state_dict(checkpoint):
        return dict(checkpoint), None, 'a bare state dict'
    if not isinstance(checkpoint, Mapping):
        raise ConversionError(f'expected a state dict or a dict holding one, '
                              f'got {type(checkpoint).__name__}')
    ema = [k for k in EMA_KEYS if _is_state_dict(checkpoint.get(k))]
    plain = [k for k in PLAIN_KEYS if _is_state_dict(checkpoint.get(k))]
    entries = ', '.join(repr(k) for k in checkpoint)
    if ema and use_ema:
        return dict(checkpoint[ema[0]]), ema[0], (
            f'{ema[0]!r}, the EMA weights (of entries {entries}; --no-ema '
            'takes the plain ones)')
    if plain:
        why = ('--no-ema given' if ema else 'the checkpoint has no EMA '
               'weights')
        return dict(checkpoint[plain[0]]), plain[0], (
            f'{plain[0]!r}, the plain weights ({why}; entries {entries})')
    if ema:
        raise ConversionError(
            f'--no-ema asks for the plain weights but the checkpoint only '
            f'has {ema[0]!r} (entries {entries})')
    raise ConversionError(
        f'no state dict in the checkpoint: expected one of '
        f'{PLAIN_KEYS + EMA_KEYS} holding tensors, got entries {entries}')


def strip_prefix(state_dict: StateDict,
                 prefix: str = 'module.') -> Tuple[StateDict, int]:
    """Remove ``prefix`` from the keys that start with it.

    Returns:
        The renamed state dict and how many keys had the prefix.
    """
    out, count = OrderedDict(), 0
    for key, value in state_dict.items():
        if key.startswith(prefix):
            key, count = key[len(prefix):], count + 1
        out[key] = value
    return out, count


def apply_rules(state_dict: StateDict, rules: Sequence[Rule]) -> Conversion:
    """Rename every tensor by the first rule whose source matches its key.

    Args:
        state_dict: Official tensors.
        rules: Ordered rules.

    Returns:
        The :class:`Conversion`.

    Raises:
        ConversionError: Naming the first key no rule matches, two keys
            that become one, or a stacked group with a missing index or
            tensors that do not concatenate.
    """
    conversion = Conversion(OrderedDict(), tensors_in=len(state_dict))
    counts: Dict[int, int] = {}
    stacks: Dict[Tuple[int, str], Dict[int, Tuple[str, torch.Tensor]]] = {}
    for key, value in state_dict.items():
        for index, rule in enumerate(rules):
            values = rule.match(key)
            if values is not None:
                break
        else:
            raise ConversionError(
                f'official key {key!r} {tuple(value.shape)} matches no '
                'conversion rule: this checkpoint is not of a supported '
                'architecture (or the converter is incomplete)')
        counts[index] = counts.get(index, 0) + 1
        if rule.target is None:
            conversion.dropped.append(key)
        elif rule.stack is not None:
            group = stacks.setdefault((index, rule.rename(key)), {})
            group[int(values[rule.stack])] = (key, value)
            conversion.state_dict.setdefault(rule.rename(key), None)
        else:
            target = rule.rename(key)
            if target in conversion.state_dict:
                raise ConversionError(
                    f'official keys {conversion.origins.get(target)!r} and '
                    f'{key!r} both become {target!r}')
            conversion.state_dict[target] = value
            conversion.origins[target] = key
    for (index, target), group in stacks.items():
        missing = sorted(set(range(max(group) + 1)) - set(group))
        if missing:
            raise ConversionError(
                f'{rules[index].source}: indices must run 0..{max(group)} '
                f'for {target!r}, index {missing[0]} is missing')
        parts = [group[i] for i in range(len(group))]
        conversion.origins[target] = (f'{parts[0][0]} ... {parts[-1][0]}'
                                      if len(parts) > 1 else parts[0][0])
        try:
            conversion.state_dict[target] = torch.cat(
                [value for _, value in parts])
        except RuntimeError as exc:
            raise ConversionError(
                f'{rules[index].source}: tensors do not stack into '
                f'{target} ({exc})') from exc
    conversion.applied = [(rules[i], counts[i]) for i in sorted(counts)]
    return conversion


def target_shapes(build: Callable[[], nn.Module]) -> Shapes:
    """Key -> shape of a model's state dict, built without memory.

    Args:
        build: Builds the target model; it runs on torch's ``meta`` device,
            so even the largest models cost no memory or init time.

    Returns:
        The shapes.
    """
    with torch.device('meta'):
        model = build()
    return {k: v.shape for k, v in model.state_dict().items()}


def _source_of(key: str, rules: Sequence[Rule]) -> str:
    for rule in rules:
        source = rule.inverse(key)
        if source is not None:
            return f'official key {source!r}'
    return 'no official key maps to it'


def check_against(conversion: Conversion, shapes: Shapes,
                  rules: Sequence[Rule], model_name: str) -> None:
    """Check that the converted tensors fill the target exactly.

    Args:
        conversion: Result of :func:`apply_rules`.
        shapes: Target keys and shapes (:func:`target_shapes`).
        rules: The rules used, to name the official key of a missing one.
        model_name: Target model, for messages.

    Raises:
        ConversionError: Naming the first converted key the target lacks,
            the first mis-shaped one, or the first target key left without
            a tensor.
    """
    for key, value in conversion.state_dict.items():
        origin = conversion.origins.get(key, key)
        if key not in shapes:
            raise ConversionError(
                f'official key {origin!r} {tuple(value.shape)} becomes '
                f'{key!r}, which does not exist in {model_name}')
        if value.shape != shapes[key]:
            raise ConversionError(
                f'official key {origin!r} has shape {tuple(value.shape)} '
                f'but {model_name} expects {tuple(shapes[key])} for {key!r}')
    for key in shapes:
        if key not in conversion.state_dict:
            raise ConversionError(
                f'{model_name} key {key!r} {tuple(shapes[key])} gets no '
                f'tensor: {_source_of(key, rules)} is missing from the '
                'checkpoint')


def save_checkpoint(state_dict: StateDict, path: str, meta: dict) -> None:
    """Write ``{'state_dict': state_dict, 'meta': meta}`` to ``path``.

    Args:
        state_dict: Converted tensors (made contiguous).
        path: Output file; its folder is created.
        meta: Provenance; the converter version is added.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    meta = dict(meta, converter_version=CONVERTER_VERSION,
                mmctx_version=__version__)
    torch.save(
        {
            'state_dict': OrderedDict(
                (k, v.contiguous()) for k, v in state_dict.items()),
            'meta': meta
        }, path)


#: Arguments of a model dict left out of its printed name: they configure
#: training and evaluation, not the weights.
UNNAMED_ARGS = ('loss', 'topk')


def build_classifier(model_cfg: Mapping) -> nn.Module:
    """Build a classifier model dict in mmpretrain's scope.

    mmctx backbones, necks and heads resolve through the root registry
    whatever the current default scope (mmdet, mmseg or none).

    Args:
        model_cfg: A model dict with ``type='ImageClassifier'``, as the
            ``model`` of a ``configs/classification/`` config.

    Returns:
        The model (not initialised: ``init_weights`` is not called).
    """
    import mmpretrain.models  # noqa: F401  (registers ImageClassifier)
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return PRETRAIN_MODELS.build(copy.deepcopy(dict(model_cfg)))


def _call(cfg: Mapping) -> str:
    args = ', '.join(f'{k}={v!r}' for k, v in cfg.items()
                     if k != 'type' and k not in UNNAMED_ARGS)
    return f'{cfg["type"]}({args})'


def describe_model(model_cfg: Mapping) -> str:
    """A model dict as one readable expression, for messages.

    Args:
        model_cfg: An ``ImageClassifier`` model dict.

    Returns:
        E.g. ``ImageClassifier(backbone=CoTNet(depth=50, ...),
        neck=GlobalAveragePooling(), head=LinearClsHead(...))``, leaving
        out the loss and top-k settings.
    """
    parts = [f'{part}={_call(model_cfg[part])}'
             for part in ('backbone', 'neck', 'head') if part in model_cfg]
    return f'{model_cfg["type"]}({", ".join(parts)})'


@dataclass(frozen=True)
class Plan:
    """How to convert one architecture.

    Args:
        arch: Architecture name (``cotnet50``, ``S60``, ...).
        rules: Ordered conversion rules.
        model_cfg: The target ``ImageClassifier`` model dict (the model of
            the matching ``configs/classification/`` config, without its
            neck and head when the classifier is dropped).
    """

    arch: str
    rules: Sequence[Rule]
    model_cfg: Mapping

    @property
    def model_name(self) -> str:
        """The target model, for messages (:func:`describe_model`)."""
        return describe_model(self.model_cfg)

    def build(self) -> nn.Module:
        """Build the target model (see :func:`target_shapes`)."""
        return build_classifier(self.model_cfg)


def _abbreviate(keys: Sequence[str], limit: int = 4) -> str:
    shown = ', '.join(keys[:limit])
    return shown + (f', ... ({len(keys)} in all)' if len(keys) > limit else '')


def convert_checkpoint(src: str,
                       dst: str,
                       plan_for: Callable[[str, bool, StateDict], Plan],
                       detect: Callable[[StateDict], Tuple[str, str]],
                       converter: str,
                       arch: Optional[str] = None,
                       use_ema: bool = True,
                       with_head: bool = False,
                       log: Callable[[str], None] = print) -> Conversion:
    """Convert an official checkpoint file into an mmctx checkpoint file.

    Args:
        src: Official checkpoint.
        dst: Output file.
        plan_for: ``(arch, with_head, state_dict) -> Plan``.
        detect: ``state_dict -> (arch, evidence)``, the architecture read
            from the keys and shapes, and how.
        converter: Converter name, written into the meta.
        arch: Architecture to assume instead of detecting it.
        use_ema: Prefer the EMA weights when present.
        with_head: Keep the classifier (``neck.*`` and ``head.fc.*``),
            not only the backbone.
        log: Receives each line of the report.

    Returns:
        The :class:`Conversion` (already checked and written).

    Raises:
        ConversionError: If anything does not fit, naming the key.
    """
    state_dict, entry, which = select_state_dict(read_checkpoint(src),
                                                 use_ema)
    log(f'{src}: using {which}')
    state_dict, prefixed = strip_prefix(state_dict)
    if prefixed:
        log(f"stripped 'module.' from {prefixed} key(s)")
    if arch is None:
        arch, evidence = detect(state_dict)
        log(f'architecture: {arch} (detected: {evidence})')
    else:
        log(f'architecture: {arch} (given)')
    plan = plan_for(arch, with_head, state_dict)
    conversion = apply_rules(state_dict, plan.rules)
    check_against(conversion, target_shapes(plan.build), plan.rules,
                  plan.model_name)
    for line in conversion.lines()[:-1]:
        log(line)
    if conversion.dropped:
        log(f'dropped {len(conversion.dropped)} tensor(s): '
            f'{_abbreviate(conversion.dropped)}')
    log(conversion.lines()[-1])
    save_checkpoint(
        conversion.state_dict, dst,
        dict(source=osp.abspath(src), converter=converter, arch=plan.arch,
             entry=entry, ema=entry in EMA_KEYS, target=plan.model_name,
             model=copy.deepcopy(dict(plan.model_cfg)),
             with_head=with_head))
    log(f'wrote {dst}: loads strictly into {plan.model_name}')
    if not with_head:
        log(f"detection/segmentation backbones load it with init_cfg=dict("
            f"type='Pretrained', checkpoint={dst!r}, prefix='backbone.')")
    return conversion


def converter_parser(description: str,
                     archs: Sequence[str]) -> argparse.ArgumentParser:
    """The command line every converter takes.

    Args:
        description: First line of the help.
        archs: Values of ``--arch``.

    Returns:
        A parser for ``SRC DST [--arch NAME] [--no-ema] [--with-head]
        [--trust-checkpoint]``.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help='official checkpoint')
    parser.add_argument('dst', help='mmctx checkpoint to write')
    parser.add_argument(
        '--arch', choices=archs,
        help='architecture (default: detected from the keys and shapes)')
    parser.add_argument(
        '--no-ema', action='store_true',
        help='take the plain weights even if EMA weights are present')
    parser.add_argument(
        '--with-head', action='store_true',
        help='keep the classifier: the output then holds neck.* and '
        'head.fc.* besides backbone.* and loads strictly into the '
        'ImageClassifier of the matching configs/classification/ config '
        '(without it: backbone.* only, for init_cfg=dict('
        "type='Pretrained', checkpoint=DST, prefix='backbone.'))")
    parser.add_argument(
        '--trust-checkpoint', action='store_true',
        help='allow arbitrary pickled objects in SRC (only for files from '
        'a source you trust: unpickling can run code)')
    return parser


def run_converter(argv: Optional[Sequence[str]], description: str,
                  archs: Sequence[str],
                  plan_for: Callable[[str, bool, StateDict], Plan],
                  detect: Callable[[StateDict], Tuple[str, str]],
                  converter: str) -> Conversion:
    """Parse ``argv`` and convert; exit with the error on failure.

    Args:
        argv: Command-line arguments (``sys.argv[1:]`` when ``None``).
        description: First line of the help.
        archs: Values of ``--arch``.
        plan_for: See :func:`convert_checkpoint`.
        detect: See :func:`convert_checkpoint`.
        converter: Converter name, written into the meta.

    Returns:
        The conversion.
    """
    parser = converter_parser(description, archs)
    args = parser.parse_args(argv)
    if args.trust_checkpoint:
        trust_checkpoints()
    try:
        return convert_checkpoint(
            args.src, args.dst, plan_for, detect, converter, arch=args.arch,
            use_ema=not args.no_ema, with_head=args.with_head)
    except (ConversionError, FileNotFoundError,
            pickle.UnpicklingError) as exc:
        parser.exit(1, f'{parser.prog}: error: {exc}\n')
