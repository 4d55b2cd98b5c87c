"""Official ImageNet checkpoints -> mmctx checkpoints (see
``tools/model_converters/``). Pure functions: no network, no official code."""
from . import cotnet, patchconvnet
from .common import (ConversionError, Conversion, Plan, Rule, apply_rules,
                     check_against, convert_checkpoint, read_checkpoint,
                     save_checkpoint, select_state_dict, strip_prefix,
                     target_shapes)

__all__ = [
    'ConversionError', 'Conversion', 'Plan', 'Rule', 'apply_rules',
    'check_against', 'convert_checkpoint', 'cotnet', 'patchconvnet',
    'read_checkpoint', 'save_checkpoint', 'select_state_dict',
    'strip_prefix', 'target_shapes'
]
