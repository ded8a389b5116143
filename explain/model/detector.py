"""The detector: one loaded llava-hf model that streams FakeVLM-style explanations.

`Detector.stream` yields TextDelta pieces as tokens are generated, one VerdictReady as soon as the
verdict sentence is decoded, and finally the Explanation. Generation is transformers' own greedy
`generate` (so streamed output is token-identical to it) or another backend of explain.decoding,
running in a worker thread; a cancelled or abandoned stream stops it at the next token.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Iterator

import torch

from ..decoding import GenerateBackend, IncrementalDecoder, as_list, verdict_token_ids
from ..phrases import split_phrases
from ..types import Explanation, TextDelta, Timings, VerdictReady
from ..verdict import RULES, Rule, verdict_of, verdict_sentence_end
from .identity import FAKEVLM_LICENSE, HOW_TO_GET_FAKEVLM, ModelChoice

PROMPT = "<image>Does the image looks real/fake?"  # the paper's evaluation prompt, grammar as published
MAX_NEW_TOKENS = 256
TOY_WARNING = (
    "This is the toy model shipped with Spot the Fake: it only knows the planted toy artifacts it was "
    "trained on and knows nothing about real AI-generated images."
)


class StreamCancelled(Exception):
    pass


def p_fake_from_logits(real_logit: float, fake_logit: float) -> float:
    """Softmax restricted to the two verdict tokens."""
    m = max(real_logit, fake_logit)
    er, ef = math.exp(real_logit - m), math.exp(fake_logit - m)
    return ef / (er + ef)


class Detector:
    def __init__(
        self, model, processor, *, choice: ModelChoice | None = None, rule: Rule = "word", backend=None,
        warm: bool = True,
    ):
        self.model = model
        self.warm = warm  # False on ZeroGPU: nothing may touch CUDA outside a GPU call
        self.backend = backend or GenerateBackend()
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.choice = choice
        self.model_id = choice.model_id if choice else type(model).__name__
        self.revision = choice.revision if choice else None
        self.is_toy = bool(choice and choice.is_toy)
        if rule not in RULES:
            raise ValueError(f"unknown verdict rule {rule!r}; use 'word' or 'substring'")
        self.rule: Rule = rule
        self.verdict_ids = verdict_token_ids(self.tokenizer)
        param = next(model.parameters())
        self.device = param.device
        self.dtype = param.dtype

    # -- what the UI and CLI show about the model -------------------------------------------------
    @property
    def license(self) -> str:
        return "Apache-2.0 (toy model built by this project)" if self.is_toy else FAKEVLM_LICENSE

    @property
    def notice(self) -> str | None:
        """A sentence to show whenever this model is in use, or None."""
        if not self.is_toy:
            return None
        reason = self.choice.fallback_reason if self.choice else None
        lead = f"Serving the toy model because {reason}. {HOW_TO_GET_FAKEVLM} " if reason else ""
        return lead + TOY_WARNING

    # -- inference ---------------------------------------------------------------------------------
    def prepare(self, checked, prompt: str | None = None):
        """Model inputs for a CheckedImage (or any RGB PIL image) and the prompt."""
        image = getattr(checked, "image", checked)
        inputs = self.processor(images=image, text=prompt or PROMPT, return_tensors="pt")
        inputs = inputs.to(self.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        return inputs

    def generate_reference(self, checked, *, max_new_tokens: int = MAX_NEW_TOKENS, prompt: str | None = None):
        """Plain `model.generate` greedy ids (new tokens only): the yardstick for the streamed path."""
        inputs = self.prepare(checked, prompt)
        with torch.inference_mode():
            out = self.model.generate(**inputs, do_sample=False, max_new_tokens=max_new_tokens)
        return out[0, inputs["input_ids"].shape[1] :].tolist()

    def stream(
        self,
        checked,
        *,
        max_new_tokens: int = MAX_NEW_TOKENS,
        prompt: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[TextDelta | VerdictReady | Explanation]:
        t0 = time.perf_counter()
        cancel = cancel or threading.Event()
        inputs = self.prepare(checked, prompt)
        t_prep = time.perf_counter() - t0
        q: queue.Queue = queue.Queue()
        failure: list[BaseException] = []
        vids = (self.verdict_ids["real"], self.verdict_ids["fake"])

        def work():
            try:
                self.backend.run(
                    self.model,
                    inputs,
                    max_new_tokens=max_new_tokens,
                    verdict_ids=vids,
                    cancel=cancel,
                    emit=lambda tok, pair: q.put(("token", tok, pair)),
                )
            except BaseException as exc:  # handed to the consumer, re-raised there
                failure.append(exc)
            finally:
                q.put(("end", None, None))

        worker = threading.Thread(target=work, name="spot-generate", daemon=True)
        worker.start()
        decoder = IncrementalDecoder(self.tokenizer)
        eos = set(as_list(self.model.generation_config.eos_token_id))
        steps: list[tuple[float, float]] = []
        t_first = None
        verdict_sent = False
        finished = False
        try:
            while True:
                kind, tok, pair = q.get()
                if kind == "end":
                    finished = True
                    break
                if t_first is None:
                    t_first = time.perf_counter() - t0
                if tok in eos:
                    continue
                steps.append(pair)
                delta = decoder.push(tok)
                if delta:
                    yield TextDelta(delta)
                if not verdict_sent and verdict_sentence_end(decoder.text, self.rule) is not None:
                    verdict_sent = True
                    v, p, _ = self._verdict(decoder.text, decoder.ids, steps)
                    yield VerdictReady(v, p)
        finally:
            if not finished:  # the consumer walked away (closed the generator): stop generating now
                cancel.set()
            worker.join()
        if failure:
            raise failure[0]
        if cancel.is_set():
            raise StreamCancelled("generation was cancelled")
        text, ends = decoder.finish()
        verdict, p_fake, vidx = self._verdict(text, decoder.ids, steps)
        if not verdict_sent:
            yield VerdictReady(verdict, p_fake)
        total = time.perf_counter() - t0
        n = len(decoder.ids)
        decode_time = total - (t_first or total)
        timings = Timings(
            preprocess_s=t_prep,
            first_token_s=t_first or total,
            total_s=total,
            new_tokens=n,
            tokens_per_s=(n - 1) / decode_time if n > 1 and decode_time > 0 else 0.0,
        )
        yield Explanation(
            text=text,
            token_ids=tuple(decoder.ids),
            verdict=verdict,
            p_fake=p_fake,
            phrases=split_phrases(text, ends),
            timings=timings,
            verdict_token_index=vidx,
            prompt=prompt or PROMPT,
            model_id=self.model_id,
            rule=self.rule,
        )

    def warmup(self, max_new_tokens: int = MAX_NEW_TOKENS) -> float:
        """Build the backend's compiled/captured pieces before the first visitor; returns seconds."""
        fn = getattr(self.backend, "warmup", None)
        if fn is None or not self.warm:
            return 0.0
        from PIL import Image

        grey = Image.new("RGB", (336, 336), (128, 128, 128))
        return fn(self.model, self.prepare(grey), max_new_tokens=max_new_tokens)

    def explain(self, checked, **kw) -> Explanation:
        result = None
        for item in self.stream(checked, **kw):
            result = item
        assert isinstance(result, Explanation)
        return result

    def _verdict(self, text: str, ids: list[int], steps: list[tuple[float, float]]):
        verdict = verdict_of(text, self.rule)
        wanted = {self.verdict_ids["real"], self.verdict_ids["fake"]}
        idx = next((i for i, t in enumerate(ids) if t in wanted), None)
        if idx is None or idx >= len(steps):
            return verdict, None, None
        return verdict, p_fake_from_logits(*steps[idx]), idx
