"""The parts of a llava-hf model that a decode step touches, whether the static-cache path can
decode a model exactly like `generate`, and storing projection weights side by side."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

_STATIC_ROPE = (None, "default", "linear", "llama3")  # rope types whose tables do not depend on length


@dataclass
class Layout:
    """The parts of a llava-hf model that a decode step touches."""

    lm: nn.Module  # the Llama decoder stack (embed_tokens, layers, norm, rotary_emb)
    layers: list
    embed: nn.Module
    norm: nn.Module
    lm_head: nn.Module
    n_heads: int
    n_kv: int
    head_dim: int
    hidden: int
    scaling: float


def language_model_of(model: nn.Module) -> nn.Module | None:
    """The decoder stack: `model.model.language_model` in transformers 5, `.language_model.model` in 4."""
    inner = getattr(model, "model", None)
    for cand in (
        getattr(inner, "language_model", None),
        getattr(getattr(model, "language_model", None), "model", None),
    ):
        if cand is not None and hasattr(cand, "layers") and hasattr(cand, "norm"):
            return cand
    return None


def layout_of(model: nn.Module) -> Layout:
    lm = language_model_of(model)
    attn = lm.layers[0].self_attn
    tc = model.config.text_config
    n_heads = tc.num_attention_heads
    head_dim = getattr(attn, "head_dim", None) or tc.hidden_size // n_heads
    return Layout(
        lm=lm,
        layers=list(lm.layers),
        embed=model.get_input_embeddings(),
        norm=lm.norm,
        lm_head=model.get_output_embeddings(),
        n_heads=n_heads,
        n_kv=getattr(tc, "num_key_value_heads", None) or n_heads,
        head_dim=head_dim,
        hidden=tc.hidden_size,
        scaling=float(getattr(attn, "scaling", head_dim**-0.5)),
    )


def unsupported_reason(model: nn.Module) -> str | None:
    """Why this backend cannot decode `model` exactly like `generate`, or None if it can."""
    lm = language_model_of(model)
    tc = getattr(getattr(model, "config", None), "text_config", None)
    if lm is None or tc is None:
        return "the model is not a llava-hf model with a decoder stack"
    if getattr(tc, "model_type", None) != "llama":
        return f"the language model is '{getattr(tc, 'model_type', None)}', not llama"
    if getattr(tc, "attention_bias", False) or getattr(tc, "mlp_bias", False):
        return "the language model has attention or MLP biases"
    if (getattr(tc, "pretraining_tp", 1) or 1) > 1 or getattr(tc, "sliding_window", None):
        return "the language model uses tensor-parallel slicing or a sliding window"
    rope = getattr(tc, "rope_parameters", None) or getattr(tc, "rope_scaling", None) or {}
    rope_type = rope.get("rope_type", rope.get("type")) if isinstance(rope, dict) else None
    if rope_type not in _STATIC_ROPE:
        return f"rope type '{rope_type}' depends on the sequence length"
    layer = lm.layers[0]
    for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
        if not hasattr(layer.self_attn, name):
            return f"the attention has no {name}"
    for name in ("gate_proj", "up_proj", "down_proj", "act_fn"):
        if not hasattr(layer.mlp, name):
            return f"the MLP has no {name}"
    gc = getattr(model, "generation_config", None)
    if gc is not None:
        if getattr(gc, "repetition_penalty", None) not in (None, 1.0):
            return "the generation config sets a repetition penalty"
        for key in ("no_repeat_ngram_size", "bad_words_ids", "suppress_tokens", "begin_suppress_tokens",
                    "forced_bos_token_id", "forced_eos_token_id", "min_new_tokens", "sequence_bias",
                    "exponential_decay_length_penalty"):  # fmt: skip
            if getattr(gc, key, None):
                return f"the generation config sets {key}"
        if (getattr(gc, "min_length", 0) or 0) > 0:
            return "the generation config sets min_length"
    return None


def plain_linears(mods) -> bool:
    return all(type(m) is nn.Linear and m.bias is None for m in mods)


@torch.no_grad()
def fuse_weights(mods: list[nn.Module]) -> torch.Tensor | None:
    """One (sum of rows, K) tensor holding the weights of `mods` side by side, the modules' weights
    becoming views of it (same values, no extra memory). None when they are not plain nn.Linear.

    Done outside inference mode on purpose: the parameters stay usable by autograd (attribution)."""
    if not plain_linears(mods):
        return None
    with torch.inference_mode(False):
        return _fuse(mods)


def _fuse(mods: list[nn.Module]) -> torch.Tensor | None:
    ws = [m.weight for m in mods]
    if len({(w.dtype, w.device, w.shape[1]) for w in ws}) != 1:
        return None
    rows = [w.shape[0] for w in ws]
    k = ws[0].shape[1]
    base = ws[0]
    adjacent = all(w.is_contiguous() for w in ws) and all(
        w.untyped_storage().data_ptr() == base.untyped_storage().data_ptr()
        and w.storage_offset() == base.storage_offset() + sum(rows[:i]) * k
        for i, w in enumerate(ws)
    )
    if adjacent:  # fused before (by another backend on the same model)
        return base.detach().new_empty(0).set_(base.untyped_storage(), base.storage_offset(), (sum(rows), k))
    fused = torch.cat([w.detach() for w in ws])
    for m, part in zip(mods, fused.split(rows), strict=True):
        m.weight.data = part
    return fused
