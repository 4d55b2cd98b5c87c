"""The model zoo agrees with itself and with the configs on disk.

model-index.yml imports one metafile.yml per method folder of configs/
(mim's schema); every config of a folder is one model of its metafile,
every model's config exists, and each folder's README.md links every
config and shows the parameter and FLOP counts its metafile records.
"""
import glob
import os.path as osp
import re
from typing import Dict, List, Optional, Tuple

import pytest
import yaml

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_ROOT = osp.join(ROOT, 'configs')
INDEX = osp.join(ROOT, 'model-index.yml')
#: folders of configs/ that hold no model-zoo entries (CPU-scale demos)
NOT_ZOO = ('demo', )
#: method folders: every folder of configs/ with configs, but the demos
FOLDERS = sorted({
    osp.basename(osp.dirname(p))
    for p in glob.glob(osp.join(CONFIG_ROOT, '*', '*.py'))
} - set(NOT_ZOO))

COLLECTION_KEYS = ('Name', 'Metadata', 'Paper', 'README')
COLLECTION_METADATA_KEYS = ('Training Data', 'Architecture')
MODEL_KEYS = ('Name', 'In Collection', 'Config', 'Metadata')
RESULT_KEYS = ('Task', 'Dataset', 'Metrics')
#: metric names each task may report
TASK_METRICS = {
    'Object Detection': {'box AP'},
    'Instance Segmentation': {'mask AP'},
    'Semantic Segmentation': {'mIoU'},
    'Image Classification': {'Top 1 Accuracy', 'Top 5 Accuracy'},
}
LINK = re.compile(r'\]\(([^)\s]+)\)')


def load_yaml(path: str) -> dict:
    with open(path) as f:
        data = yaml.safe_load(f)
    assert isinstance(data, dict), f'{path}: not a YAML mapping'
    return data


def metafile_paths() -> List[str]:
    return load_yaml(INDEX)['Import']


def metafile(folder: str) -> dict:
    return load_yaml(osp.join(CONFIG_ROOT, folder, 'metafile.yml'))


def folder_configs(folder: str) -> List[str]:
    """Repository-relative paths of the configs in ``folder``."""
    return sorted(
        osp.relpath(p, ROOT)
        for p in glob.glob(osp.join(CONFIG_ROOT, folder, '*.py')))


def all_models() -> List[dict]:
    return [
        model for path in metafile_paths()
        for model in load_yaml(osp.join(ROOT, path))['Models']
    ]


def test_index_imports_one_metafile_per_method_folder():
    imports = metafile_paths()
    assert len(imports) == len(set(imports)), 'an import is listed twice'
    for path in imports:
        assert osp.isfile(osp.join(ROOT, path)), f'missing import {path}'
    expected = {f'configs/{folder}/metafile.yml' for folder in FOLDERS}
    assert set(imports) == expected


@pytest.mark.parametrize('folder', FOLDERS)
def test_metafile_follows_the_schema(folder):
    meta = metafile(folder)
    where = f'configs/{folder}/metafile.yml'
    collections = meta.get('Collections')
    assert isinstance(collections, list) and collections, \
        f'{where}: no Collections'
    names = set()
    for collection in collections:
        for key in COLLECTION_KEYS:
            assert key in collection, \
                f'{where}: collection {collection.get("Name")!r} lacks {key}'
        for key in COLLECTION_METADATA_KEYS:
            assert key in collection['Metadata'], \
                f'{where}: {collection["Name"]!r} Metadata lacks {key}'
        assert {'URL', 'Title'} <= set(collection['Paper']), where
        assert osp.isfile(osp.join(ROOT, collection['README'])), \
            f'{where}: README {collection["README"]} does not exist'
        code = collection.get('Code', {}).get('URL', '')
        if code and '://' not in code:
            assert osp.isfile(osp.join(ROOT, code)), \
                f'{where}: Code URL {code} does not exist'
        names.add(collection['Name'])
    models = meta.get('Models')
    assert isinstance(models, list) and models, f'{where}: no Models'
    for model in models:
        name = model.get('Name')
        for key in MODEL_KEYS:
            assert key in model, f'{where}: model {name!r} lacks {key}'
        assert model['In Collection'] in names, \
            f'{where}: {name!r} is in unknown collection'
        assert name == osp.splitext(osp.basename(model['Config']))[0], \
            f'{where}: {name!r} is not its config file stem'
        for key in ('FLOPs', 'Parameters'):
            value = model['Metadata'].get(key)
            assert isinstance(value, int) and value > 0, \
                f'{where}: {name!r} Metadata {key} = {value!r}'
        for result in model.get('Results', []):
            for key in RESULT_KEYS:
                assert key in result, f'{where}: {name!r} result lacks {key}'
            allowed = TASK_METRICS.get(result['Task'])
            assert allowed is not None, \
                f'{where}: {name!r} unknown task {result["Task"]!r}'
            assert set(result['Metrics']) <= allowed, \
                f'{where}: {name!r} {result["Task"]} metrics'
            for value in result['Metrics'].values():
                assert isinstance(value, (int, float)), where
        if 'Weights' in model:
            assert model['Weights'].startswith('https://'), where


def test_collection_and_model_names_are_unique():
    models = all_models()
    names = [m['Name'] for m in models]
    assert len(names) == len(set(names)), sorted(
        n for n in set(names) if names.count(n) > 1)
    collections = [
        c['Name'] for path in metafile_paths()
        for c in load_yaml(osp.join(ROOT, path))['Collections']
    ]
    assert len(collections) == len(set(collections)), collections


@pytest.mark.parametrize('folder', FOLDERS)
def test_every_config_is_one_model_of_its_folder(folder):
    listed = [m['Config'] for m in metafile(folder)['Models']]
    for config in listed:
        assert osp.isfile(osp.join(ROOT, config)), f'missing {config}'
        assert osp.dirname(config) == f'configs/{folder}', \
            f'{config} listed in configs/{folder}/metafile.yml'
    for config in folder_configs(folder):
        count = listed.count(config)
        assert count == 1, (f'{config} appears {count} times in '
                            f'configs/{folder}/metafile.yml')


def readme_links(folder: str) -> List[str]:
    with open(osp.join(CONFIG_ROOT, folder, 'README.md')) as f:
        return LINK.findall(f.read())


@pytest.mark.parametrize('folder', FOLDERS)
def test_readme_links_every_config_and_its_links_resolve(folder):
    base = osp.join(CONFIG_ROOT, folder)
    links = readme_links(folder)
    local = [link.split('#')[0] for link in links if '://' not in link]
    for link in local:
        if link:
            assert osp.exists(osp.normpath(osp.join(base, link))), \
                f'configs/{folder}/README.md: broken link {link}'
    targets = {osp.normpath(osp.join(base, link)) for link in local}
    for config in folder_configs(folder):
        assert osp.join(ROOT, config) in targets, \
            f'configs/{folder}/README.md does not link {config}'


def complexity_rows(folder: str) -> Dict[str, Tuple[float, float]]:
    """Config stem -> (params in M, GFLOPs) from the README's tables whose
    header has the 'params (M)' and 'GFLOPs' columns of
    tools/analysis/complexity.py, read from the rows that name a config of
    ``folder`` (a link to it or its bare stem) in their first cell.

    Raises:
        AssertionError: If a config has two different rows.
    """
    with open(osp.join(CONFIG_ROOT, folder, 'README.md')) as f:
        lines = f.read().splitlines()
    stems = {
        osp.splitext(osp.basename(p))[0] for p in folder_configs(folder)
    }
    rows: Dict[str, Tuple[float, float]] = {}
    columns: Optional[List[str]] = None
    for line in lines:
        if not line.startswith('|'):
            columns = None
            continue
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if columns is None:
            columns = cells
            continue
        if 'params (M)' not in columns or 'GFLOPs' not in columns:
            continue
        if set(cells[0]) <= set('-: '):
            continue  # the separator row
        link = re.search(r'([\w.-]+)\.py\)', cells[0])
        stem = link.group(1) if link else cells[0].strip('`')
        if stem not in stems:
            continue  # a row of another table (e.g. the papers' figures)
        value = (float(cells[columns.index('params (M)')]),
                 float(cells[columns.index('GFLOPs')]))
        assert rows.get(stem, value) == value, \
            f'configs/{folder}/README.md: two rows for {stem}'
        rows[stem] = value
    return rows


@pytest.mark.parametrize('folder', FOLDERS)
def test_metafile_counts_equal_the_readme_table(folder):
    rows = complexity_rows(folder)
    for model in metafile(folder)['Models']:
        name = model['Name']
        assert name in rows, (f'configs/{folder}/README.md has no params/'
                              f'GFLOPs row for {name}')
        params, gflops = rows[name]
        meta = model['Metadata']
        assert meta['Parameters'] == round(params * 1e6), name
        assert meta['FLOPs'] == round(gflops * 1e9), name


#: mmctx type -> the mmcv/mmdet type it stands for in OpenMMLab's configs
OPENMMLAB_TYPES = {'GCBlock': 'ContextBlock'}
#: weight host -> package whose model zoo the weights come from
WEIGHT_HOSTS = {
    'https://download.openmmlab.com/mmdetection/': 'mmdet',
    'https://download.openmmlab.com/mmsegmentation/': 'mmseg',
}
#: config sections that decide what a checkpoint was trained as
COMPARED = ('model', 'train_cfg', 'optim_wrapper', 'param_scheduler',
            'train_pipeline', 'test_pipeline')


def as_openmmlab(node, backbone_type: str):
    """``node`` with mmctx's type names replaced by OpenMMLab's (and the
    ``_scope_`` keys that ``mmdet::`` base configs add left out)."""
    if isinstance(node, dict):
        out = {
            k: as_openmmlab(v, backbone_type)
            for k, v in node.items() if k != '_scope_'
        }
        if out.get('type') == 'CtxResNet':
            out['type'] = backbone_type
        elif out.get('type') in OPENMMLAB_TYPES:
            out['type'] = OPENMMLAB_TYPES[out['type']]
        return out
    if isinstance(node, (list, tuple)):
        return type(node)(as_openmmlab(v, backbone_type) for v in node)
    return node


def reference_config(package: str, name: str) -> str:
    """The one config called ``name`` among ``package``'s own configs."""
    module = __import__(package)
    found = glob.glob(
        osp.join(osp.dirname(module.__file__), '.mim', 'configs', '**',
                 name),
        recursive=True)
    assert len(found) == 1, f'{package} has {len(found)} configs {name}'
    return found[0]


WEIGHTED = [(m['Config'], m['Weights']) for m in all_models()
            if any(m.get('Weights', '').startswith(h) for h in WEIGHT_HOSTS)]


@pytest.mark.parametrize('config,weights', WEIGHTED,
                         ids=[osp.basename(c) for c, _ in WEIGHTED])
def test_openmmlab_weights_belong_to_the_same_model(config, weights):
    """A model that lists an mmdet/mmseg checkpoint builds exactly the
    model of the config those weights were trained with (mmctx's blocks in
    place of mmcv's under the same keys), with the same recipe."""
    from mmengine.config import Config
    package = next(p for h, p in WEIGHT_HOSTS.items()
                   if weights.startswith(h))
    ours = Config.fromfile(osp.join(ROOT, config))
    theirs = Config.fromfile(
        reference_config(package, osp.basename(config)))
    backbone_type = theirs.model.backbone.type
    for key in COMPARED:
        assert as_openmmlab(ours.to_dict().get(key), backbone_type) == \
            as_openmmlab(theirs.to_dict().get(key), backbone_type), \
            f'{config}: {key} differs'
