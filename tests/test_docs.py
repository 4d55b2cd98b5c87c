"""README.md, CHANGELOG.md and the documentation site under docs/.

The site must build with Sphinx's warnings as errors, so that a broken
internal link, a missing anchor or a page outside every toctree fails;
README.md must stay an overview with the sections users look for; and
every repository path, ``make`` target and relative link the documents
name must exist.
"""
import os.path as osp
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List, Set, Tuple

import pytest

from conftest import ROOT

REPO = Path(ROOT)
README = REPO / 'README.md'
README_LIMIT = 15000
README_SECTIONS = ('Installation', 'Get started', 'Model zoo', 'Citation',
                   'License')
#: Folders whose paths the documents name: each must exist.
CHECKED_ROOTS = ('configs', 'tools', 'tests', 'docs', 'resources')
#: A repository path: a checked folder, then path characters.
PATH = re.compile(r'(?<![\w./:-])((?:%s)/[\w./-]*)' % '|'.join(CHECKED_ROOTS))
#: A config named by its mmctx scope, resolved under configs/.
SCOPED = re.compile(r'mmctx::([\w./-]+)')
#: Characters after a path that make it a placeholder or a pattern
#: (configs/<method>/README.md, configs/demo/*, s60_{224,384}...).
PLACEHOLDER_NEXT = ('<', '*', '{', '[')
#: Build outputs a document may name before they exist.
OUTPUTS = ('docs/_build', 'docs/_model_zoo')
LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
MAKE = re.compile(r'(?<![\w-])make ([a-z][\w-]*)')
FENCE = re.compile(r'^\s*(```|~~~)')
INLINE_CODE = re.compile(r'`([^`\n]+)`')


def documents() -> List[Path]:
    """README.md, CHANGELOG.md and the markdown pages of docs/ (without
    the build output and the model-zoo copies conf.py writes)."""
    pages = [README, REPO / 'CHANGELOG.md']
    for page in sorted((REPO / 'docs').rglob('*.md')):
        parts = page.relative_to(REPO / 'docs').parts
        if parts[0] not in ('_build', '_model_zoo'):
            pages.append(page)
    return pages


def split_fences(text: str) -> Tuple[str, str]:
    """``text`` split into its prose and its fenced code blocks."""
    prose, code, in_fence = [], [], False
    for line in text.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
        else:
            (code if in_fence else prose).append(line)
    return '\n'.join(prose), '\n'.join(code)


def outside_fences(text: str) -> str:
    """``text`` without its fenced code blocks."""
    return split_fences(text)[0]


def code_of(text: str) -> str:
    """The code of ``text``: fenced blocks and inline code spans."""
    prose, code = split_fences(text)
    return '\n'.join([code] + INLINE_CODE.findall(prose))


def named_paths(text: str) -> Iterator[Tuple[str, str]]:
    """Yield (as written, repository path) for every path ``text`` names.

    Placeholders and patterns are skipped; a trailing full stop, comma or
    colon ends the sentence, not the path.
    """
    for match in PATH.finditer(text):
        nxt = text[match.end():match.end() + 1]
        if nxt in PLACEHOLDER_NEXT:
            continue
        path = match.group(1).rstrip('.,:')
        if not path.startswith(OUTPUTS):
            yield path, path
    for match in SCOPED.finditer(text):
        yield match.group(0), 'configs/' + match.group(1).rstrip('.,:')


def github_anchors(page: Path) -> Set[str]:
    """The heading anchors GitHub (and myst's heading anchors) give a
    markdown page."""
    anchors = set()
    for line in outside_fences(page.read_text()).splitlines():
        heading = re.match(r'#{1,6}\s+(.*?)\s*#*\s*$', line)
        if heading:
            title = re.sub(r'[^\w\- ]', '', heading.group(1).lower())
            anchors.add(title.replace(' ', '-'))
    return anchors


def relative_links(page: Path) -> Iterator[str]:
    """The targets of the links and images of ``page`` that point into
    the repository (no scheme, not a bare anchor)."""
    for match in LINK.finditer(outside_fences(page.read_text())):
        target = match.group(1)
        if not re.match(r'^[a-zA-Z][\w+.-]*:', target) and \
                not target.startswith('#'):
            yield target


def makefile_targets() -> Set[str]:
    """The targets ``Makefile`` defines."""
    text = (REPO / 'Makefile').read_text()
    return set(re.findall(r'^([a-z][\w-]*):', text, flags=re.M))


def page_id(page: Path) -> str:
    """A page's path in the repository, as its test id."""
    return osp.relpath(page, REPO)


def test_docs_build_without_warnings(tmp_path):
    """Sphinx builds the site with warnings as errors."""
    cmd = [
        sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-q', '-b',
        'html', '-d',
        str(tmp_path / 'doctrees'),
        str(REPO / 'docs'),
        str(tmp_path / 'html')
    ]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, (
        'the documentation does not build cleanly:\n' + result.stderr)
    assert (tmp_path / 'html' / 'index.html').is_file()


def test_readme_is_an_overview():
    """README.md is short and has the sections of an OpenMMLab README."""
    text = README.read_text()
    assert len(text) <= README_LIMIT, (
        f'README.md has {len(text)} characters, more than {README_LIMIT}: '
        'move details into docs/')
    headings = re.findall(r'^## (.+?)\s*$', outside_fences(text), re.M)
    missing = [name for name in README_SECTIONS if name not in headings]
    assert not missing, f'README.md lacks the sections {missing}'


def test_readme_gives_the_ci_test_command():
    """.ci/run runs `make test`, the test command README.md gives."""
    assert re.search(r'^make test\s*$', README.read_text(), re.M), (
        'README.md must give `make test` as the test command')
    assert 'make test' in (REPO / '.ci' / 'run').read_text()


@pytest.mark.parametrize('page', documents(), ids=page_id)
def test_named_paths_exist(page):
    """Every configs/, tools/, tests/, docs/ and resources/ path and every
    mmctx:: config a document names exists."""
    missing = sorted({
        written
        for written, path in named_paths(page.read_text())
        if not (REPO / path).exists()
    })
    assert not missing, f'{page.name} names paths that do not exist: {missing}'


@pytest.mark.parametrize('page', documents(), ids=page_id)
def test_make_targets_exist(page):
    """Every `make TARGET` a document gives is a Makefile target."""
    targets = makefile_targets()
    unknown = sorted(set(MAKE.findall(code_of(page.read_text()))) - targets)
    assert not unknown, (
        f'{page.name} gives make targets the Makefile lacks: {unknown}')


def test_readme_links_resolve():
    """README's relative links and images point at files, and their
    anchors at headings of the linked page."""
    broken = []
    for target in relative_links(README):
        path, _, anchor = target.partition('#')
        file = REPO / path
        if not file.exists():
            broken.append(target)
        elif anchor and (file.suffix != '.md'
                         or anchor not in github_anchors(file)):
            broken.append(target)
    assert not broken, f'README.md has broken links: {broken}'
