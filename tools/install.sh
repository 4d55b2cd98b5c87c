#!/usr/bin/env bash
# Install mmctx and its pinned OpenMMLab stack into $PYTHON's environment.
#
# PYTHON defaults to the project virtualenv .venv/bin/python (created when
# missing). Every step first checks what is there, so a second run installs
# nothing. torchvision is never installed: the registry's build is a CUDA
# build whose operators fail to load on CPU-only machines.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
BUILD_DEPS=(numpy ninja wheel 'setuptools>=77.0.3,<81')
STACK=(mmengine==0.10.7 mmdet==3.3.0 mmsegmentation==1.2.2 ftfy regex
       pycocotools matplotlib pytest)

if [ "$PYTHON" = ".venv/bin/python" ] && [ ! -x .venv/bin/python ]; then
  echo "[install] creating .venv"
  python3 -m venv .venv
fi
pip_install() { "$PYTHON" -m pip install --disable-pip-version-check "$@"; }
# satisfied SPEC...: true when every requirement is installed at a
# matching version (no network, no pip resolver).
satisfied() {
  "$PYTHON" - "$@" <<'PY'
import sys
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

if "$PYTHON" -c "import torch" 2>/dev/null; then
  echo "[install] keeping torch $("$PYTHON" -c 'import torch; print(torch.__version__)')"
else
  echo "[install] installing $TORCH_SPEC"
  pip_install "$TORCH_SPEC"
fi

satisfied "${BUILD_DEPS[@]}" || pip_install "${BUILD_DEPS[@]}"

if ! "$PYTHON" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" 2>/dev/null; then
  cache_flag=()
  if "$PYTHON" -c "import mmcv" 2>/dev/null; then
    echo "[install] removing an mmcv without usable compiled ops"
    "$PYTHON" -m pip uninstall -y mmcv
    cache_flag=(--no-cache-dir)
  fi
  echo "[install] building mmcv 2.1.0 with its ops (about 13 minutes on 2 cores)"
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    pip_install --no-build-isolation "${cache_flag[@]}" mmcv==2.1.0
fi

satisfied "${STACK[@]}" || pip_install "${STACK[@]}"
if ! "$PYTHON" -c "import mmctx" 2>/dev/null \
   || ! "$PYTHON" -m pip show -q mmctx >/dev/null 2>&1; then
  pip_install --no-build-isolation --no-deps -e .
fi

# Fails with the cause and the fix when mmcv lacks its compiled ops.
"$PYTHON" -c "import mmctx; print('[install] mmctx', mmctx.__version__, 'ready')"
