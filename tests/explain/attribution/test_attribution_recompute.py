"""Activation recomputation: the same gradients, far fewer saved activations, this thread only."""

from __future__ import annotations

import threading

import torch
from torch import nn

from explain.attribution.recompute import decoder_layers, recompute_layers


def saved_bytes_of_forward(scorer) -> tuple[int, torch.Tensor]:
    """Bytes autograd keeps for the backward pass of one scoring forward, and the gradient."""
    total = [0]

    def pack(t):
        total[0] += t.numel() * t.element_size()
        return t

    tokens = scorer.image_tokens().detach().requires_grad_(True)
    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        score = scorer.scores(tokens)[0, 1]
    (grad,) = torch.autograd.grad(score, tokens)
    return total[0], grad


def test_recomputed_layers_give_the_same_gradient_and_keep_far_less(fixed):
    scorer = fixed.scorer()
    kept_plain, grad_plain = saved_bytes_of_forward(scorer)
    with recompute_layers(scorer.model) as found:
        kept_recomputed, grad_recomputed = saved_bytes_of_forward(scorer)
    assert found
    torch.testing.assert_close(grad_recomputed, grad_plain, rtol=1e-5, atol=1e-8)
    assert kept_recomputed * 5 < kept_plain
    # outside the block the layers keep their activations again
    assert saved_bytes_of_forward(scorer)[0] == kept_plain


def test_the_switch_belongs_to_one_thread(fixed):
    scorer = fixed.scorer()
    kept_plain, _ = saved_bytes_of_forward(scorer)
    seen = []
    with recompute_layers(scorer.model):
        worker = threading.Thread(target=lambda: seen.append(saved_bytes_of_forward(scorer)[0]))
        worker.start()
        worker.join()
    assert seen == [kept_plain]


def test_a_model_without_decoder_layers_is_left_alone():
    model = nn.Sequential(nn.Linear(2, 2))
    assert decoder_layers(model) is None
    with recompute_layers(model) as found:
        assert not found


def test_layers_follow_their_own_weights_after_a_copy(fixed):
    """Issue 20, bug 2: the wrapper bound each layer's forward to the original layer, so a deep copy
    made after any gradient map ran the original's weights: zeroing the copy's layers changed nothing."""
    import copy
    import dataclasses

    scorer = fixed.scorer()
    with recompute_layers(scorer.model):  # installs the wrappers, as every gradient map does
        pass
    with torch.no_grad():
        before = scorer.scores(scorer.image_tokens())
    twin = copy.deepcopy(scorer.model)
    with torch.no_grad():
        for p in decoder_layers(twin).parameters():
            p.zero_()
    twin_scorer = dataclasses.replace(fixed, model=twin).scorer()
    with torch.no_grad():
        changed = twin_scorer.scores(twin_scorer.image_tokens())
        again = scorer.scores(scorer.image_tokens())
    assert not torch.allclose(changed, before, atol=1e-3)
    torch.testing.assert_close(again, before)  # the original is untouched
    with recompute_layers(twin) as found:  # and the copy's recomputation still runs its own layers
        assert found
        _, grad = saved_bytes_of_forward(twin_scorer)
    assert torch.isfinite(grad).all()
