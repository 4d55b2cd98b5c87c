"""Package metadata for mmctx and its pinned OpenMMLab stack."""
from setuptools import find_packages, setup

about = {}
with open('mmctx/version.py') as f:
    exec(f.read(), about)

setup(
    name='mmctx',
    version=about['__version__'],
    description=('Context and attention blocks (GCNet, non-local, SE, '
                 'BoTNet, CoTNet) for MMDetection and MMSegmentation'),
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'configs', 'tools')),
    python_requires='>=3.8',
    install_requires=[
        'torch>=2.1',
        'mmcv==2.1.0',
        'mmengine==0.10.7',
        'mmdet==3.3.0',
        'mmsegmentation==1.2.2',
        'ftfy',
        'regex',
        'pycocotools',
        'matplotlib',
        'numpy',
    ],
    extras_require={'tests': ['pytest']},
    license='Apache-2.0',
)
