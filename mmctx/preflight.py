"""Checks that run before ``tools/train.py`` and ``tools/test.py`` build
anything: are the config's dataset files there, and can its pretrained
weights be loaded?

Without them a run fails minutes later, deep inside pycocotools or
mmengine's checkpoint loader. :func:`check_or_exit` prints one message
instead (what is missing, the layout the config expects, where README says
how to get it, the ``--cfg-options`` that point the config elsewhere) and
exits with status 2.

Data: every dataset of the loaders a stage builds (through
``ConcatDataset``/``RepeatDataset``-style wrappers), resolved as mmengine's
``BaseDataset`` does (``data_root`` joined with ``ann_file`` and each
``data_prefix`` entry unless absolute), plus the evaluators' ``ann_file``
(mmdet's ``CocoMetric`` reads it when built). Remote paths and non-local
``backend_args`` are not checked.

Weights: ``Pretrained`` init configs and ``pretrained`` strings anywhere in
``model`` (training only: testing never calls ``init_weights``) and
``load_from``. Decided without loading anything:

- a local path must be a file;
- ``http(s)://`` URLs must be in torch hub's download cache (where
  mmengine's loader looks first) or their host (or proxy) must accept a
  TCP connection within a few seconds;
- ``open-mmlab://`` and ``mmcls://`` names are resolved with mmengine's own
  URL lists, then as above (or a file under mmengine's home);
- ``torchvision://`` (``modelzoo://``) names need torchvision itself:
  mmengine imports it to list the URLs, so it must be installed and import
  cleanly (tried in a subprocess, so a broken build cannot disturb this
  process); the URL is then looked up in mmengine's list of the
  torchvision 0.12 names and checked as above;
- other schemes (``s3://``, ``pavi://``...) are not checked.
"""
import importlib.util
import json
import os.path as osp
import socket
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass
from typing import Callable, Iterator, List, Mapping, Optional, Tuple
from urllib.parse import urlparse

README_SECTION = 'README.md, section "Real data layout"'
STAGES = {'train': ('train', 'val'), 'test': ('test', )}
#: Dataset or metric type fragments and the layout name README uses.
LAYOUTS = (('coco', 'COCO'), ('ade20k', 'ADE20k'))
CONNECT_TIMEOUT = 3.0

Reachable = Callable[[str, int], bool]


@dataclass(frozen=True)
class DataPath:
    """A file or folder a dataset or evaluator reads.

    Args:
        owner: Config key of the dataset or evaluator, e.g.
            ``'train_dataloader.dataset'``.
        field: Its key holding the path, e.g. ``'ann_file'`` or
            ``'data_prefix.img'``.
        path: The path as the run resolves it.
        data_root: The owner's ``data_root`` ('' when none).
        layout: Data layout name, e.g. ``'COCO'``.
    """
    owner: str
    field: str
    path: str
    data_root: str
    layout: str

    @property
    def shown(self) -> str:
        """The path, with a trailing slash for folders."""
        if self.field == 'ann_file' or self.path.endswith('/'):
            return self.path
        return self.path + '/'


@dataclass(frozen=True)
class WeightProblem:
    """A checkpoint that cannot be loaded.

    Args:
        key: Config key holding it, e.g.
            ``'model.backbone.init_cfg.checkpoint'``.
        value: Its value.
        reason: Why it cannot be loaded.
        url: Download URL when known, else ''.
        disable_key: Key whose ``None`` drops this initialisation.
    """
    key: str
    value: str
    reason: str
    url: str
    disable_key: str


def layout_name(type_name: object) -> str:
    """README's name for the data layout of a dataset or metric type."""
    text = str(type_name or '')
    for fragment, name in LAYOUTS:
        if fragment in text.lower():
            return name
    return text or 'dataset'


def _is_remote(path: str) -> bool:
    return '://' in path


def _is_local(node: Mapping) -> bool:
    backend_args = node.get('backend_args') or {}
    return backend_args.get('backend', 'local') == 'local'


def dataset_configs(node: object, key: str) -> Iterator[Tuple[str, Mapping]]:
    """Leaf dataset configs below ``node``, through wrappers.

    Args:
        node: A dataloader or dataset config.
        key: Its config key.

    Yields:
        ``(key, dataset config)`` for each dataset that reads files:
        ``dataset`` (RepeatDataset, ClassBalancedDataset,
        MultiImageMixDataset, a dataloader) and ``datasets``
        (ConcatDataset) are followed.
    """
    if not isinstance(node, Mapping):
        return
    inner, many = node.get('dataset'), node.get('datasets')
    if isinstance(inner, Mapping):
        yield from dataset_configs(inner, f'{key}.dataset')
    elif isinstance(many, (list, tuple)):
        for index, dataset in enumerate(many):
            yield from dataset_configs(dataset, f'{key}.datasets.{index}')
    else:
        yield key, node


def dataset_paths(key: str, dataset: Mapping) -> List[DataPath]:
    """Files and folders one dataset config reads, joined with its
    ``data_root`` as mmengine's ``BaseDataset`` joins them.

    Args:
        key: Config key of the dataset.
        dataset: Dataset config.

    Returns:
        Its annotation file and data prefixes; none for remote storage.
    """
    root = dataset.get('data_root') or ''
    if not _is_local(dataset) or not isinstance(root, str) \
            or _is_remote(root):
        return []
    fields = []
    if isinstance(dataset.get('ann_file'), str):
        fields.append(('ann_file', dataset['ann_file']))
    prefixes = dataset.get('data_prefix') or {}
    fields += [(f'data_prefix.{name}', value)
               for name, value in prefixes.items() if isinstance(value, str)]
    layout = layout_name(dataset.get('type'))
    paths = []
    for field, value in fields:
        if field == 'ann_file' and not value:
            continue
        path = value if osp.isabs(value) else osp.join(root, value)
        if path and not _is_remote(path):
            paths.append(DataPath(key, field, path, root, layout))
    return paths


def evaluator_paths(key: str, evaluator: object) -> List[DataPath]:
    """Annotation files the metrics of an evaluator config read.

    Args:
        key: Config key of the evaluator.
        evaluator: A metric config or a list of them.

    Returns:
        One entry per metric with a local ``ann_file``.
    """
    many = isinstance(evaluator, (list, tuple))
    paths = []
    for index, metric in enumerate(evaluator if many else [evaluator]):
        if not isinstance(metric, Mapping) or not _is_local(metric):
            continue
        ann_file = metric.get('ann_file')
        if isinstance(ann_file, str) and ann_file \
                and not _is_remote(ann_file):
            owner = f'{key}.{index}' if many else key
            paths.append(
                DataPath(owner, 'ann_file', ann_file, '',
                         layout_name(metric.get('type'))))
    return paths


def data_paths(cfg: Mapping, stage: str) -> List[DataPath]:
    """Everything the loaders and evaluators of ``stage`` read.

    Args:
        cfg: The config, ``--cfg-options`` applied.
        stage: ``'train'`` (training and, when configured, validation data)
            or ``'test'``.

    Returns:
        The paths, in config order.
    """
    paths = []
    for split in STAGES[stage]:
        loader = cfg.get(f'{split}_dataloader')
        evaluator = cfg.get(f'{split}_evaluator')
        if split == 'val' and not (cfg.get('val_cfg') and loader
                                   and evaluator):
            continue
        for key, dataset in dataset_configs(loader, f'{split}_dataloader'):
            paths += dataset_paths(key, dataset)
        paths += evaluator_paths(f'{split}_evaluator', evaluator)
    return paths


def _placeholder(path: str, roots: List[str]) -> str:
    """``/path/to/...`` stand-in for ``path``, keeping what follows a known
    data root (``data/coco/annotations/x.json`` ->
    ``/path/to/coco/annotations/x.json``)."""
    for root in roots:
        base = root.rstrip('/')
        if base and (path == root or path.startswith(base + '/')):
            tail = path[len(base):]
            return '/path/to/' + osp.basename(base) + tail
    return '/path/to/' + osp.basename(path.rstrip('/')) + \
        ('/' if path.endswith('/') else '')


def data_overrides(missing: List[DataPath]) -> List[str]:
    """``--cfg-options`` entries that point the missing paths elsewhere.

    Args:
        missing: Paths that are not there.

    Returns:
        ``key=value`` strings: ``data_root`` for datasets that have one,
        the path key itself for the others and for evaluators.
    """
    roots = [item.data_root for item in missing if item.data_root]
    overrides = []
    for item in missing:
        if item.data_root:
            entry = (f'{item.owner}.data_root='
                     f'{_placeholder(item.data_root, roots)}')
        else:
            entry = f'{item.owner}.{item.field}=' \
                f'{_placeholder(item.path, roots)}'
        if entry not in overrides:
            overrides.append(entry)
    return overrides


def format_data_message(config: str, paths: List[DataPath],
                        missing: List[DataPath]) -> str:
    """The message for missing data.

    Args:
        config: Config file name.
        paths: Everything the run reads.
        missing: The part of ``paths`` that is not there.

    Returns:
        A few lines: the expected layout with the missing entries marked,
        the README section, and the ``--cfg-options`` to use elsewhere.
    """
    absent = {item.shown for item in missing}
    shown = list(dict.fromkeys(item.shown for item in paths))
    width = max(map(len, shown))
    layouts = ' / '.join(dict.fromkeys(item.layout for item in missing))
    lines = [f'error: {config} reads {layouts} data that is not there:']
    for text in shown:
        mark = '  (missing)' if text in absent else ''
        lines.append(f'  {text:<{width}}{mark}'.rstrip())
    lines.append(f'How to get it: {README_SECTION}. If it is elsewhere, '
                 'add:')
    lines.append('  --cfg-options ' + ' '.join(data_overrides(missing)))
    return '\n'.join(lines)


def checkpoint_entries(cfg: Mapping,
                       stage: str) -> List[Tuple[str, str, str]]:
    """Checkpoints a run of ``stage`` loads.

    Args:
        cfg: The config.
        stage: ``'train'`` or ``'test'``.

    Returns:
        ``(key, value, disable_key)`` for each ``Pretrained`` init config
        and ``pretrained`` string in ``model`` (training only) and for
        ``load_from``.
    """
    entries = []

    def walk(node: object, key: str) -> None:
        if isinstance(node, Mapping):
            if node.get('type') == 'Pretrained' and isinstance(
                    node.get('checkpoint'), str):
                cut = key.rfind('.init_cfg')
                disable = key[:cut + len('.init_cfg')] if cut >= 0 else key
                entries.append((f'{key}.checkpoint', node['checkpoint'],
                                disable))
            for name, value in node.items():
                if name == 'pretrained' and isinstance(value, str):
                    entries.append((f'{key}.{name}', value, f'{key}.{name}'))
                else:
                    walk(value, f'{key}.{name}')
        elif isinstance(node, (list, tuple)):
            for index, value in enumerate(node):
                walk(value, f'{key}.{index}')

    if stage == 'train':
        walk(cfg.get('model'), 'model')
    if isinstance(cfg.get('load_from'), str):
        entries.append(('load_from', cfg['load_from'], 'load_from'))
    return entries


def host_reachable(host: str, port: int,
                   timeout: float = CONNECT_TIMEOUT) -> bool:
    """Whether ``host:port`` accepts a TCP connection within ``timeout``
    seconds (name lookup included; it runs in a daemon thread so a hanging
    resolver cannot stall the caller)."""
    result = []

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result)


def _endpoint(url: str) -> Tuple[str, int]:
    """Host and port a download of ``url`` connects to (its proxy's when
    one is configured)."""
    parsed = urlparse(url)
    host = parsed.hostname or ''
    proxy = urllib.request.getproxies().get(parsed.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        parsed = urlparse(proxy if '://' in proxy else f'http://{proxy}')
        host = parsed.hostname or ''
    default = 443 if parsed.scheme == 'https' else 80
    return host, parsed.port or default


def url_problem(url: str, hub_dir: str, reachable: Reachable) -> str:
    """Why mmengine's HTTP loader would fail on ``url`` ('' if it would
    not): not in torch hub's cache and no connection to the host."""
    cache = osp.join(hub_dir, 'checkpoints')
    name = osp.basename(urlparse(url).path)
    if name and osp.isfile(osp.join(cache, name)):
        return ''
    host, port = _endpoint(url)
    if host and reachable(host, port):
        return ''
    return (f'not in the download cache {cache}/ and {host}:{port} '
            'cannot be reached')


def torchvision_problem() -> str:
    """Why ``import torchvision`` fails ('' if it works), found without
    importing it here."""
    if 'torchvision' in sys.modules:
        return ''
    if importlib.util.find_spec('torchvision') is None:
        return 'torchvision is not installed'
    proc = subprocess.run([sys.executable, '-c', 'import torchvision'],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode == 0:
        return ''
    last = (proc.stderr.strip().splitlines() or ['no output'])[-1]
    return f'importing torchvision fails ({last})'


def _mmengine_hub(name: str) -> dict:
    import mmengine
    with open(osp.join(mmengine.__path__[0], 'hub', name)) as f:
        return json.load(f)


def resolve_checkpoint(value: str) -> Tuple[str, str]:
    """The download URL (or file) behind a checkpoint value, and why it
    cannot be resolved.

    Args:
        value: A path or a URL with one of mmengine's schemes.

    Returns:
        ``(url_or_path, problem)``; ``url_or_path`` is '' for schemes not
        checked (and for torchvision names outside mmengine's list).
    """
    from mmengine.runner.checkpoint import (_get_mmengine_home,
                                            get_deprecated_model_names,
                                            get_external_models,
                                            get_mmcls_models)
    scheme, sep, name = value.partition('://')
    scheme = scheme.lower()
    if not sep:
        return osp.expanduser(value), ''
    if scheme in ('http', 'https'):
        return value, ''
    if scheme in ('torchvision', 'modelzoo'):
        url = _mmengine_hub('torchvision_0.12.json').get(name, '')
        problem = torchvision_problem()
        if problem:
            problem = (f'mmengine imports torchvision to resolve {scheme}:// '
                       f'names, and {problem}')
        return url, problem
    if scheme in ('open-mmlab', 'openmmlab'):
        name = get_deprecated_model_names().get(name, name)
        url = get_external_models().get(name)
        if url is None:
            return '', f"{name!r} is not in mmengine's open-mmlab model list"
        if url.startswith(('http://', 'https://')):
            return url, ''
        return osp.join(_get_mmengine_home(), url), ''
    if scheme == 'mmcls':
        url = get_mmcls_models().get(name)
        if url is None:
            return '', f"{name!r} is not in mmengine's mmcls model list"
        return url, ''
    return '', ''


def checkpoint_problem(value: str,
                       hub_dir: Optional[str] = None,
                       reachable: Reachable = host_reachable
                       ) -> Tuple[str, str]:
    """Why loading checkpoint ``value`` would fail.

    Args:
        value: A ``Pretrained`` checkpoint, ``pretrained`` or ``load_from``
            value.
        hub_dir: torch hub's folder (default ``torch.hub.get_dir()``).
        reachable: Decides whether a host and port can be connected to.

    Returns:
        ``(url, problem)``: the download URL when known (else ''), and the
        reason ('' when it will load).
    """
    target, problem = resolve_checkpoint(value)
    if problem or not target:
        return target, problem
    if not target.startswith(('http://', 'https://')):
        return '', '' if osp.isfile(target) else f'no such file: {target}'
    if hub_dir is None:
        import torch
        hub_dir = torch.hub.get_dir()
    return target, url_problem(target, hub_dir, reachable)


def weight_problems(cfg: Mapping,
                    stage: str,
                    hub_dir: Optional[str] = None,
                    reachable: Reachable = host_reachable
                    ) -> List[WeightProblem]:
    """Checkpoints of a ``stage`` run that cannot be loaded.

    Args:
        cfg: The config.
        stage: ``'train'`` or ``'test'``.
        hub_dir: torch hub's folder (default ``torch.hub.get_dir()``).
        reachable: Decides whether a host and port can be connected to.

    Returns:
        One entry per failing checkpoint.
    """
    problems = []
    for key, value, disable in checkpoint_entries(cfg, stage):
        url, reason = checkpoint_problem(value, hub_dir, reachable)
        if reason:
            problems.append(WeightProblem(key, value, reason, url, disable))
    return problems


def format_weight_message(problems: List[WeightProblem], stage: str) -> str:
    """The message for checkpoints that cannot be loaded.

    Args:
        problems: What fails.
        stage: ``'train'`` or ``'test'`` (names ``tools/test.py``'s
            CHECKPOINT argument for ``load_from``).

    Returns:
        The failing keys and values, then how to pass local files instead.
    """
    lines = ['error: checkpoints that cannot be loaded:']
    hints = []
    for item in problems:
        source = f' ({item.url})' if item.url else ''
        lines.append(f'  {item.key}={item.value!r}{source}: {item.reason}')
        if item.key == 'load_from' and stage == 'test':
            continue
        local = osp.basename(urlparse(item.url or item.value).path) \
            or 'checkpoint.pth'
        hints.append(f'  --cfg-options {item.key}=/path/to/{local}   '
                     f'(or {item.disable_key}=None to start without it)')
    if len(hints) < len(problems):
        lines.append('Pass an existing checkpoint file as CHECKPOINT.')
    if hints:
        lines.append('Download the file where you can and pass it instead:')
    return '\n'.join(lines + hints)


def problems_message(cfg: Mapping, stage: str) -> str:
    """Everything that would stop a run of ``stage``, as one message.

    Args:
        cfg: The config, ``--cfg-options`` and the tool's flags applied.
        stage: ``'train'`` or ``'test'``.

    Returns:
        The message, or '' when nothing is missing.
    """
    if stage not in STAGES:
        raise ValueError(f'stage must be one of {tuple(STAGES)}, '
                         f'got {stage!r}')
    config = getattr(cfg, 'filename', None) or 'the config'
    paths = data_paths(cfg, stage)
    missing = [item for item in paths if not osp.exists(item.path)]
    parts = []
    if missing:
        parts.append(format_data_message(config, paths, missing))
    problems = weight_problems(cfg, stage)
    if problems:
        parts.append(format_weight_message(problems, stage))
    return '\n'.join(parts)


def check_or_exit(cfg: Mapping, stage: str) -> None:
    """Print :func:`problems_message` to stderr and exit with status 2 if
    there is anything to report.

    Args:
        cfg: The config, ``--cfg-options`` and the tool's flags applied.
        stage: ``'train'`` or ``'test'``.
    """
    message = problems_message(cfg, stage)
    if message:
        print(message, file=sys.stderr)
        sys.exit(2)
