"""The reference greedy decoding backend: transformers' own `generate`, on any device.

A backend's `run` decodes greedily from `inputs`, calling `emit(token_id, (real_logit,
fake_logit))` for every new token (eos included), and returns when done or when `cancel` is set.
The helpers here hook `generate` to hand each token and its verdict logits to `emit`.
"""

from __future__ import annotations

import threading

import torch
from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer


class _Emit(LogitsProcessor):
    """Hands each step's 'real'/'fake' logits to the streamer that sees the token chosen from them."""

    def __init__(self, ids: tuple[int, int]):
        self.ids = list(ids)
        self.last: tuple[float, float] = (float("nan"), float("nan"))

    def __call__(self, input_ids, scores):
        pair = scores[0, self.ids].float().tolist()
        self.last = (pair[0], pair[1])
        return scores


class _Cancel(StoppingCriteria):
    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, input_ids, scores, **kwargs):
        return self.event.is_set()


class _CallbackStreamer(BaseStreamer):
    """Calls emit(token, logits) for each new token; the first put() is the prompt and is skipped."""

    def __init__(self, emit, logits: _Emit):
        self.emit = emit
        self.logits = logits
        self.prompt_seen = False

    def put(self, value):
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        for t in value.reshape(-1).tolist():
            self.emit(t, self.logits.last)

    def end(self):
        pass


class GenerateBackend:
    """Greedy decoding with transformers' own `generate`: the reference path, on any device.

    A backend's `run` decodes greedily from `inputs`, calling `emit(token_id, (real_logit,
    fake_logit))` for every new token (eos included), and returns when done or when `cancel` is set.
    """

    name = "generate"

    def run(self, model, inputs, *, max_new_tokens: int, verdict_ids: tuple[int, int], cancel, emit) -> None:
        logits = _Emit(verdict_ids)
        with torch.inference_mode():
            model.generate(
                **inputs,
                do_sample=False,
                num_beams=1,
                max_new_tokens=max_new_tokens,
                streamer=_CallbackStreamer(emit, logits),
                logits_processor=LogitsProcessorList([logits]),
                stopping_criteria=StoppingCriteriaList([_Cancel(cancel)]),
            )
