"""``mmctx::`` config paths for mmengine, and the files mim reads.

mmengine resolves ``_base_ = 'mmctx::gcnet/x.py'`` to
``<package>/.mim/configs/gcnet/x.py``, after reading
``<package>/.mim/model-index.yml``, where ``<package>`` is found from the
name that ``mmengine.config.utils.MODULE2PACKAGE`` maps the alias to.
mmctx's wheel and sdist carry ``configs/``, ``tools/`` and
``model-index.yml`` in ``mmctx/.mim``; in the repository ``mmctx/.mim``
holds relative links to them.

The alias maps to this module's name rather than to the ``mmctx``
distribution: mmengine 0.10.7 locates a distribution from its metadata,
which for an editable (PEP 660) install points at site-packages, where no
``mmctx`` folder exists. A module name is located by its import path, the
``mmctx`` package folder, in an editable install and a wheel install alike.

``custom_imports`` in a config runs only after its ``_base_`` files are
read, so a script that reads a config with an ``mmctx::`` base must
``import mmctx`` before ``Config.fromfile`` (mmctx's tools do).
"""
import os.path as osp

from mmengine.config.utils import MODULE2PACKAGE

#: The alias before ``::`` in config paths, and mmctx's registry scope.
ALIAS = 'mmctx'
#: Where the configs, tools and model index live inside the package.
MIM_FOLDER = '.mim'


def package_root() -> str:
    """The folder of the imported ``mmctx`` package.

    Returns:
        Its absolute path.
    """
    return osp.dirname(osp.abspath(__file__))


def mim_root() -> str:
    """The folder holding ``configs/``, ``tools/`` and ``model-index.yml``.

    Returns:
        ``<package>/.mim``.
    """
    return osp.join(package_root(), MIM_FOLDER)


def register_config_alias() -> None:
    """Let mmengine resolve ``mmctx::`` config paths to :func:`mim_root`.

    mmengine locates the name the alias maps to with
    ``importlib.util.find_spec`` when no distribution has that name, and
    takes the folder of the module it finds.
    """
    MODULE2PACKAGE[ALIAS] = __name__
