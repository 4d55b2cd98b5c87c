"""mmctx's registries: mmengine's root ones, and the ``mmctx`` scope.

mmctx registers its modules in mmengine's root ``MODELS`` registry (and its
checkpoint hook in the root ``HOOKS``). mmdet, mmseg, mmpretrain and mmcv
registries are children of the root registries and fall back to them when a
type is not found in their own scope, so a module registered there resolves
under ``default_scope='mmdet'``, ``'mmseg'``, ``'mmpretrain'`` or no scope
at all.

A config read through an ``mmctx::`` base (see :mod:`mmctx.mim`) has each
of the base's top-level dicts with a ``type`` (and no ``_scope_`` yet)
tagged ``_scope_='mmctx'``. mmengine builds such a dict, and every object
its constructor builds in turn, from the child with scope ``'mmctx'`` of
the root registry it is built from. mmctx configs are mmdet, mmseg and
mmpretrain configs, so those children (one per root registry, in
:data:`SCOPED`) look a type up in the scope the build happens in: the
newest default scope other than ``mmctx``, which is the config's
``default_scope`` as the runner sets it.
"""
import logging
from importlib import import_module
from typing import Dict, Optional, Type

import mmengine.registry as mm_registry
from mmengine.logging import print_log
from mmengine.registry import MODELS, DefaultScope, Registry

from .mim import ALIAS

__all__ = ['MODELS', 'SCOPED', 'HostScopeRegistry', 'host_scope']

#: mmengine's root registries that get an ``mmctx`` child.
ROOT_REGISTRIES = (
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'STRATEGIES',
    'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS',
    'WEIGHT_INITIALIZERS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR',
    'TASK_UTILS', 'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS',
    'INFERENCERS', 'FUNCTIONS')


def host_scope() -> Optional[str]:
    """The newest default scope that is not ``mmctx``.

    While an ``mmctx``-scoped object is built, mmengine pushes a default
    scope ``mmctx`` on top of the ones already set (the runner's, the
    enclosing builds'), and keeps those.

    Returns:
        Its name, or ``None`` when no other default scope is set.
    """
    # DefaultScope has no public way to list its instances.
    instances = list(DefaultScope._instance_dict.values())
    for instance in reversed(instances):
        if instance.scope_name != ALIAS:
            return instance.scope_name
    return None


class HostScopeRegistry(Registry):
    """The ``mmctx`` child of a root registry.

    A type without a scope prefix is looked up in this registry, then in
    the registry of :func:`host_scope` (and that one's parents), then in
    the root. ``mmctx.<Type>`` names a type registered here or an mmctx
    module registered in the root.
    """

    def get(self, key: str) -> Optional[Type]:
        """Look ``key`` up as described in the class docstring.

        Args:
            key: A type name, optionally with a scope prefix.

        Returns:
            The registered object, or ``None`` when none has that name.
        """
        scope, name = self.split_scope_key(key)
        if scope is None or scope == self.scope:
            if name in self.module_dict:
                return self.module_dict[name]
        if scope == self.scope:
            return self._own_root_entry(name)
        if scope is not None:
            return super().get(key)
        host = self._host_registry()
        if host is not None:
            found = host.get(name)
            if found is not None:
                return found
        found = super().get(key)
        if found is None and host is None:
            print_log(
                f'{key!r} was looked up in the mmctx scope, which builds '
                'types in the default scope in force (mmdet, mmseg, '
                'mmpretrain), but none is set: set the config\'s '
                'default_scope, or call mmengine.registry.'
                'init_default_scope(cfg.default_scope) before building',
                logger='current',
                level=logging.WARNING)
        return found

    def _own_root_entry(self, name: str) -> Optional[Type]:
        """An mmctx module registered in the root registry as ``name``."""
        found = self.parent.module_dict.get(name)
        module = getattr(found, '__module__', '') or ''
        return found if module.split('.')[0] == ALIAS else None

    def _host_registry(self) -> Optional[Registry]:
        """The registry of :func:`host_scope` under this one's root."""
        scope = host_scope()
        if scope is None:
            return None
        try:
            import_module(f'{scope}.registry')
        except ImportError:
            pass
        return self.parent._search_child(scope)


def _scoped_children() -> Dict[str, HostScopeRegistry]:
    """Create the ``mmctx`` child of every root registry."""
    children = {}
    for name in ROOT_REGISTRIES:
        root = getattr(mm_registry, name)
        children[name] = HostScopeRegistry(
            root.name, parent=root, scope=ALIAS, locations=['mmctx.models'])
    return children


#: The ``mmctx`` children, by the name of their root registry.
SCOPED: Dict[str, HostScopeRegistry] = _scoped_children()
