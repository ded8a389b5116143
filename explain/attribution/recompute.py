"""Activation recomputation for attribution backward passes, switched on per thread.

A backward pass through the 7B language model keeps every layer's activations: about 4.5 GiB for
a 713-token prompt with a 128-token answer, which took generation plus gradient maps past the
18 GiB memory target (bench/RESULTS.md). Inside `recompute_layers(model)` each decoder layer runs
under `torch.utils.checkpoint` (non-reentrant): only the hidden states between layers are kept
and a layer's activations are recomputed when the backward pass reaches it, one layer at a time.
That costs one more forward pass (shared by all phrases when their backward passes are batched).

The switch is thread-local and only acts while gradients are enabled, so a generation running on
another thread with the same modules (the app serves several visitors) is untouched: its layers
run exactly as before. The layers' `forward` is wrapped once per model, in place, by a method bound
to the layer itself (a copy of the model gets wrappers bound to its own layers); the wrapper calls
the class's forward whenever the switch is off.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .scoring import AttributionError, submodule

_switch = threading.local()
_WRAPPED = "_spot_recompute_wrapped"
_INNER = "_spot_recompute_inner"
_install_lock = threading.Lock()


def decoder_layers(model: nn.Module) -> nn.ModuleList | None:
    """The language model's decoder layers (transformers 5 and 4.x layouts), or None."""
    try:
        layers = submodule(model, "model.language_model.layers", "language_model.model.layers", "model.layers")
    except AttributionError:
        return None
    return layers if isinstance(layers, nn.ModuleList) else None


def _recomputing_forward(self: nn.Module, *args, **kwargs):
    # Bound to the layer as a method (not a closure over the original bound method): deepcopy
    # rebinds methods to the copy, so a copied model's layers run their own weights.
    inner = getattr(self, _INNER) or type(self).forward.__get__(self)
    if getattr(_switch, "on", False) and torch.is_grad_enabled():
        return checkpoint(inner, *args, use_reentrant=False, **kwargs)
    return inner(*args, **kwargs)


def _wrap(layer: nn.Module) -> None:
    if getattr(layer, _WRAPPED, False):
        return
    # None: the class's forward, bound at call time to whichever layer runs. A forward already set
    # on the instance (accelerate's device hooks: a partial over the layer) is kept; deepcopy
    # rebinds partials and methods to the copy too.
    setattr(layer, _INNER, layer.__dict__.get("forward"))
    layer.forward = types.MethodType(_recomputing_forward, layer)
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
