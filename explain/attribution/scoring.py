"""Phrase scores under teacher forcing: the quantity every attribution method explains.

For phrase k covering generated tokens [a, b), score_k = sum over t in [a, b) of
log p(token_t | prompt, image, tokens before t), computed in one forward pass over the prompt with
the whole generated answer appended (DESIGN.md, "what a phrase's map means").

`PhraseScorer` runs the vision tower once and then exposes the score as a function of the image
tokens at three depths, which is what the methods attribute to:

- `scores(image_tokens)`: image tokens = projector output, (B, N, H), N = 576 for LLaVA-1.5;
- `scores_from_vision(vision_features)`: the vision features before the projector, (B, N, C);
- `scores_from_pixels(pixel_values)`: the whole model, (B, 3, 336, 336).

All return float32 (B, P), one column per phrase, so one forward pass scores every phrase.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import Tensor, nn

from ..types import Explanation

# Mid-grey: the "neutral image" of the visual-reliance score. 128 is the middle of the 8-bit range
# the processor rescales from.
NEUTRAL_RGB = (128, 128, 128)
# "grain": the same grey with seeded Gaussian film grain, the texture every camera picture has. A
# flat region reads as an artifact itself (over-smoothing); a grainy one as clean content, which
# made it the baseline that occlusion points best with (bench/ATTRIBUTION_RESULTS.md).
GRAIN_SIGMA = 7.0
GRAIN_SEED = 7
REFERENCE_IMAGES = ("neutral", "grain")
BASELINES = ("neutral", "grain", "zeros", "mean", "median")


# model -> {reference image kind: (its pixel values, their vision features, weights_key)}; entries go
# with the model, and are used only while its weights are the ones they came from
_REFERENCE_FEATURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# image processor -> {(kind, size): pixel values}
_REFERENCE_PIXELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def weights_key(model: nn.Module) -> tuple:
    """What identifies the weights a cached result came from: every parameter's storage and its
    version counter, which in-place writes (`p.mul_`, `load_state_dict`, an optimiser step) bump.
    Cheap (no pass over the values); edits through `p.data` bypass version counters and are not seen."""
    return tuple((p.data_ptr(), p._version) for p in model.parameters())


class AttributionError(ValueError):
    """Inputs the attribution cannot work with; the message is meant for a person."""


@dataclass(frozen=True)
class ScoredSpan:
    """What is scored: a phrase (index into Explanation.phrases) or the verdict word (-1)."""

    phrase_index: int
    token_start: int
    token_end: int


def spans_of(explanation: Explanation, *, verdict_token: bool = False) -> list[ScoredSpan]:
    """The token spans to score: every phrase; with `verdict_token`, also the verdict word alone."""
    n = len(explanation.token_ids)
    spans = []
    for i, ph in enumerate(explanation.phrases):
        if not (0 <= ph.token_start <= ph.token_end <= n):
            raise AttributionError(
                f"phrase {i} covers tokens [{ph.token_start}, {ph.token_end}) but the answer has {n} tokens"
            )
        spans.append(ScoredSpan(i, ph.token_start, ph.token_end))
    v = explanation.verdict_token_index
    if verdict_token and v is not None and 0 <= v < n:
        spans.append(ScoredSpan(-1, v, v + 1))
    return spans


def submodule(model: nn.Module, *names: str) -> nn.Module:
    """The first of `names` (dotted paths) that exists on the model: transformers 5 keeps the
    submodules under `model.model`, 4.x on the top level."""
    for name in names:
        obj = model
        try:
            for part in name.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        return obj
    raise AttributionError(f"this model has none of {names}; is it a LlavaForConditionalGeneration?")


def projector_of(model: nn.Module) -> nn.Module:
    return submodule(model, "model.multi_modal_projector", "multi_modal_projector")


def patch_embedding_of(model: nn.Module) -> nn.Module:
    """The ViT's patch embedding convolution: output (B, C, 24, 24), one column per 14-px patch."""
    return submodule(
        model,
        "model.vision_tower.embeddings.patch_embedding",  # transformers 5: CLIPVisionModel
        "model.vision_tower.vision_model.embeddings.patch_embedding",
        "vision_tower.vision_model.embeddings.patch_embedding",
    )


class PhraseScorer:
    """Teacher-forced phrase scores of one (image, answer) pair as a function of the image."""

    def __init__(
        self,
        model: nn.Module,
        inputs: Mapping[str, Tensor],
        answer_ids: Sequence[int],
        spans: Sequence[ScoredSpan],
        *,
        neutral_pixel_values: Tensor | None = None,
        grain_pixel_values: Tensor | None = None,
        reference_set: Tensor | None = None,
    ) -> None:
        self.model = model
        self.spans = list(spans)
        input_ids = inputs["input_ids"]
        if input_ids.dim() != 2 or input_ids.shape[0] != 1:
            raise AttributionError("attribution explains one image at a time (input_ids must be 1 x L)")
        device = input_ids.device
        self.device = device
        self.pixel_values = inputs["pixel_values"]
        answer = torch.as_tensor(list(answer_ids), dtype=torch.long, device=device)
        if answer.numel() == 0:
            raise AttributionError("the explanation has no tokens to attribute")
        vocab = model.get_output_embeddings().weight.shape[0]
        if int(answer.min()) < 0 or int(answer.max()) >= vocab:
            raise AttributionError("the explanation's token ids do not belong to this model's vocabulary")
        prompt_len = input_ids.shape[1]
        full_ids = torch.cat([input_ids[0], answer])
        mask = inputs.get("attention_mask")
        if mask is None:
            mask = torch.ones_like(input_ids)
        self.attention_mask = torch.cat([mask[0], torch.ones_like(answer)]).unsqueeze(0)

        image_token_id = model.config.image_token_id
        if bool((answer == image_token_id).any()):
            raise AttributionError("the explanation contains image placeholder tokens")
        self.image_positions = (input_ids[0] == image_token_id).nonzero().squeeze(1)
        n_img = int(self.image_positions.numel())
        side = math.isqrt(n_img)
        if n_img == 0 or side * side != n_img:
            raise AttributionError(f"expected a square grid of image tokens in the prompt, found {n_img}")
        self.grid_side = side

        with torch.no_grad():
            self.text_embeds = model.get_input_embeddings()(full_ids.unsqueeze(0))

        # Only the logits that predict scored tokens are computed: position p predicts token p + 1.
        t0 = min((s.token_start for s in self.spans), default=0)
        t1 = max((s.token_end for s in self.spans), default=0)
        t1 = max(t1, t0 + 1)
        self.logit_positions = torch.arange(prompt_len + t0 - 1, prompt_len + t1 - 1, device=device)
        self.targets = answer[t0:t1]
        weights = torch.zeros(t1 - t0, max(len(self.spans), 1), device=device)
        for k, s in enumerate(self.spans):
            weights[s.token_start - t0 : s.token_end - t0, k] = 1.0
        self.span_weights = weights
        self.n_tokens = [s.token_end - s.token_start for s in self.spans]

        self._vision_features: Tensor | None = None
        self._reference_pixels = {"neutral": neutral_pixel_values, "grain": grain_pixel_values, "set": reference_set}
        self._reference_vision: dict[str, Tensor] = {}

    # --- the image at three depths ------------------------------------------------------------

    def vision_features_of(self, pixel_values: Tensor) -> Tensor:
        """Vision features as the projector receives them (B, N, C), by the model's own
        `get_image_features` (feature layer, CLS dropping) with a hook on the projector input."""
        projector = projector_of(self.model)
        captured: list[Tensor] = []

        def grab(_module, args):
            captured.append(args[0])

        handle = projector.register_forward_pre_hook(grab)
        try:
            self.model.get_image_features(pixel_values=pixel_values)
        finally:
            handle.remove()
        return captured[0]

    def image_tokens_of(self, pixel_values: Tensor) -> Tensor:
        """Projector output (B, N, H): what replaces the image placeholders in the prompt."""
        return projector_of(self.model)(self.vision_features_of(pixel_values))

    @property
    def vision_features(self) -> Tensor:
        """Vision features of the checked image, computed once (no grad)."""
        if self._vision_features is None:
            with torch.no_grad():
                self._vision_features = self.vision_features_of(self.pixel_values)
        return self._vision_features

    def reference_pixel_values(self, kind: str) -> Tensor:
        """Pixel values of a reference image ("neutral" grey or "grain"), or of the real reference
        pictures ("set", (R, 3, H, W), references.py), as given to the scorer."""
        pixels = self._reference_pixels.get(kind)
        if pixels is None:
            raise AttributionError(f"no '{kind}' reference image was given to the scorer")
        return pixels.to(self.pixel_values.device, self.pixel_values.dtype)

    def reference_vision_features(self, kind: str) -> Tensor:
        """A reference image's vision features: the same for every attribution with these weights, so
        they are computed once per model and weights (`weights_key`) and shared."""
        if kind not in self._reference_vision:
            pixels = self.reference_pixel_values(kind)
            per_model = _REFERENCE_FEATURES.setdefault(self.model, {})
            cached = per_model.get(kind)
            weights = weights_key(self.model)
            if (
                cached is not None
                and cached[2] == weights
                and cached[0].shape == pixels.shape
                and torch.equal(cached[0], pixels)
            ):
                self._reference_vision[kind] = cached[1]
            else:
                with torch.no_grad():
                    self._reference_vision[kind] = self.vision_features_of(pixels)
                per_model[kind] = (pixels, self._reference_vision[kind], weights)
        return self._reference_vision[kind]

    @property
    def neutral_pixel_values(self) -> Tensor:
        return self.reference_pixel_values("neutral")

    @property
    def neutral_vision_features(self) -> Tensor:
        return self.reference_vision_features("neutral")

    @property
    def has_reference_set(self) -> bool:
        return self._reference_pixels["set"] is not None

    def image_tokens(self) -> Tensor:
        with torch.no_grad():
            return projector_of(self.model)(self.vision_features)

    def neutral_image_tokens(self) -> Tensor:
        return self.reference_image_tokens("neutral")

    def reference_image_tokens(self, kind: str) -> Tensor:
        with torch.no_grad():
            return projector_of(self.model)(self.reference_vision_features(kind))

    def baseline_tokens(self, kind: str) -> Tensor:
        """Image tokens (1, N, H) that stand for "nothing here" when a patch is removed:
        "neutral" = the mid-grey image's tokens, patch-wise; "grain" = those of grey with film grain;
        "zeros"; "mean" / "median" = the checked image's own average token (per channel), the same
        at every patch."""
        tokens = self.image_tokens()
        if kind in REFERENCE_IMAGES:
            return self.reference_image_tokens(kind)
        if kind == "zeros":
            return torch.zeros_like(tokens)
        if kind == "mean":
            return tokens.mean(1, keepdim=True).expand_as(tokens)
        if kind == "median":
            return tokens.median(1, keepdim=True).values.expand_as(tokens)
        raise AttributionError(f"unknown baseline '{kind}': use one of {', '.join(BASELINES)}")

    # --- scores ---------------------------------------------------------------------------------

    def token_logprobs(self, image_tokens: Tensor) -> Tensor:
        """log p of each scored answer token, (B, T), float32."""
        b = image_tokens.shape[0]
        embeds = self.text_embeds.expand(b, -1, -1)
        embeds = embeds.index_copy(1, self.image_positions, image_tokens.to(embeds.dtype))
        lm = submodule(self.model, "model.language_model", "language_model")
        out = lm(
            inputs_embeds=embeds,
            attention_mask=self.attention_mask.expand(b, -1),
            use_cache=False,
        )
        hidden = out.last_hidden_state.index_select(1, self.logit_positions)
        logits = self.model.get_output_embeddings()(hidden).float()
        logp = torch.log_softmax(logits, dim=-1)
        return logp.gather(-1, self.targets.view(1, -1, 1).expand(b, -1, 1)).squeeze(-1)

    def scores(self, image_tokens: Tensor) -> Tensor:
        """Phrase scores (B, P) for a batch of image-token tensors (B, N, H)."""
        return self.token_logprobs(image_tokens) @ self.span_weights

    def scores_from_vision(self, vision_features: Tensor) -> Tensor:
        return self.scores(projector_of(self.model)(vision_features))

    def scores_from_pixels(self, pixel_values: Tensor) -> Tensor:
        return self.scores(self.image_tokens_of(pixel_values))


def reference_image(kind: str, size: int = 336):
    """The reference picture of `kind`: "neutral" (uniform mid-grey) or "grain" (the same grey with
    seeded Gaussian grain of GRAIN_SIGMA levels, identical on every machine)."""
    import numpy as np
    from PIL import Image

    if kind == "neutral":
        return Image.new("RGB", (size, size), NEUTRAL_RGB)
    if kind == "grain":
        noise = np.random.default_rng(GRAIN_SEED).standard_normal((size, size, 3))
        pixels = np.clip(np.rint(np.asarray(NEUTRAL_RGB) + GRAIN_SIGMA * noise), 0, 255).astype(np.uint8)
        return Image.fromarray(pixels, "RGB")
    raise AttributionError(f"unknown reference image '{kind}': use one of {', '.join(REFERENCE_IMAGES)}")


def reference_pixel_values(processor, kind: str = "neutral", *, size: int = 336) -> Tensor:
    """A reference image through the model's own image processor; computed once per processor
    (every attribution needs them; callers never modify the tensor)."""
    image_processor = getattr(processor, "image_processor", processor)
    try:
        per_processor = _REFERENCE_PIXELS.setdefault(image_processor, {})
    except TypeError:  # a processor that cannot be weakly referenced: no cache
        per_processor = {}
    key = (kind, size)
    if key not in per_processor:
        image = reference_image(kind, size)
        per_processor[key] = image_processor(images=image, return_tensors="pt")["pixel_values"]
    return per_processor[key]


def neutral_pixel_values(processor, *, size: int = 336) -> Tensor:
    """The neutral image (uniform mid-grey) through the model's own image processor."""
    return reference_pixel_values(processor, "neutral", size=size)


def chunks(n: int, size: int) -> list[range]:
    size = max(1, size)
    return [range(i, min(n, i + size)) for i in range(0, n, size)]


T = TypeVar("T")


def halving_on_oom(run: Callable[[int], T], batch_size: int) -> T:
    """`run(batch_size)`, retried with half the batch while the accelerator runs out of memory:
    batching phrases and perturbations is a speed choice, never a reason to fail."""
    size = max(1, batch_size)
    while True:
        try:
            return run(size)
        except torch.OutOfMemoryError:
            if size == 1:
                raise
            size //= 2
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
