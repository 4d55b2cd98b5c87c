"""mmpretrain parts for ImageNet classifiers built on mmctx backbones:
PatchConvNet's attention pooling as a neck and the per-class-token head of
its multi-class-token model. Any mmctx backbone fits mmpretrain's
``ImageClassifier`` as it is (with its ``GlobalAveragePooling`` neck and
``LinearClsHead``)."""
from .attention_pool_neck import AttentionPoolNeck
from .multi_token_head import MultiTokenClsHead

__all__ = ['AttentionPoolNeck', 'MultiTokenClsHead']
