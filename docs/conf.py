"""Sphinx configuration of the mmctx documentation.

Build with ``python -m sphinx -b html docs docs/_build/html``; the tests
build it with ``-W`` so that a broken internal link or a page missing from
every toctree fails.

The model-zoo READMEs live beside their configs (``configs/<method>/``,
where GitHub shows them). Each build copies them into ``docs/_model_zoo/``
(git-ignored), together with the config files they link to. Their links to
other files of the repository, outside ``configs/``, become code spans
naming the file; links to files that do not exist are kept, so that Sphinx
reports them.
"""
import re
import shutil
from pathlib import Path
from typing import Dict

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
CONFIGS = ROOT / 'configs'
MODEL_ZOO = DOCS / '_model_zoo'

# A markdown link or image: [text](target) or [text](target "title").
LINK = re.compile(r'(!?)\[([^\]]*)\]\(([^)\s]+)((?:\s+"[^"]*")?)\)')
SCHEME = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*:')
FENCE = re.compile(r'^\s*(```|~~~)')


def _version() -> str:
    """Read mmctx's version without importing the package.

    Returns:
        str: ``__version__`` of ``mmctx/version.py``.
    """
    about: Dict[str, str] = {}
    exec((ROOT / 'mmctx' / 'version.py').read_text(), about)
    return about['__version__']


def _rewrite_link(match: 're.Match[str]', readme: Path) -> str:
    """Make one link of a copied README work from ``docs/_model_zoo/``.

    Args:
        match (re.Match): a match of ``LINK``.
        readme (Path): the README the link is in, under ``configs/``.

    Returns:
        str: the link unchanged when its target is inside ``configs/``
        (copied alongside), external, an anchor or missing; otherwise a
        code span with the target's path in the repository (after the link
        text when that differs).
    """
    bang, text, target, title = match.groups()
    path = target.split('#', 1)[0]
    if not path or SCHEME.match(target) or target.startswith('/'):
        return match.group(0)
    resolved = (readme.parent / path).resolve()
    if CONFIGS in resolved.parents or not resolved.exists():
        return match.group(0)
    repo_path = resolved.relative_to(ROOT).as_posix()
    if bang:
        image = MODEL_ZOO / '_images' / resolved.name
        image.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(resolved, image)
        depth = len(readme.relative_to(CONFIGS).parts) - 1
        relative = '../' * depth + '_images/' + resolved.name
        return f'![{text}]({relative}{title})'
    if text.strip('`') == repo_path:
        return f'`{repo_path}`'
    return f'{text} (`{repo_path}`)'


def _rewrite_readme(readme: Path) -> str:
    """Return a config README's text with its links fixed for the site.

    Args:
        readme (Path): ``configs/<method>/README.md``.

    Returns:
        str: the text, links outside fenced code blocks rewritten by
        ``_rewrite_link``.
    """
    lines = []
    in_fence = False
    for line in readme.read_text().splitlines(keepends=True):
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            line = LINK.sub(lambda m: _rewrite_link(m, readme), line)
        lines.append(line)
    return ''.join(lines)


def copy_model_zoo() -> None:
    """Copy ``configs/*/README.md``, their configs and metafiles into
    ``_model_zoo``.

    The copies keep the ``configs/`` layout, so links between READMEs and
    to config files work on the site: ``_model_zoo/<method>/README.md``.
    """
    if MODEL_ZOO.exists():
        shutil.rmtree(MODEL_ZOO)
    for readme in sorted(CONFIGS.glob('*/README.md')):
        folder = MODEL_ZOO / readme.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        for config in [*readme.parent.glob('*.py'),
                       *readme.parent.glob('metafile.yml')]:
            shutil.copyfile(config, folder / config.name)
        (folder / 'README.md').write_text(_rewrite_readme(readme))


copy_model_zoo()

project = 'mmctx'
author = 'mmctx contributors'
copyright = 'mmctx contributors'
release = _version()
version = release

extensions = ['myst_parser']
source_suffix = {'.md': 'markdown'}
root_doc = 'index'
exclude_patterns = ['_build', 'Thumbs.db', '.DS_Store']
# Anchors for "page.md#section" links, as GitHub makes them.
myst_heading_anchors = 3
myst_enable_extensions = ['colon_fence']

html_theme = 'furo'
html_title = f'mmctx {release}'
