#!/usr/bin/env bash
# Fill DIR, on a machine with a package index, with everything that
# `make install WHEELHOUSE=DIR` installs on a machine without one.
#
# Usage: tools/make_wheelhouse.sh DIR    (or: make wheelhouse DIR=...)
#   PYTHON          interpreter whose pip downloads (default python3). The
#                   wheels are for its Python and platform unless
#   PYTHON_VERSION  (e.g. 3.10) and PLATFORM (e.g. manylinux_2_28_x86_64,
#                   for glibc 2.28 and older; several separated by spaces)
#                   name the target's.
#   TORCH=1         adds $TORCH_SPEC and its requirements (pip's index
#                   options, e.g. PIP_EXTRA_INDEX_URL, pick the build).
#                   Without it the target keeps its own torch.
#   TORCH_VERSION   the target's torch version (default: $TORCH_SPEC's),
#                   for which the matching torchvision is downloaded; its
#                   own requirements come with it only with TORCH=1.
#   DRY_RUN=1       prints the pip commands instead of running them.
#
# Everything comes as wheels, so nothing but mmcv is built on the target:
# mmcv comes as its source distribution, built there against that machine's
# torch (with CUDA ops when that torch is a CUDA build).
set -euo pipefail

dir=${1:-}
if [ $# != 1 ] || [ -z "$dir" ]; then
  echo "usage: $0 DIR   (make wheelhouse DIR=...)" >&2
  exit 2
fi
[[ $dir = /* ]] || dir=$PWD/$dir
cd "$(dirname "$0")/.."
source tools/requirements.sh
PYTHON=${PYTHON:-python3}
dry_run=${DRY_RUN:-0}
run() {
  if [ "$dry_run" = 1 ]; then
    printf '%q ' "$@"
    echo
  else
    "$@"
  fi
}

target=()
[ -z "${PYTHON_VERSION:-}" ] || target+=(--python-version "$PYTHON_VERSION")
# pip takes a manylinux_2_N platform literally: add the older glibc tags
# (and manylinux2014, which pip widens further) that such a target accepts.
for platform in ${PLATFORM:-}; do
  if [[ $platform =~ ^manylinux_2_([0-9]+)_(.+)$ ]]; then
    for ((glibc = BASH_REMATCH[1]; glibc >= 5; glibc--)); do
      target+=(--platform "manylinux_2_${glibc}_${BASH_REMATCH[2]}")
    done
    [ "${BASH_REMATCH[1]}" -lt 17 ] \
      || target+=(--platform "manylinux2014_${BASH_REMATCH[2]}")
  else
    target+=(--platform "$platform")
  fi
done
wanted=("${BUILD_DEPS[@]}" "${MMCV_DEPS[@]}" "${STACK[@]}")
torch_version=${TORCH_VERSION:-${TORCH_SPEC##*=}}
tv_spec=$(torchvision_spec "$torch_version") || {
  echo "$0: no torchvision release is known to match torch $torch_version" \
    "(TORCH_VERSION)" >&2
  exit 2
}
if [ "${TORCH:-0}" = 1 ]; then
  wanted+=("$TORCH_SPEC" "$tv_spec")
else
  echo "[wheelhouse] without torch: the target keeps its own (TORCH=1 adds" \
    "$TORCH_SPEC); $tv_spec is for torch $torch_version (TORCH_VERSION=...)"
fi

[ "$dry_run" = 1 ] || mkdir -p "$dir"
run "$PYTHON" -m pip download --dest "$dir" --only-binary :all: \
  "${target[@]}" "${wanted[@]}"
# without their requirements: torchvision's would bring a torch that the
# target does not use; openmim's are MIM_DEPS (tools/requirements.sh)
alone=("$MIM_SPEC")
[ "${TORCH:-0}" = 1 ] || alone+=("$tv_spec")
run "$PYTHON" -m pip download --dest "$dir" --only-binary :all: \
  "${target[@]}" --no-deps "${alone[@]}"
# pip reads the source distribution's metadata in an isolated build
# environment, where mmcv's setup.py needs a setuptools that still has
# pkg_resources.
constraint=$(mktemp)
trap 'rm -f "$constraint"' EXIT
echo "$SETUPTOOLS_SPEC" > "$constraint"
run env PIP_CONSTRAINT="$constraint" PIP_BUILD_CONSTRAINT="$constraint" \
  "$PYTHON" -m pip download --dest "$dir" --no-binary :all: --no-deps \
  "$MMCV_SPEC"
if [ "$dry_run" != 1 ]; then
  echo "[wheelhouse] $(ls "$dir" | wc -l) files in $dir; on the target:" \
    "make install WHEELHOUSE=$dir"
fi
