#!/usr/bin/env bash
# Install mmctx and its pinned OpenMMLab stack into $PYTHON's environment.
#
# PYTHON defaults to the project virtualenv .venv/bin/python (created when
# missing). Every step first checks what is there, so a second run installs
# nothing. An installed torch is kept, and pinned by a pip constraint so that
# no later step can replace it. torchvision is installed to match that
# torch (mmpretrain imports it; mmengine resolves torchvision:// weights with
# it), and the install stops, naming both versions, when the matching
# torchvision's compiled ops do not load with that torch.
#
# WHEELHOUSE=DIR installs from that folder alone, for machines without a
# package index: every pip run here, and any pip that a build runs in turn,
# gets --no-index --find-links DIR through pip's environment variables, and
# no pip config file. tools/make_wheelhouse.sh fills the folder.
#
# mmcv is built from source against the installed torch. When torch is a
# CUDA build and a CUDA toolkit (nvcc) is found, its CUDA ops are built too,
# for TORCH_CUDA_ARCH_LIST or else the visible GPUs' architectures only.
set -euo pipefail

die() { echo "[install] error: $*" >&2; exit 1; }

if [ -n "${WHEELHOUSE:-}" ]; then
  [ -d "$WHEELHOUSE" ] || die "WHEELHOUSE=$WHEELHOUSE is not a folder"
  WHEELHOUSE=$(cd "$WHEELHOUSE" && pwd)
  export PIP_NO_INDEX=1 PIP_FIND_LINKS=$WHEELHOUSE PIP_CONFIG_FILE=/dev/null
fi
cd "$(dirname "$0")/.."
source tools/requirements.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

PYTHON=${PYTHON:-.venv/bin/python}
if [ "$PYTHON" = ".venv/bin/python" ] && [ ! -x .venv/bin/python ]; then
  echo "[install] creating .venv"
  python3 -m venv .venv
fi
[ -z "${WHEELHOUSE:-}" ] || echo "[install] installing from $WHEELHOUSE only"

pip_args=(--disable-pip-version-check)
# pip_install ARGS...: pip install into $PYTHON's environment. From a
# wheelhouse, a distribution it lacks fails with the folder and the fix.
pip_install() {
  if [ -z "${WHEELHOUSE:-}" ]; then
    "$PYTHON" -m pip install "${pip_args[@]}" "$@"
    return
  fi
  local status=0 missing target
  "$PYTHON" -m pip install "${pip_args[@]}" "$@" 2>&1 | tee "$tmp/pip.log" \
    || status=$?
  missing=$(sed -n 's/^ERROR: No matching distribution found for //p' \
    "$tmp/pip.log" | paste -sd ' ')
  if [ "$status" != 0 ] && [ -n "$missing" ]; then
    target=$("$PYTHON" -c 'import sys, sysconfig
print("Python %d.%d on" % sys.version_info[:2], sysconfig.get_platform())')
    die "the wheelhouse $WHEELHOUSE has no distribution of $missing" \
      "for $target. Fill it on a machine with a package index:" \
      "make wheelhouse DIR=... (PYTHON_VERSION/PLATFORM for another" \
      "machine; TORCH=1 adds torch, or install this machine's torch" \
      "into $PYTHON's environment first: it is kept)"
  fi
  return "$status"
}
# satisfied SPEC...: true when every requirement is installed at a
# matching version (no network, no pip resolver). The working directory is
# left out of the search: a build leaves mmctx.egg-info in the repo root.
satisfied() {
  "$PYTHON" - "$@" <<'PY'
import os
import sys
sys.path = [path for path in sys.path if path not in ('', os.getcwd())]
from importlib.metadata import PackageNotFoundError, version
from packaging.requirements import Requirement
for spec in sys.argv[1:]:
    req = Requirement(spec)
    try:
        if not req.specifier.contains(version(req.name), prereleases=True):
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
}
"$PYTHON" -c "import packaging" 2>/dev/null || pip_install packaging

# torch_info: torch's version as installed (the distribution's, which a
# pip constraint can name: PyPI's CUDA builds report 2.13.0+cu130 in
# torch.__version__ for the distribution 2.13.0), its CUDA version and the
# visible GPUs' architectures, '-' for each that is absent. A torch without
# distribution metadata (on the path from a source tree) gives its
# torch.__version__.
torch_info() {
  "$PYTHON" - <<'PY'
from importlib.metadata import PackageNotFoundError, version
import torch
try:
    torch_version = version('torch')
except PackageNotFoundError:
    torch_version = torch.__version__
archs = {'%d.%d' % torch.cuda.get_device_capability(i)
         for i in range(torch.cuda.device_count())}
print(torch_version, torch.version.cuda or '-',
      ';'.join(sorted(archs)) or '-')
PY
}
if info=$(torch_info 2>/dev/null); then
  echo "[install] keeping torch ${info%% *}"
else
  echo "[install] installing $TORCH_SPEC"
  pip_install "$TORCH_SPEC"
  info=$(torch_info)
fi
read -r torch_version torch_cuda gpu_archs <<<"$info"
echo "torch==$torch_version" > "$tmp/torch.txt"
pip_args+=(--constraint "$tmp/torch.txt")

satisfied "${BUILD_DEPS[@]}" || pip_install "${BUILD_DEPS[@]}"

# mmcv gets its CUDA ops when torch is a CUDA build and torch's extension
# builder finds a CUDA toolkit.
cuda_home=-
if [ "$torch_cuda" != - ]; then
  cuda_home=$("$PYTHON" -c 'from torch.utils.cpp_extension import CUDA_HOME
print(CUDA_HOME or "-")')
fi
cuda_ops=0
if [ "$cuda_home" != - ] && [ -x "$cuda_home/bin/nvcc" ]; then
  # torch's extension builder targets TORCH_CUDA_ARCH_LIST, or else the
  # visible GPUs' architectures; with neither, only the CPU ops are built.
  if [ -n "${TORCH_CUDA_ARCH_LIST:-}" ] || [ "$gpu_archs" != - ]; then
    cuda_ops=1
  else
    echo "[install] torch $torch_version is a CUDA build and" \
      "$cuda_home/bin/nvcc is there, but no GPU is visible: building" \
      "mmcv's CPU ops only (set TORCH_CUDA_ARCH_LIST, e.g. 9.0 for H100," \
      "to build its CUDA ops too)"
  fi
fi
# mmcv_ready: the pinned mmcv is installed with its compiled ops, the CUDA
# ones included when they are to be built.
mmcv_ready() {
  "$PYTHON" - "${MMCV_SPEC#mmcv==}" "$cuda_ops" 2>/dev/null <<'PY'
import sys
import mmcv
from mmcv.ops import get_compiling_cuda_version
assert mmcv.__version__ == sys.argv[1]
assert sys.argv[2] == '0' or get_compiling_cuda_version() != 'not available'
PY
}

if ! mmcv_ready; then
  cache_flag=()
  if [ "$cuda_ops" = 1 ]; then
    echo "[install] building $MMCV_SPEC with CPU and CUDA ops" \
      "(CUDA $torch_cuda, $cuda_home/bin/nvcc) for arch" \
      "${TORCH_CUDA_ARCH_LIST:-$gpu_archs}"
    # pip's wheel cache may hold a CPU-only build of the same source.
    cache_flag=(--no-cache-dir)
  elif [ "$torch_cuda" != - ] && [ "$gpu_archs" != - ]; then
    die "torch $torch_version is a CUDA build and a GPU is visible, but" \
      "torch finds no CUDA toolkit with nvcc (CUDA_HOME: $cuda_home): point" \
      "CUDA_HOME at one so that mmcv's CUDA ops are built"
  else
    echo "[install] building $MMCV_SPEC with its ops (about 13 minutes on" \
      "2 cores)"
  fi
  if "$PYTHON" -c "import mmcv" 2>/dev/null; then
    echo "[install] removing an mmcv without usable compiled ops"
    "$PYTHON" -m pip uninstall -y mmcv
    cache_flag=(--no-cache-dir)
  fi
  MMCV_WITH_OPS=1 FORCE_CUDA=$cuda_ops MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    pip_install --no-build-isolation "${cache_flag[@]}" "$MMCV_SPEC"
  [ "$cuda_ops" = 0 ] || mmcv_ready \
    || die "$MMCV_SPEC was installed but its CUDA ops do not load"
fi

# torchvision_ops: torchvision's version, after running one of its compiled
# ops (nms) against this torch; the error's last line when that fails.
torchvision_ops() {
  "$PYTHON" - 2>&1 <<'PY' | tail -n 1
import torch
import torchvision
from torchvision.ops import nms
nms(torch.zeros(1, 4), torch.zeros(1), 0.5)
print(torchvision.__version__)
PY
  return "${PIPESTATUS[0]}"
}
tv_spec=$(torchvision_spec "$torch_version") \
  || die "no torchvision release is known to match torch $torch_version:" \
    "install a torch 2.x with its torchvision, then run this again"
tv_installed=0
if ! satisfied "$tv_spec"; then
  echo "[install] installing $tv_spec to match torch $torch_version"
  pip_install "$tv_spec"
  tv_installed=1
fi
if ! tv_report=$(torchvision_ops); then
  tv_version=$("$PYTHON" -c 'from importlib.metadata import version
print(version("torchvision"))' 2>/dev/null || echo '?')
  # leave no torchvision behind that breaks every import of it
  [ "$tv_installed" = 0 ] || "$PYTHON" -m pip uninstall -y -q torchvision
  die "torch $torch_version has no matching torchvision: torchvision" \
    "$tv_version (the release for torch ${torch_version%%+*}) does not" \
    "load its ops with it ($tv_report). Install a torch build that has" \
    "one, e.g. PyPI's pair: pip install 'torch===${torch_version%%+*}'" \
    "'$tv_spec' (a local +cpu build has none), then run this again"
fi
echo "[install] torchvision $tv_report loads its ops with torch $torch_version"

satisfied "${STACK[@]}" || pip_install "${STACK[@]}"
satisfied "$MIM_SPEC" || pip_install --no-deps "$MIM_SPEC"
# PEP 660 editable install in this environment: the legacy route would run
# a second pip with build isolation, which needs an index.
satisfied mmctx || pip_install --no-build-isolation --use-pep517 --no-deps -e .

# Fails with the cause and the fix when mmcv lacks its compiled ops.
"$PYTHON" -c "import mmctx; print('[install] mmctx', mmctx.__version__, 'ready')"
