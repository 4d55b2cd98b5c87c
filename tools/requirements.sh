# The pinned stack that tools/install.sh installs and tools/make_wheelhouse.sh
# downloads (sourced by both, so the two lists cannot drift apart).

TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
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
STACK=(mmengine==0.10.7 mmdet==3.3.0 mmsegmentation==1.2.2 ftfy regex
       pycocotools matplotlib pytest)
