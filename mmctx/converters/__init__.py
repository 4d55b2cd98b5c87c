"""Official ImageNet checkpoints -> mmctx checkpoints in the layout of
mmpretrain's ``ImageClassifier`` (see ``tools/model_converters/``). Pure
functions: no network, no official code."""
from . import cotnet, patchconvnet
from .classifier import classifier_model_cfg
from .common import (ConversionError, Conversion, Plan, Rule, apply_rules,
                     build_classifier, check_against, convert_checkpoint,
                     describe_model, read_checkpoint, save_checkpoint,
                     select_state_dict, strip_prefix, target_shapes)

__all__ = [
    'ConversionError', 'Conversion', 'Plan', 'Rule', 'apply_rules',
    'build_classifier', 'check_against', 'classifier_model_cfg',
    'convert_checkpoint', 'cotnet', 'describe_model', 'patchconvnet',
    'read_checkpoint', 'save_checkpoint', 'select_state_dict',
    'strip_prefix', 'target_shapes'
]
