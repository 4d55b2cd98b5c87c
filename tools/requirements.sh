# The pinned stack that tools/install.sh installs and tools/make_wheelhouse.sh
# downloads (sourced by both, so the two lists cannot drift apart).

# '===' takes the release as published on the package index, never a local
# build such as 2.13.0+cpu (which has no torchvision to match it).
TORCH_SPEC=${TORCH_SPEC:-torch===2.13.0}
# Built from source where it is installed, against that machine's torch.
MMCV_SPEC=mmcv==2.1.0
# setuptools 81 dropped the pkg_resources module that mmcv's setup.py imports.
SETUPTOOLS_SPEC='setuptools>=77.0.3,<81'
# What building mmcv needs without build isolation.
BUILD_DEPS=(packaging numpy ninja wheel "$SETUPTOOLS_SPEC")
# mmcv 2.1.0's own requirements: its setup.py adds opencv-python when no cv2
# is installed.
MMCV_DEPS=(addict 'mmengine>=0.3.0' numpy packaging Pillow pyyaml yapf
           'opencv-python>=3')
# openmim comes without its opendatalab requirement (a dataset downloader
# that no mim command used here imports, and whose openxlab dependency pins
# setuptools 60 and an old requests): MIM_DEPS are its other requirements.
MIM_SPEC=openmim==0.3.9
MIM_DEPS=(Click colorama model-index pandas requests rich tabulate)
# What the documentation build (docs/, tests/test_docs.py) needs.
DOCS_DEPS=(sphinx==9.0.4 myst-parser==5.2.0 furo==2025.12.19)
STACK=(mmengine==0.10.7 mmdet==3.3.0 mmsegmentation==1.2.2 mmpretrain==1.2.0
       ftfy regex pycocotools matplotlib pytest "${MIM_DEPS[@]}"
       "${DOCS_DEPS[@]}")

# torchvision_spec TORCH_VERSION: the torchvision requirement that matches
# a torch 2.x release (torchvision 0.(minor + 15), e.g. torch 2.13.0 ->
# torchvision==0.28.*; torchvision pins its torch exactly, so pip picks the
# patch release); fails for other major versions.
torchvision_spec() {
  local major minor rest
  IFS=. read -r major minor rest <<<"${1%%+*}"
  [ "$major" = 2 ] && [[ $minor =~ ^[0-9]+$ ]] || return 1
  echo "torchvision==0.$((minor + 15)).*"
}
