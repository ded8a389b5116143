"""A tiny LlavaForConditionalGeneration with fixed weights, for pinned attribution values.

The weights do not come from transformers' initialisers (which may change between releases): every
parameter is filled from its own generator seeded by the CRC of its name, so the model, and the
numbers pinned against it, depend only on the architecture and torch's normal generator. Same code
path as FakeVLM: CLIP ViT with 14-px patches at 336 px (576 image tokens), feature layer -2 with the
CLS token dropped, 2-layer GELU projector, a Llama language model; only the picture is smaller
(112 px: an 8 x 8 grid of 64 image tokens instead of 24 x 24), which keeps the tests fast.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import torch

IMAGE_TOKEN = 47
SIZE = 112
SIDE = SIZE // 14  # patches a side
N_PATCHES = SIDE * SIDE
PROMPT_IDS = [1] + [IMAGE_TOKEN] * N_PATCHES + [5, 6, 7, 8, 9]
ANSWER_IDS = [10, 11, 12, 13, 14, 15, 16, 17, 18]
# (phrase_index, token_start, token_end): a verdict sentence, a longer phrase, the verdict word
SPANS = [(0, 0, 4), (1, 4, 9), (-1, 2, 3)]


def fixed_model():
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

    vision = CLIPVisionConfig(
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=SIZE,
        patch_size=14,
        projection_dim=16,
        hidden_act="quick_gelu",
    )
    text = LlamaConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        vocab_size=48,
        max_position_embeddings=1024,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_id=IMAGE_TOKEN,
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",
        projector_hidden_act="gelu",
    )
    config._attn_implementation = "eager"  # the plainest attention: no kernel choice to drift
    model = LlavaForConditionalGeneration(config).eval()
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
            noise = torch.randn(p.shape, generator=g)
            if name.endswith("norm.weight") or "layer_norm" in name or "layrnorm" in name:
                p.copy_(1.0 + 0.1 * noise if name.endswith("weight") else 0.1 * noise)
            elif p.dim() == 1:
                p.copy_(0.05 * noise)
            else:
                fan_in = math.prod(p.shape[1:])
                p.copy_(noise / math.sqrt(fan_in))
    return model


def fixed_pixel_values(seed: int = 0) -> torch.Tensor:
    """A seeded 400 x 300 noise picture through the reference CLIP processor (PIL path)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8))
    return image_processor()(images=image, return_tensors="pt")["pixel_values"]


def image_processor():
    import json

    from explain.model import pil_image_processor_class
    from tests.factories.checkpoints import PREPROCESSOR_CONFIG

    cfg = json.loads(PREPROCESSOR_CONFIG.read_text())
    cfg.pop("image_processor_type", None)
    cfg.update(size={"shortest_edge": SIZE}, crop_size={"height": SIZE, "width": SIZE})
    return pil_image_processor_class()(**cfg)


@dataclass
class Fixed:
    model: object
    inputs: dict
    answer: list[int]
    spans: list
    neutral: torch.Tensor
    grain: torch.Tensor

    def scorer(self):
        from explain.attribution.scoring import PhraseScorer, ScoredSpan

        return PhraseScorer(
            self.model,
            self.inputs,
            self.answer,
            [ScoredSpan(*s) for s in self.spans],
            neutral_pixel_values=self.neutral,
            grain_pixel_values=self.grain,
        )


def make_fixed() -> Fixed:
    from explain.attribution.scoring import reference_pixel_values

    torch.manual_seed(0)
    model = fixed_model()
    ids = torch.tensor([PROMPT_IDS])
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "pixel_values": fixed_pixel_values()}
    references = [reference_pixel_values(image_processor(), kind, size=SIZE) for kind in ("neutral", "grain")]
    return Fixed(model, inputs, list(ANSWER_IDS), list(SPANS), *references)


# --- independent references: the model's own forward, no PhraseScorer --------------------------------


def reference_scores(model, inputs: dict, answer: list[int], spans, *, image_tokens=None) -> torch.Tensor:
    """Phrase scores from the full model forward (input_ids + pixel_values, or the image tokens
    scattered into the prompt embeddings by masked_scatter as LlavaModel does)."""
    full = torch.cat([inputs["input_ids"], torch.tensor([answer])], dim=1)
    mask = torch.ones_like(full)
    if image_tokens is None:
        logits = model(input_ids=full, pixel_values=inputs["pixel_values"], attention_mask=mask).logits
    else:
        embeds = model.get_input_embeddings()(full)
        where = (full == IMAGE_TOKEN).unsqueeze(-1).expand_as(embeds)
        embeds = embeds.masked_scatter(where, image_tokens.to(embeds.dtype))
        logits = model(inputs_embeds=embeds, attention_mask=mask).logits
    n_prompt = inputs["input_ids"].shape[1]
    logp = torch.log_softmax(logits[0, n_prompt - 1 : -1].float(), dim=-1)
    tok = logp.gather(-1, torch.tensor(answer).view(-1, 1)).squeeze(-1)
    return torch.stack([tok[a:b].sum() for _, a, b in spans])


def reference_image_tokens(model, pixel_values) -> torch.Tensor:
    return torch.stack(list(model.get_image_features(pixel_values=pixel_values).pooler_output))
