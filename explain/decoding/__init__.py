"""Decoding: greedy token generation for a loaded llava-hf model, streamed one token at a time.

A backend's `run(model, inputs, max_new_tokens=, verdict_ids=, cancel=, emit=)` calls
`emit(token_id, (real_logit, fake_logit))` per new token. `GenerateBackend` is transformers' own
`generate` (the reference, any device); `StaticCacheBackend` gives the same tokens from a static
KV cache and CUDA graphs; `auto_backend` picks the fastest that is exact for a model;
`BatchedBackend` decodes concurrent requests together in one continuous batch (`BatchScheduler`). The token
helpers turn ids into text deltas and find the ids of the verdict words. Knows nothing of the
detector that drives it.
"""

from .batched import BatchedBackend, streams_for_memory
from .generate import GenerateBackend
from .layout import fuse_weights, unsupported_reason
from .scheduler import BatchScheduler, StreamHandle
from .static import CACHE_BUCKET, StaticCacheBackend, auto_backend
from .tokens import IncrementalDecoder, as_list, verdict_token_ids

__all__ = [
    "BatchScheduler",
    "BatchedBackend",
    "CACHE_BUCKET",
    "GenerateBackend",
    "IncrementalDecoder",
    "StaticCacheBackend",
    "StreamHandle",
    "as_list",
    "auto_backend",
    "fuse_weights",
    "streams_for_memory",
    "unsupported_reason",
    "verdict_token_ids",
]
