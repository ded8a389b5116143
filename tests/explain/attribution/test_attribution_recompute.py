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
