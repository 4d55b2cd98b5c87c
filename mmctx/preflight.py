"""Checks that run before ``tools/train.py`` and ``tools/test.py`` build
anything: are the config's dataset files there and usable, and can its
pretrained weights be loaded? And one that ``tools/test.py`` runs once the
model is built: does the checkpoint fit it?

Without them a run fails minutes later, deep inside pycocotools or
mmengine's checkpoint loader, or (a checkpoint of another architecture,
which mmengine loads with ``strict=False``) evaluates random weights
without a word. :func:`check_or_exit` and :func:`check_checkpoint_fits`
print one message instead (what is missing, the layout the config expects,
where README says how to get it, the ``--cfg-options`` that point the
config elsewhere) and exit with status 2.

Classification data (mmpretrain's ``ImageNet``/``CustomDataset`` folder
layout, :func:`folder_source`) that is there is checked further
(:func:`folder_dataset_problems`): a folder without class subfolders and
without its ``meta/<split>.txt``, class folders without images, a class
count other than ``model.head.num_classes`` or the dataset's class list,
annotation lines that are not ``<path> <label>`` or whose label is out of
range, and an ``Accuracy`` top-k above the number of classes.

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
import os
import os.path as osp
import re
import socket
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass
from typing import (Callable, Dict, Iterator, List, Mapping, Optional,
                    Sequence, Tuple)
from urllib.parse import urlparse

README_SECTION = 'README.md, section "Real data layout"'
STAGES = {'train': ('train', 'val'), 'test': ('test', )}
#: Dataset or metric type fragments and the layout name README uses.
LAYOUTS = (('coco', 'COCO'), ('ade20k', 'ADE20k'), ('imagenet', 'ImageNet'),
           ('customdataset', 'ImageNet-style folder'))
#: mmpretrain datasets reading an image folder: one subfolder per class, or
#: any folder with an annotation file of '<image path> <label>' lines.
FOLDER_DATASETS = ('ImageNet', 'ImageNet21k', 'CustomDataset')
#: Those whose ``split`` picks the folder and ``meta/<split>.txt``.
SPLIT_DATASETS = ('ImageNet', 'ImageNet21k')
#: Classes a dataset type declares when its config names none.
DEFAULT_CLASSES = {'ImageNet': 1000}
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif')
#: How many offending keys, folders or lines a message names.
EXAMPLES = 3
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


@dataclass(frozen=True)
class FolderSource:
    """Images and labels of one mmpretrain folder dataset, resolved as
    mmpretrain resolves them.

    Args:
        owner: Config key of the dataset.
        folder: Image folder.
        folder_key: Config key naming it (``data_prefix``,
            ``data_prefix.img_path`` or ``split``, after ``owner``).
        ann_file: Annotation file; '' when classes are read from folders.
        ann_key: Config key naming it (``ann_file``, or ``split`` for the
            ``meta/<split>.txt`` that ``split`` picks up).
        meta_file: The ``meta/<split>.txt`` a ``split`` would read ('' for
            datasets without ``split``).
        data_root: The dataset's ``data_root`` ('' when none).
        layout: Data layout name.
        with_label: Whether labels are read (not for the ``test`` split
            nor with ``with_label=False``).
        extensions: Image file name endings, lower case.
        classes: Number of classes the dataset declares (``None`` when it
            takes them from the folders).
        classes_key: Where that number comes from.
    """
    owner: str
    folder: str
    folder_key: str
    ann_file: str
    ann_key: str
    meta_file: str
    data_root: str
    layout: str
    with_label: bool
    extensions: Tuple[str, ...]
    classes: Optional[int]
    classes_key: str


def _type_name(value: object) -> str:
    """The bare type name of a config's ``type`` (a string such as
    ``'mmpretrain.ImageNet'`` or a class)."""
    name = value if isinstance(value, str) else getattr(value, '__name__',
                                                        '')
    return name.rpartition('.')[2]


def _join(root: str, path: str) -> str:
    """``path`` joined with ``root`` as mmengine joins dataset paths."""
    path = osp.expanduser(path)
    return osp.join(root, path) if root and not osp.isabs(path) else path


def _declared_classes(key: str, kind: str,
                      dataset: Mapping) -> Tuple[Optional[int], str]:
    """How many classes a dataset config names, and where (mmpretrain
    lets ``metainfo.classes`` win over ``classes``)."""
    metainfo = dataset.get('metainfo')
    for names, where in ((metainfo.get('classes') if isinstance(
            metainfo, Mapping) else None, f'{key}.metainfo.classes'),
                         (dataset.get('classes'), f'{key}.classes')):
        if isinstance(names, (list, tuple)):
            return len(names), where
        if isinstance(names, str):
            path = osp.expanduser(names)
            if not osp.isfile(path):
                return None, where
            with open(path, encoding='utf-8') as f:
                return len(f.read().splitlines()), f'{where} ({path})'
    count = DEFAULT_CLASSES.get(kind)
    return count, (f"{kind}'s default class list ({key}.classes unset)"
                   if count else '')


def folder_source(key: str, dataset: Mapping) -> Optional[FolderSource]:
    """Resolve an mmpretrain folder dataset config (see
    :data:`FOLDER_DATASETS`).

    ``ImageNet``'s ``split`` names the image folder when ``data_prefix``
    is empty, and its ``meta/<split>.txt`` is the annotation file when
    ``ann_file`` is empty and that file exists; with no annotation file,
    each subfolder of the image folder is a class (sorted by name).

    Args:
        key: Config key of the dataset.
        dataset: Dataset config.

    Returns:
        The resolved source, or ``None`` for other dataset types.
    """
    kind = _type_name(dataset.get('type'))
    if kind not in FOLDER_DATASETS:
        return None
    root = dataset.get('data_root') or ''
    split = (dataset.get('split') or '') if kind in SPLIT_DATASETS else ''
    prefix, prefix_key = dataset.get('data_prefix') or '', 'data_prefix'
    if isinstance(prefix, Mapping):
        prefix, prefix_key = prefix.get('img_path') or '', \
            'data_prefix.img_path'
    elif split and not prefix:
        prefix, prefix_key = split, 'split'
    ann, ann_key = dataset.get('ann_file') or '', 'ann_file'
    meta = osp.join(root, 'meta', f'{split}.txt') if split else ''
    if meta and not ann and osp.exists(meta):
        ann, ann_key = osp.join('meta', f'{split}.txt'), 'split'
    classes, classes_key = _declared_classes(key, kind, dataset)
    extensions = dataset.get('extensions') or IMG_EXTENSIONS
    return FolderSource(
        owner=key,
        folder=_join(root, prefix) if prefix else (root or '.'),
        folder_key=f'{key}.{prefix_key}',
        ann_file=_join(root, ann) if ann else '',
        ann_key=f'{key}.{ann_key}',
        meta_file=meta,
        data_root=root,
        layout=layout_name(kind),
        with_label=bool(dataset.get('with_label', True))
        and split != 'test',
        extensions=tuple(ext.lower() for ext in extensions),
        classes=classes,
        classes_key=classes_key)


def _folder_paths(source: FolderSource) -> List[DataPath]:
    """The paths of a folder dataset the missing-data check looks at: the
    image folder and an ``ann_file`` the config names."""
    skip = len(source.owner) + 1
    paths = [
        DataPath(source.owner, source.folder_key[skip:], source.folder,
                 source.data_root, source.layout)
    ]
    if source.ann_file and source.ann_key.endswith('.ann_file'):
        paths.append(
            DataPath(source.owner, 'ann_file', source.ann_file,
                     source.data_root, source.layout))
    return paths


def dataset_paths(key: str, dataset: Mapping) -> List[DataPath]:
    """Files and folders one dataset config reads, joined with its
    ``data_root`` as mmengine's ``BaseDataset`` joins them.

    Args:
        key: Config key of the dataset.
        dataset: Dataset config.

    Returns:
        Its annotation file and data prefixes; none for remote storage.
        For mmpretrain's folder datasets (:data:`FOLDER_DATASETS`) the
        image folder is the one ``split`` picks when ``data_prefix`` is
        empty, and ``meta/<split>.txt`` is optional (without it the
        classes are read from folders), as in mmpretrain.
    """
    root = dataset.get('data_root') or ''
    if not _is_local(dataset) or not isinstance(root, str) \
            or _is_remote(root):
        return []
    source = folder_source(key, dataset)
    if source is not None:
        return _folder_paths(source)
    fields = []
    if isinstance(dataset.get('ann_file'), str):
        fields.append(('ann_file', dataset['ann_file']))
    prefixes = dataset.get('data_prefix') or {}
    if isinstance(prefixes, str):
        prefixes = {'': prefixes}
    fields += [(f'data_prefix.{name}'.rstrip('.'), value)
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


def stage_splits(cfg: Mapping,
                 stage: str) -> Iterator[Tuple[str, object, object]]:
    """The loader splits a run of ``stage`` uses.

    Args:
        cfg: The config.
        stage: ``'train'`` (training and, when configured, validation) or
            ``'test'``.

    Yields:
        ``(split, dataloader config, evaluator config)``; validation when
        ``val_cfg`` is set (mmpretrain's empty ``dict()`` included, as for
        mmengine's runner) and there is a loader and an evaluator.
    """
    for split in STAGES[stage]:
        loader = cfg.get(f'{split}_dataloader')
        evaluator = cfg.get(f'{split}_evaluator')
        if split == 'val' and (cfg.get('val_cfg') is None or not loader
                               or not evaluator):
            continue
        yield split, loader, evaluator


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
    for split, loader, evaluator in stage_splits(cfg, stage):
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


def _examples(items: Sequence[str], limit: int = EXAMPLES) -> str:
    """The first ``limit`` items, comma-separated, and how many follow."""
    shown = ', '.join(items[:limit])
    more = len(items) - limit
    return f'{shown} and {more} more' if more > 0 else shown


def head_classes(cfg: Mapping) -> Tuple[str, Optional[int]]:
    """``('model.head.num_classes', value)``; ``None`` when the model has
    no head with an integer ``num_classes``."""
    head = (cfg.get('model') or {}).get('head')
    count = head.get('num_classes') if isinstance(head, Mapping) else None
    valid = isinstance(count, int) and not isinstance(count, bool)
    return 'model.head.num_classes', count if valid else None


def _has_image(folder: str, extensions: Tuple[str, ...]) -> bool:
    """Whether any file below ``folder`` ends with one of ``extensions``
    (mmpretrain's test; case-insensitive)."""
    for _, _, files in os.walk(folder, followlinks=True):
        if any(name.lower().endswith(extensions) for name in files):
            return True
    return False


def _class_folder_problems(config: str, source: FolderSource,
                           head: Tuple[str, Optional[int]]) -> List[str]:
    """What stops (or silently spoils) reading classes from the subfolders
    of ``source.folder``."""
    folder = source.folder.rstrip('/') + '/'
    where = f'{folder} ({source.folder_key})'
    classes = sorted(entry.name for entry in os.scandir(source.folder)
                     if entry.is_dir())
    if not classes:
        if source.meta_file:
            split_key = f'{source.owner}.split'
            return [
                f'error: {config}: {where} holds no class folders, and '
                f'there is no annotation file {source.meta_file} (which '
                f'{split_key} reads when it exists).\n'
                f'  Write {source.meta_file} (one "<image path relative to '
                f'{folder}> <label>" line per image), put the images in one '
                'folder per class, or name another file: --cfg-options '
                f'{source.owner}.ann_file=/path/to/annotations.txt'
            ]
        return [
            f'error: {config}: {where} holds no class folders, and '
            f'{source.owner}.ann_file is empty.\n'
            '  Put the images in one folder per class, or name an annotation '
            'file of "<image path> <label>" lines: --cfg-options '
            f'{source.owner}.ann_file=/path/to/annotations.txt'
        ]
    problems = []
    empty = [
        osp.join(folder, name) + '/' for name in classes
        if not _has_image(osp.join(folder, name), source.extensions)
    ]
    if empty:
        problems.append(
            f'error: {config}: {len(empty)} of the {len(classes)} class '
            f'folders of {where} hold no images: {_examples(empty)}.\n'
            '  mmpretrain would only warn and keep each as a class without '
            'samples; an empty class folder usually means an incomplete '
            f'copy. Add the images ({", ".join(source.extensions)}) or '
            'remove the folders.')
    head_key, count = head
    if count is not None and count != len(classes):
        problems.append(
            f'error: {config}: {where} has {len(classes)} class folders, but '
            f'{head_key}={count}. Labels are the indices of the sorted class '
            'folders, so the two must agree.\n'
            '  Point the dataset at the data of this model, or use a config '
            f'whose head has {len(classes)} classes.')
    if source.classes is not None and source.classes != len(classes):
        problems.append(
            f'error: {config}: {where} has {len(classes)} class folders, but '
            f'{source.classes_key} has {source.classes} classes (mmpretrain '
            'stops on this).\n'
            f'  Name the classes in {source.owner}.classes, in the sorted '
            'order of the folders.')
    return problems


def _annotation_problems(config: str, source: FolderSource,
                         bound: Tuple[str, Optional[int]]) -> List[str]:
    """Lines of ``source.ann_file`` mmpretrain cannot read or whose label
    is outside ``0..bound - 1``."""
    where = f'{source.ann_file} ({source.ann_key})'
    malformed, outside, total = [], [], 0
    try:
        with open(source.ann_file, encoding='utf-8') as f:
            for number, line in enumerate(f, 1):
                total += 1
                parts = line.strip().rsplit(' ', 1)
                label = parts[-1].strip()
                if len(parts) != 2 or not label.lstrip('-').isdigit():
                    malformed.append((number, line.strip()))
                elif int(label) < 0 or (bound[1] is not None
                                        and int(label) >= bound[1]):
                    outside.append((number, int(label)))
    except UnicodeDecodeError as exc:
        return [f'error: {config}: {where} is not UTF-8 text ({exc}); it '
                'should hold "<image path> <label>" lines.']
    problems = []
    if not total:
        problems.append(f'error: {config}: {where} is empty; it should hold '
                        'one "<image path> <label>" line per image.')
    if malformed:
        number, text = malformed[0]
        problems.append(
            f'error: {config}: {where} line {number}: {text!r} is not '
            f'"<image path> <label>" (an integer label after the last '
            f'space); {len(malformed)} of its {total} lines are like this.')
    if outside:
        number, label = outside[0]
        limit = (f'0..{bound[1] - 1} ({bound[0]}={bound[1]})'
                 if bound[1] is not None else '0 and up')
        problems.append(
            f'error: {config}: {where} line {number}: label {label} is '
            f'outside {limit}; {len(outside)} of its {total} lines are.')
    return problems


def topk_problems(config: str, key: str, evaluator: object,
                  head: Tuple[str, Optional[int]]) -> List[str]:
    """``Accuracy`` metrics asking for a top-k beyond the head's classes
    (mmpretrain raises only once the whole run is over).

    Args:
        config: Config file name.
        key: Config key of the evaluator, e.g. ``'test_evaluator'``.
        evaluator: A metric config or a list of them.
        head: :func:`head_classes` of the config.

    Returns:
        One message per such metric.
    """
    head_key, count = head
    many = isinstance(evaluator, (list, tuple))
    problems = []
    for index, metric in enumerate(evaluator if many else [evaluator]):
        if count is None or not isinstance(metric, Mapping) or _type_name(
                metric.get('type')) != 'Accuracy':
            continue
        topk = metric.get('topk', (1, ))
        topk = [topk] if isinstance(topk, int) else list(topk)
        if max(topk, default=0) <= count:
            continue
        name = f'{key}.{index}' if many else key
        kept = ','.join(str(k) for k in topk if k <= count) or '1'
        problems.append(
            f'error: {config}: {name}.topk={tuple(topk)} asks for top-'
            f'{max(topk)} accuracy, but {head_key}={count} (mmpretrain\'s '
            'Accuracy fails on it after the whole run).\n'
            f'  --cfg-options {name}.topk={kept}')
    return problems


def folder_dataset_problems(cfg: Mapping, stage: str) -> List[str]:
    """Classification data that is there but cannot be used as configured.

    For each mmpretrain folder dataset of ``stage`` whose files exist:
    class folders (none, or some without images, or not as many as the
    head's or the dataset's classes) or annotation lines (not
    ``<path> <label>``, or a label outside the head's classes); and the
    ``Accuracy`` top-k of the stage's evaluators.

    Args:
        cfg: The config, ``--cfg-options`` applied.
        stage: ``'train'`` or ``'test'``.

    Returns:
        One message block per problem, each naming the file or folder and
        its config key.
    """
    config = getattr(cfg, 'filename', None) or 'the config'
    head = head_classes(cfg)
    problems = []
    for split, loader, evaluator in stage_splits(cfg, stage):
        for key, dataset in dataset_configs(loader, f'{split}_dataloader'):
            source = folder_source(key, dataset)
            if source is None or not source.with_label \
                    or not _is_local(dataset) or _is_remote(source.folder):
                continue
            if source.ann_file:
                if osp.isfile(source.ann_file):
                    bound = head if head[1] is not None else (
                        source.classes_key, source.classes)
                    problems += _annotation_problems(config, source, bound)
            elif osp.isdir(source.folder):
                problems += _class_folder_problems(config, source, head)
        problems += topk_problems(config, f'{split}_evaluator', evaluator,
                                  head)
    return problems


#: Model state keys a checkpoint may lack: BatchNorm step counters (unused
#: when testing; older checkpoints have none), input normalisation buffers
#: (set from the config) and mmseg's auxiliary head (used in training only).
OPTIONAL_KEYS = re.compile(
    r'(^|\.)num_batches_tracked$|^data_preprocessor\.|^auxiliary_head\.')


def checkpoint_state(checkpoint: object) -> Dict[str, object]:
    """The state dict mmengine's runner loads from a checkpoint: its
    ``state_dict`` entry (else the checkpoint itself), with the
    ``module.`` prefix of wrapped models removed, tensors only.

    Args:
        checkpoint: A loaded checkpoint.

    Returns:
        Tensors by key; empty for anything else.
    """
    if not isinstance(checkpoint, Mapping):
        return {}
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, Mapping):
        return {}
    return {
        re.sub(r'^module\.', '', key): value
        for key, value in state.items() if hasattr(value, 'shape')
    }


def state_mismatch(
    model_state: Mapping[str, object], state: Mapping[str, object]
) -> Tuple[List[str], List[str], List[str], int]:
    """Compare a checkpoint's state dict with a model's.

    Args:
        model_state: The model's ``state_dict()``.
        state: The checkpoint's (:func:`checkpoint_state`).

    Returns:
        ``(missing, unexpected, mismatched, required)``: model keys the
        checkpoint lacks (keys matching :data:`OPTIONAL_KEYS` excepted),
        checkpoint keys the model lacks, ``'key: checkpoint (..) vs model
        (..)'`` for different shapes, and how many model keys are required.
    """
    required = [key for key in model_state if not OPTIONAL_KEYS.search(key)]
    missing = [key for key in required if key not in state]
    unexpected = [key for key in state if key not in model_state]
    mismatched = [
        f'{key}: checkpoint {tuple(value.shape)} vs model '
        f'{tuple(model_state[key].shape)}' for key, value in state.items()
        if key in model_state
        and tuple(value.shape) != tuple(model_state[key].shape)
    ]
    return missing, unexpected, mismatched, len(required)


def checkpoint_fit_message(model: object, checkpoint: str,
                           config: str) -> str:
    """Why ``checkpoint`` does not fit ``model`` ('' when it does).

    mmengine's runner loads test checkpoints with ``strict=False``: keys
    it does not find keep their random initial values and a checkpoint of
    another architecture evaluates silently. Extra checkpoint keys (an EMA
    copy, an auxiliary head, input statistics) are harmless and pass
    unless something is missing too.

    Args:
        model: The built model (a DDP-style wrapper is unwrapped).
        checkpoint: Path or URL, loaded with mmengine's loader (mmctx's safe
            loader for local files).
        config: Config file name for the message.

    Returns:
        The message: counts and examples of missing and unexpected keys
        and of different shapes.

    Raises:
        CheckpointError: If the checkpoint cannot be read or is refused.
    """
    from mmengine.model import is_model_wrapper
    from mmengine.runner.checkpoint import CheckpointLoader
    if is_model_wrapper(model):
        model = model.module
    state = checkpoint_state(
        CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu'))
    missing, unexpected, mismatched, required = state_mismatch(
        model.state_dict(), state)
    if not (missing or mismatched):
        return ''
    lines = [f'error: {checkpoint} does not fit the model of {config}:']
    if missing:
        lines.append(f'  {len(missing)} of {required} model keys missing: '
                     f'{_examples(missing)}')
    if unexpected:
        lines.append(f'  {len(unexpected)} checkpoint keys the model does '
                     f'not have: {_examples(unexpected)}')
    if mismatched:
        lines.append(f'  {len(mismatched)} shapes differ: '
                     f'{_examples(mismatched)}')
    held = {key.split('.')[0] for key in state}
    absent = list(dict.fromkeys(
        key.split('.')[0] for key in missing
        if key.split('.')[0] not in held))
    if absent and 'backbone' in held:
        converted = set(absent) <= {'neck', 'head'}
        lines.append(
            f'  It holds no {", ".join(absent)} weights at all: a '
            'backbone-only checkpoint?' +
            (' (tools/model_converters/ add the neck and head with '
             '--with-head.)' if converted else ''))
    lines.append('Testing it would leave those weights random. Test it with '
                 'the config it was trained with (or converted for).')
    return '\n'.join(lines)


def check_checkpoint_fits(model: object, checkpoint: str,
                          config: str) -> None:
    """Print :func:`checkpoint_fit_message` to stderr and exit with status
    2 if the checkpoint does not fit the model.

    Args:
        model: The built model.
        checkpoint: Path or URL of the checkpoint.
        config: Config file name for the message.
    """
    message = checkpoint_fit_message(model, checkpoint, config)
    if message:
        print(message, file=sys.stderr)
        sys.exit(2)


def pretrained_inits(model: object) -> Iterator[Tuple[str, object, Mapping]]:
    """The ``Pretrained`` init configs of a built model's modules.

    Args:
        model: The built model (a DDP-style wrapper is unwrapped).

    Yields:
        ``(name, module, init_cfg)`` per ``Pretrained`` entry of a module's
        ``init_cfg`` (a dict or a list of them); ``name`` is the module's
        dotted name in the model, '' for the model itself.
    """
    from mmengine.model import is_model_wrapper
    if is_model_wrapper(model):
        model = model.module
    for name, module in model.named_modules():
        init_cfg = getattr(module, 'init_cfg', None)
        entries = init_cfg if isinstance(init_cfg, list) else [init_cfg]
        for entry in entries:
            if isinstance(entry, Mapping) and \
                    entry.get('type') == 'Pretrained' and \
                    entry.get('checkpoint'):
                yield name, module, entry


def _kind(key: str) -> str:
    """A state key with its block and branch indices replaced by ``#``:
    ``layer3.6.conv1.weight`` -> ``layer3.#.conv1.weight``."""
    return re.sub(r'(?<=\.)\d+(?=\.)', '#', key)


def init_fit_message(model: object, config: str) -> str:
    """Why a ``Pretrained`` init checkpoint does not fit the module it
    initialises ('' when every one fits).

    mmengine loads these with ``strict=False`` and only logs what it could
    not load, so a checkpoint of another depth or width trains on from
    partly random weights. Keys the checkpoint has no counterpart of at
    all are new modules and may start from their own initialisation (GC
    blocks added to a pretrained ResNet, PatchConvNet's pyramid branches);
    a run stops when shapes differ, when nothing matches (a wrong
    ``prefix``), or when the module lacks keys of a kind the checkpoint
    holds at other indices (``layer3.6.*`` missing from a checkpoint with
    ``layer3.0-5``: a deeper network). Local files only: remote weights are
    checked for reachability before the run (:func:`weight_problems`).

    Args:
        model: The built model, before ``init_weights``.
        config: Config file name for the message.

    Returns:
        The message.

    Raises:
        CheckpointError: If a checkpoint cannot be read or is refused.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    lines = []
    for name, module, init in pretrained_inits(model):
        path, prefix = init['checkpoint'], init.get('prefix')
        if not osp.isfile(path):
            continue
        held = checkpoint_state(
            CheckpointLoader.load_checkpoint(path, map_location='cpu'))
        state = {key[len(prefix or ''):]: value
                 for key, value in held.items()
                 if key.startswith(prefix or '')}
        model_state = module.state_dict()
        missing, _, mismatched, required = state_mismatch(model_state, state)
        kinds = {_kind(key) for key in state}
        structural = [key for key in missing if _kind(key) in kinds]
        matched = set(state) & set(model_state)
        if not (mismatched or structural or not matched):
            continue
        key = '.'.join(['model', name, 'init_cfg'] if name else
                       ['model', 'init_cfg'])
        lines.append(f'error: {path} ({key}' +
                     (f", prefix={prefix!r}" if prefix else '') +
                     f') does not fit the {type(module).__name__} of '
                     f'{config}:')
        if not matched:
            lines.append(f'  none of its {len(state)} tensors'
                         f'{" under " + repr(prefix) if prefix else ""} '
                         'matches a key of the module')
            heads = sorted({key.split('.')[0] + '.' for key in held})
            lines.append(f'  its keys start with: {_examples(heads)}')
        if structural:
            lines.append(f'  {len(structural)} of {required} module keys '
                         'missing where the checkpoint has the same kind '
                         f'at other indices: {_examples(structural)}')
        if mismatched:
            lines.append(f'  {len(mismatched)} shapes differ: '
                         f'{_examples(mismatched)}')
    if lines:
        lines.append('Training would start those weights at random. Point '
                     'the init_cfg at a checkpoint of this architecture '
                     '(BoTNet tables for other input sizes: '
                     'tools/model_converters/resize_rel_tables.py).')
    return '\n'.join(lines)


def check_init_fits(model: object, config: str) -> None:
    """Print :func:`init_fit_message` to stderr and exit with status 2 if a
    ``Pretrained`` init checkpoint does not fit its module.

    Args:
        model: The built model, before ``init_weights``.
        config: Config file name for the message.
    """
    message = init_fit_message(model, config)
    if message:
        print(message, file=sys.stderr)
        sys.exit(2)


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
    parts += folder_dataset_problems(cfg, stage)
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
