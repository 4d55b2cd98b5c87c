"""The offline install: ``tools/install.sh`` with ``WHEELHOUSE`` installs
from that folder alone, and ``tools/make_wheelhouse.sh`` downloads all that
the install and ``setup.py`` need.

The install runs in a fresh virtualenv that sees this environment's
packages (the heavy stack: torch, a built mmcv) through a folder of links,
less the distributions a test hides; the wheelhouse serves those, as tiny
wheels the test writes. A local index that records every request stands in
for the package index, so any index access shows. The CUDA build choices
run against a stand-in torch that reports a CUDA build and GPUs.
"""
import ast
import base64
import hashlib
import http.server
import os
import os.path as osp
import shlex
import shutil
import subprocess
import sys
import sysconfig
import threading
import zipfile
from importlib.metadata import distributions
from typing import Dict, Iterator, List, Sequence, Tuple

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import ROOT

REPO_FILES = ('setup.py', 'README.md', 'mmctx', 'tools/install.sh',
              'tools/requirements.sh')


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers 404 to everything and records the requested paths."""

    requests: List[str] = []

    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        self.requests.append(self.path)
        self.send_error(404)

    def log_message(self, *args) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def index_url() -> Iterator[Tuple[str, List[str]]]:
    """A package index on localhost; yields its URL and the paths asked."""
    requests: List[str] = []
    handler = type('Recorder', (_Recorder, ), {'requests': requests})
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{server.server_port}/simple', requests
    server.shutdown()
    server.server_close()


def write_wheel(folder: str, name: str, version: str,
                requires: Sequence[str] = ()) -> str:
    """Write a pure-Python wheel of an empty package.

    Args:
        folder: where the wheel goes.
        name: distribution and package name.
        version: its version.
        requires: its ``Requires-Dist`` requirements.

    Returns:
        The wheel's path.
    """
    info = f'{name}-{version}.dist-info'
    metadata = ''.join(f'Requires-Dist: {req}\n' for req in requires)
    files = {
        f'{name}/__init__.py': f'__version__ = {version!r}\n',
        f'{info}/METADATA': ('Metadata-Version: 2.1\n'
                             f'Name: {name}\nVersion: {version}\n' +
                             metadata),
        f'{info}/WHEEL': ('Wheel-Version: 1.0\nGenerator: test_install\n'
                          'Root-Is-Purelib: true\nTag: py3-none-any\n'),
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(
            hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()
        record.append(f'{path},sha256={digest},{len(text.encode())}\n')
    files[f'{info}/RECORD'] = ''.join(record) + f'{info}/RECORD,,\n'
    path = osp.join(folder, f'{name}-{version}-py3-none-any.whl')
    os.makedirs(folder, exist_ok=True)
    with zipfile.ZipFile(path, 'w') as wheel:
        for member, text in files.items():
            wheel.writestr(member, text)
    return path


def make_env(root: str, hide: Sequence[str]) -> Tuple[str, str]:
    """A virtualenv seeing this environment's packages but ``hide``.

    Args:
        root: folder to create it in.
        hide: names of distributions it must not see.

    Returns:
        Its python executable and its own site-packages folder.
    """
    site_dirs = {sysconfig.get_paths()[key] for key in ('purelib', 'platlib')}
    hidden = set()
    for dist in distributions(path=sorted(site_dirs)):
        if canonicalize_name(dist.metadata['Name']) in hide:
            hidden.update(str(file).split('/')[0]
                          for file in dist.files or ())
    links = osp.join(root, 'links')
    os.makedirs(links)
    for site_dir in site_dirs:
        for entry in os.listdir(site_dir):
            if entry not in hidden and entry != '__pycache__':
                os.symlink(osp.join(site_dir, entry), osp.join(links, entry))
    env_dir = osp.join(root, 'venv')
    base = getattr(sys, '_base_executable', sys.executable)
    subprocess.run([base, '-m', 'venv', '--without-pip', env_dir], check=True)
    python = osp.join(env_dir, 'bin', 'python')
    own_site = subprocess.run(
        [python, '-c', 'import sysconfig; print(sysconfig.get_paths()'
         '["purelib"])'], check=True, capture_output=True,
        text=True).stdout.strip()
    # outside the new environment, so its pip never removes what it sees
    with open(osp.join(own_site, 'links.pth'), 'w') as f:
        f.write(f'import site; site.addsitedir({links!r})\n')
    return python, own_site


def copy_repo(dest: str) -> str:
    """Copy the files the install reads into ``dest``; return it."""
    for rel in REPO_FILES:
        src = osp.join(ROOT, rel)
        if osp.isdir(src):
            shutil.copytree(src, osp.join(dest, rel),
                            ignore=shutil.ignore_patterns('__pycache__'))
        else:
            os.makedirs(osp.dirname(osp.join(dest, rel)), exist_ok=True)
            shutil.copy2(src, osp.join(dest, rel))
    return dest


def install(repo: str, python: str, wheelhouse: str, index: str,
            find_links: str = '', **extra: str) -> subprocess.CompletedProcess:
    """Run the copied ``tools/install.sh`` offline.

    Args:
        repo: the copy to run.
        python: the environment to install into.
        wheelhouse: ``WHEELHOUSE``.
        index: the package index pip must not reach.
        find_links: ``PIP_FIND_LINKS`` as a user may have set it.
        **extra: more environment variables.

    Returns:
        The finished process, with ``output``: stdout and stderr.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('PIP_', 'CUDA', 'TORCH_CUDA'))}
    env.update(PYTHON=python, WHEELHOUSE=wheelhouse, PIP_INDEX_URL=index,
               PIP_FIND_LINKS=find_links, PIP_RETRIES='0',
               PIP_DEFAULT_TIMEOUT='5', PYTHONNOUSERSITE='1', **extra)
    proc = subprocess.run(['bash', osp.join(repo, 'tools', 'install.sh')],
                          env=env, capture_output=True, text=True,
                          timeout=600)
    proc.output = proc.stdout + proc.stderr
    return proc


def installed(python: str, name: str) -> Dict[str, str]:
    """Version and location of ``name`` as ``python`` sees it."""
    code = ('import sys; from importlib.metadata import distribution as d; '
            'x = d(sys.argv[1]); print(x.version); '
            'print(x.locate_file(""))')
    out = subprocess.run([python, '-c', code, name], check=True,
                         capture_output=True, text=True,
                         cwd=osp.dirname(python)).stdout.split('\n')
    return dict(version=out[0], location=out[1])


def test_install_from_wheelhouse_only(tmp_path, index_url):
    index, requests = index_url
    repo = copy_repo(str(tmp_path / 'repo'))
    python, own_site = make_env(str(tmp_path), hide=('pytest', 'mmctx'))
    wheelhouse = str(tmp_path / 'wheelhouse')
    os.makedirs(wheelhouse)
    # pip's own find-links setting must add no source: the decoy would
    # install
    decoy = str(tmp_path / 'decoy')
    write_wheel(decoy, 'pytest', '2.0')
    # a wheel whose requirements would replace the installed torch fails
    write_wheel(wheelhouse, 'pytest', '1.0', requires=['torch>=99'])
    write_wheel(wheelhouse, 'torch', '99.0')
    proc = install(repo, python, wheelhouse, index, decoy)
    assert proc.returncode != 0, proc.output
    assert 'torch' in proc.output
    assert installed(python, 'torch')['version'] != '99.0'

    os.remove(osp.join(wheelhouse, 'pytest-1.0-py3-none-any.whl'))
    write_wheel(wheelhouse, 'pytest', '1.1')
    proc = install(repo, python, wheelhouse, index, decoy)
    assert proc.returncode == 0, proc.output
    assert '[install] mmctx' in proc.output and 'ready' in proc.output
    pytest_dist = installed(python, 'pytest')
    assert pytest_dist['version'] == '1.1'
    assert pytest_dist['location'].startswith(own_site)
    assert installed(python, 'mmctx')['location'].startswith(own_site)
    assert requests == []


def test_install_names_missing_torch_and_bad_folder(tmp_path, index_url):
    index, requests = index_url
    repo = copy_repo(str(tmp_path / 'repo'))
    python, _ = make_env(str(tmp_path), hide=('torch', ))
    wheelhouse = str(tmp_path / 'wheelhouse')
    os.makedirs(wheelhouse)
    proc = install(repo, python, wheelhouse, index)
    assert proc.returncode != 0, proc.output
    assert (f'the wheelhouse {wheelhouse} has no distribution of torch=='
            in proc.stderr), proc.output
    assert 'TORCH=1' in proc.stderr

    proc = install(repo, python, str(tmp_path / 'absent'), index)
    assert proc.returncode != 0
    assert f'WHEELHOUSE={tmp_path}/absent is not a folder' in proc.stderr
    assert requests == []


def _setup_requirements() -> List[str]:
    """``install_requires`` and every extra of ``setup.py``."""
    tree = ast.parse(open(osp.join(ROOT, 'setup.py')).read())
    call = next(node for node in ast.walk(tree)
                if isinstance(node, ast.Call)
                and getattr(node.func, 'id', None) == 'setup')
    kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords
              if kw.arg in ('install_requires', 'extras_require')}
    extras = [req for reqs in kwargs['extras_require'].values()
              for req in reqs]
    return kwargs['install_requires'] + extras


def _wheelhouse_commands(dest: str, **env: str) -> List[List[str]]:
    proc = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'make_wheelhouse.sh'), dest],
        env=dict(os.environ, DRY_RUN='1', **env), capture_output=True,
        text=True, check=True)
    return [shlex.split(line) for line in proc.stdout.splitlines()
            if 'pip download' in line]


def _requirements(command: Sequence[str]) -> List[str]:
    """The canonical names a ``pip download`` command asks for."""
    takes_value = {'--dest', '--python-version', '--platform',
                   '--only-binary', '--no-binary'}
    start = command.index('download') + 1
    names, args = [], iter(command[start:])
    for arg in args:
        if arg in takes_value:
            next(args)
        elif not arg.startswith('-'):
            names.append(canonicalize_name(Requirement(arg).name))
    return names


def test_wheelhouse_holds_what_install_needs(tmp_path):
    dest = str(tmp_path / 'wh')
    wheels, alone, sdist = _wheelhouse_commands(
        dest, TORCH='1', PYTHON_VERSION='3.10',
        PLATFORM='manylinux_2_28_x86_64 win_amd64')
    assert wheels[wheels.index('--dest') + 1] == dest
    assert wheels[wheels.index('--only-binary') + 1] == ':all:'
    assert wheels[wheels.index('--python-version') + 1] == '3.10'
    # pip takes a platform literally: glibc 2.28 also runs older wheels
    older = [f'manylinux_2_{glibc}_x86_64' for glibc in range(28, 4, -1)]
    assert [wheels[i + 1] for i, arg in enumerate(wheels)
            if arg == '--platform'] == older + ['manylinux2014_x86_64',
                                                 'win_amd64']
    assert _requirements(sdist) == ['mmcv']
    assert sdist[sdist.index('--no-binary') + 1] == ':all:'
    assert '--no-deps' in sdist
    assert any(arg.startswith('PIP_CONSTRAINT=') for arg in sdist)
    # openmim without its requirements (its MIM_DEPS are in the stack)
    assert _requirements(alone) == ['openmim'] and '--no-deps' in alone
    assert 'torchvision' in _requirements(wheels)

    needed = {canonicalize_name(Requirement(req).name)
              for req in _setup_requirements()} - {'mmcv'}
    install_lists = subprocess.run(
        ['bash', '-c', 'source tools/requirements.sh; '
         'printf "%s\\n" "${BUILD_DEPS[@]}" "${STACK[@]}" "$MIM_SPEC"'],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    needed |= {canonicalize_name(Requirement(req).name)
               for req in install_lists}
    assert needed - set(_requirements(wheels) + _requirements(alone)) \
        == set()

    wheels, alone, _ = _wheelhouse_commands(dest, TORCH_VERSION='2.4.1')
    assert 'torch' not in _requirements(wheels)
    # the target's torch keeps its own torchvision, without torch
    assert 'torchvision==0.19.*' in alone and '--no-deps' in alone
    assert '--python-version' not in wheels and '--platform' not in wheels


def test_wheelhouse_needs_a_folder():
    proc = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'make_wheelhouse.sh')],
        capture_output=True, text=True)
    assert proc.returncode == 2
    assert 'usage' in proc.stderr


def write_fake_torch(site_dir: str, cuda: str, archs: Sequence[str],
                     cuda_home: str) -> None:
    """Write a stand-in ``torch`` that reports a CUDA build and GPUs.

    Args:
        site_dir: the site-packages folder to write it to.
        cuda: ``torch.version.cuda``; empty for a CPU build.
        archs: compute capabilities of the visible GPUs, e.g. ``['9.0']``.
        cuda_home: the CUDA toolkit torch's extension builder finds.
    """
    root = osp.join(site_dir, 'torch')
    os.makedirs(osp.join(root, 'utils'), exist_ok=True)
    capabilities = [tuple(map(int, arch.split('.'))) for arch in archs]
    files = {
        '__init__.py': "__version__ = '2.4.0'\nfrom . import cuda, version\n",
        'version.py': f'cuda = {cuda or None!r}\n',
        'cuda.py': (f'CAPABILITIES = {capabilities!r}\n'
                    'def device_count():\n    return len(CAPABILITIES)\n'
                    'def get_device_capability(i):\n'
                    '    return CAPABILITIES[i]\n'),
        'utils/__init__.py': '',
        'utils/cpp_extension.py': f'CUDA_HOME = {cuda_home!r}\n',
    }
    for rel, text in files.items():
        with open(osp.join(root, rel), 'w') as f:
            f.write(text)


@pytest.mark.parametrize('cuda, archs, arch_list, nvcc, expected', [
    ('', [], '', True, 'building mmcv==2.1.0 with its ops'),
    ('12.1', ['9.0'], '', True,
     'building mmcv==2.1.0 with CPU and CUDA ops (CUDA 12.1, {nvcc}) for '
     'arch 9.0'),
    ('12.1', ['9.0'], '8.0', True,
     'CUDA ops (CUDA 12.1, {nvcc}) for arch 8.0'),
    ('12.1', ['9.0'], '', False, 'no CUDA toolkit with nvcc'),
    ('12.1', [], '', True,
     "no GPU is visible: building mmcv's CPU ops only (set "
     'TORCH_CUDA_ARCH_LIST'),
    ('12.1', [], '', False, 'building mmcv==2.1.0 with its ops'),
])
def test_install_mmcv_build_plan(tmp_path, index_url, cuda, archs, arch_list,
                                 nvcc, expected):
    """With torch reporting these CUDA facts (a stand-in: no GPU here), the
    install announces the matching mmcv build, or stops saying why."""
    index, requests = index_url
    repo = copy_repo(str(tmp_path / 'repo'))
    python, own_site = make_env(str(tmp_path), hide=('torch', 'mmcv'))
    cuda_home = str(tmp_path / 'cuda')
    os.makedirs(osp.join(cuda_home, 'bin'))
    if nvcc:
        nvcc_path = osp.join(cuda_home, 'bin', 'nvcc')
        with open(nvcc_path, 'w') as f:
            f.write('#!/bin/sh\nexit 1\n')
        os.chmod(nvcc_path, 0o755)
    write_fake_torch(own_site, cuda, archs, cuda_home)
    wheelhouse = str(tmp_path / 'wheelhouse')
    os.makedirs(wheelhouse)
    proc = install(repo, python, wheelhouse, index,
                   TORCH_CUDA_ARCH_LIST=arch_list)
    assert proc.returncode != 0, proc.output
    assert expected.format(nvcc=osp.join(cuda_home, 'bin', 'nvcc')) \
        in proc.output, proc.output
    if 'building' in expected:
        # the wheelhouse is empty: the build stops at the missing mmcv
        assert 'has no distribution of mmcv==2.1.0' in proc.stderr
    assert requests == []


def test_install_stops_on_a_torchvision_without_ops(tmp_path, index_url):
    """A torchvision whose ops do not load with the installed torch stops
    the install, naming both versions, and is not left behind."""
    index, requests = index_url
    repo = copy_repo(str(tmp_path / 'repo'))
    python, _ = make_env(str(tmp_path), hide=('torchvision', ))
    wheelhouse = str(tmp_path / 'wheelhouse')
    torch_version = installed(python, 'torch')['version'].split('+')[0]
    minor = int(torch_version.split('.')[1])
    # an empty package: ``torchvision.ops`` is missing, as when its
    # compiled ops were built for another torch. It pins torch as the real
    # one does, which PyPI's CUDA builds satisfy by their distribution
    # version (2.13.0), not by ``torch.__version__`` (2.13.0+cu130).
    write_wheel(wheelhouse, 'torchvision', f'0.{minor + 15}.0',
                requires=[f'torch=={torch_version}'])
    proc = install(repo, python, wheelhouse, index)
    assert proc.returncode != 0, proc.output
    assert (f'has no matching torchvision: torchvision 0.{minor + 15}.0 '
            f'(the release for torch {torch_version})' in proc.stderr), \
        proc.output
    assert f"pip install 'torch==={torch_version}'" in proc.stderr
    code = 'import importlib.util as u; print(u.find_spec("torchvision"))'
    assert subprocess.run([python, '-c', code], capture_output=True,
                          text=True, cwd=str(tmp_path)).stdout.strip() \
        == 'None'
    assert requests == []
