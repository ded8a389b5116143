"""The toy FakeVLM: LLaVA-1.5's architecture at a few million parameters, and its llava-hf folder.

Same classes, input and file layout as FakeVLM (`LlavaForConditionalGeneration`, a CLIP ViT at
336 px with 14-px patches: 576 image tokens after the CLS token is dropped, a 2-layer GELU
projector, a Llama causal LM); only the widths, depths and the vocabulary are small.
"""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer

from .tokenizer import BOS, EOS, IMAGE, PAD, save_tokenizer

# CLIP's preprocessing exactly as FakeVLM ships it (llava-1.5's preprocessor_config.json).
PREPROCESSOR_CONFIG = {
    "image_processor_type": "CLIPImageProcessor",
    "do_resize": True,
    "size": {"shortest_edge": 336},
    "resample": 3,
    "do_center_crop": True,
    "crop_size": {"height": 336, "width": 336},
    "do_rescale": True,
    "rescale_factor": 0.00392156862745098,
    "do_normalize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "do_convert_rgb": True,
}

# Like FakeVLM's: no num_additional_image_tokens (the loader supplies it, as it must for FakeVLM).
PROCESSOR_CONFIG = {
    "processor_class": "LlavaProcessor",
    "image_token": IMAGE,
    "patch_size": 14,
    "vision_feature_select_strategy": "default",
}

VISION = dict(hidden_size=128, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4)
TEXT = dict(hidden_size=192, intermediate_size=512, num_hidden_layers=4, num_attention_heads=3)


def toy_config(tokenizer: Tokenizer):
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig

    vocab = tokenizer.get_vocab()
    vision = CLIPVisionConfig(
        **VISION,
        image_size=336,
        patch_size=14,
        projection_dim=VISION["hidden_size"],
        hidden_act="quick_gelu",
        layer_norm_eps=1e-5,
    )
    text = LlamaConfig(
        **TEXT,
        num_key_value_heads=TEXT["num_attention_heads"],
        head_dim=TEXT["hidden_size"] // TEXT["num_attention_heads"],
        vocab_size=tokenizer.get_vocab_size(),
        max_position_embeddings=1024,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        hidden_act="silu",
        tie_word_embeddings=False,
        bos_token_id=vocab[BOS],
        eos_token_id=vocab[EOS],
        pad_token_id=vocab[PAD],
    )
    return LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=vocab[IMAGE],
        image_seq_length=576,
        projector_hidden_act="gelu",
        multimodal_projector_bias=True,
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
        tie_word_embeddings=False,
        pad_token_id=vocab[PAD],
    )


def build_model(tokenizer: Tokenizer, seed: int = 0):
    import torch
    from transformers import LlavaForConditionalGeneration

    torch.manual_seed(seed)
    return LlavaForConditionalGeneration(toy_config(tokenizer))


def save_checkpoint(model, tokenizer: Tokenizer, out_dir: str | Path) -> Path:
    """Write the llava-hf folder: config, fp32 safetensors, generation config, tokenizer, processor."""
    import torch

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vocab = tokenizer.get_vocab()
    gen = model.generation_config
    gen.bos_token_id, gen.eos_token_id, gen.pad_token_id = vocab[BOS], vocab[EOS], vocab[PAD]
    gen.do_sample = False
    gen.max_new_tokens = 256
    model.to(torch.float32).save_pretrained(out, safe_serialization=True)
    save_tokenizer(tokenizer, out)
    (out / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR_CONFIG, indent=2) + "\n")
    (out / "processor_config.json").write_text(json.dumps(PROCESSOR_CONFIG, indent=2) + "\n")
    return out


def parameter_count(model) -> int:
    return sum(p.numel() for p in model.parameters())
