"""Activation recomputation for attribution backward passes, switched on per thread.

A backward pass through the 7B language model keeps every layer's activations: about 4.5 GiB for
a 713-token prompt with a 128-token answer, which took generation plus gradient maps past the
18 GiB memory target (bench/RESULTS.md). Inside `recompute_layers(model)` each decoder layer runs
under `torch.utils.checkpoint` (non-reentrant): only the hidden states between layers are kept
and a layer's activations are recomputed when the backward pass reaches it, one layer at a time.
That costs one more forward pass (shared by all phrases when their backward passes are batched).

The switch is thread-local and only acts while gradients are enabled, so a generation running on
another thread with the same modules (the app serves several visitors) is untouched: its layers
run exactly as before. The layers' `forward` is wrapped once per model, in place; the wrapper
calls the original method whenever the switch is off.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .scoring import AttributionError, submodule

_switch = threading.local()
_WRAPPED = "_spot_recompute_wrapped"
_install_lock = threading.Lock()


def decoder_layers(model: nn.Module) -> nn.ModuleList | None:
    """The language model's decoder layers (transformers 5 and 4.x layouts), or None."""
    try:
        layers = submodule(model, "model.language_model.layers", "language_model.model.layers", "model.layers")
    except AttributionError:
        return None
    return layers if isinstance(layers, nn.ModuleList) else None


def _wrap(layer: nn.Module) -> None:
    if getattr(layer, _WRAPPED, False):
        return
    inner = layer.forward

    def forward(*args, **kwargs):
        if getattr(_switch, "on", False) and torch.is_grad_enabled():
            return checkpoint(inner, *args, use_reentrant=False, **kwargs)
        return inner(*args, **kwargs)

    layer.forward = forward
    setattr(layer, _WRAPPED, True)


@contextmanager
def recompute_layers(model: nn.Module) -> Iterator[bool]:
    """Within the block, on this thread, decoder layers keep no activations for backward passes;
    yields whether the model's layers were found (if not, nothing changes)."""
    layers = decoder_layers(model)
    if layers is None:
        yield False
        return
    with _install_lock:
        for layer in layers:
            _wrap(layer)
    before = getattr(_switch, "on", False)
    _switch.on = True
    try:
        yield True
    finally:
        _switch.on = before
