"""Package metadata for mmctx and its pinned OpenMMLab stack.

The wheel and the sdist carry ``configs/``, ``tools/`` and
``model-index.yml`` in ``mmctx/.mim``, as OpenMMLab packages do: there
mmengine finds ``mmctx::`` config paths and ``mim train mmctx`` finds
``tools/train.py``. In the repository ``mmctx/.mim`` holds relative links to
them; MANIFEST.in lists the files and ``include_package_data`` puts them
into the wheel (the build copies what the links point to).

torch and torchvision are installed as a matching pair by
``tools/install.sh``; torchvision is left out of ``install_requires``
because each torchvision release pins one torch release, so pip would
replace an installed torch (a CUDA build, say) to satisfy it.
"""
from setuptools import find_packages, setup

about = {}
with open('mmctx/version.py') as f:
    exec(f.read(), about)

with open('README.md') as f:
    long_description = f.read()

setup(
    name='mmctx',
    version=about['__version__'],
    description=('Context and attention blocks of GCNet, BoTNet, CoTNet, '
                 'Attention-Augmented Convolution and PatchConvNet for '
                 'MMDetection, MMSegmentation and MMPretrain'),
    long_description=long_description,
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs',
                                    'configs.*', 'tools', 'tools.*')),
    include_package_data=True,
    python_requires='>=3.8',
    install_requires=[
        'torch>=2.1',
        'mmcv==2.1.0',
        'mmengine==0.10.7',
        'mmdet==3.3.0',
        'mmsegmentation==1.2.2',
        'mmpretrain==1.2.0',
        'ftfy',
        'regex',
        'pycocotools',
        'matplotlib',
        'numpy',
    ],
    extras_require={'tests': ['pytest']},
    license='Apache-2.0',
    zip_safe=False,
)
