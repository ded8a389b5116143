"""Self-check of whatever weights are loaded: is the app feeding and reading the model as the paper did?

`run_selfcheck(detector)` checks, on the shipped example pictures (assets/examples):
- image_tokens: the processor emits the checkpoint's own count of image tokens (576 for FakeVLM);
- evaluation_inputs: `input_ids` and `pixel_values` equal those of the paper's evaluation path
  (PIL open + `convert("RGB")`, the base processor at a272c74: explain.model.reference);
- decoder: the detector's decoder (the fast one on a GPU) gives the same greedy tokens as plain
  `model.generate`, which on real weights (not random ones, whose near-flat logits flip on ties)
  is the question that matters;
- verdict: the verdict logits are finite, `p_fake` matches `generate`'s and the chosen token, and
  the verdict token agrees with the verdict read from the text.
Each check has its seconds; the report is text or JSON. `python -m explain.selfcheck` runs it.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..assets import ASSETS_DIR

log = logging.getLogger(__name__)
EXAMPLES_DIR = ASSETS_DIR / "examples"
P_FAKE_TOLERANCE = 0.02  # bf16 static-cache and generate logits differ in the last bits


@dataclass
class Check:
    name: str
    picture: str
    ok: bool | None  # None: not applicable here (said why in `detail`)
    detail: str
    seconds: float = 0.0


@dataclass
class Report:
    model_id: str
    revision: str | None
    device: str
    dtype: str
    decoder: str
    rule: str
    preprocess: str
    max_new_tokens: int
    checks: list[Check] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)

    def to_json(self) -> dict:
        return {**asdict(self), "ok": self.ok}

    def text(self) -> str:
        head = (f"self-check of {self.model_id}" + (f"@{self.revision}" if self.revision else "")
                + f" on {self.device} ({self.dtype}, decoder {self.decoder}, rule {self.rule}, "
                f"preprocess {self.preprocess}, {self.max_new_tokens} new tokens)")
        marks = {True: "ok  ", False: "FAIL", None: "skip"}
        lines = [head]
        for c in self.checks:
            lines.append(f"  {marks[c.ok]} {c.name:<18} {c.picture:<40} {c.detail} ({c.seconds:.2f} s)")
        lines.append("  timings: " + ", ".join(f"{k} {v:.2f}" for k, v in self.timings.items()))
        lines.append("PASSED" if self.ok else "FAILED: " + ", ".join(
            sorted({c.name for c in self.checks if c.ok is False})))
        return "\n".join(lines)


def example_pictures() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*.png"))


def run_selfcheck(detector, *, pictures: list[Path] | None = None, max_new_tokens: int = 256,
                  preprocess: str = "default") -> Report:
    from ..intake import check_image

    report = Report(detector.model_id, detector.revision, str(detector.device), str(detector.dtype).replace(
        "torch.", ""), getattr(detector.backend, "name", type(detector.backend).__name__), detector.rule,
        preprocess, max_new_tokens)
    reference = _reference(detector)
    for path in pictures or example_pictures():
        data = Path(path).read_bytes()
        checked = check_image(data, preprocess=preprocess)
        name = Path(path).name
        report.checks.append(_timed(_image_tokens, detector, checked, name))
        report.checks.append(_timed(_evaluation_inputs, detector, reference, checked, path, name))
        t0 = time.perf_counter()
        explanation = detector.explain(checked, max_new_tokens=max_new_tokens)
        report.timings[f"stream {name} s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ids, pairs = _generate(detector, checked, max_new_tokens)
        report.timings[f"generate {name} s"] = time.perf_counter() - t0
        report.checks.append(_decoder(detector, explanation, ids, name))
        report.checks.append(_verdict(detector, explanation, ids, pairs, name))
    return report


def startup_selfcheck(detector, **kw) -> Report | None:
    """The self-check at a Space's start-up: its report goes to the log; it never stops the app."""
    try:
        report = run_selfcheck(detector, **kw)
    except Exception:
        log.exception("self-check could not run")
        return None
    (log.info if report.ok else log.error)("%s", report.text())
    return report


def _timed(fn, *args) -> Check:
    t0 = time.perf_counter()
    check = fn(*args)
    check.seconds = time.perf_counter() - t0
    return check


def _reference(detector):
    from ..model.reference import reference_processor

    path = getattr(detector.choice, "path", None)
    return reference_processor(path) if path is not None else None


def _image_token_id(model) -> int:
    cfg = model.config
    return getattr(cfg, "image_token_id", None) or cfg.image_token_index


def _image_tokens(detector, checked, name: str) -> Check:
    from ..model.reference import image_token_count

    inputs = detector.processor(images=checked.image, text="<image>Does the image looks real/fake?",
                                return_tensors="pt")
    got = int((inputs["input_ids"] == _image_token_id(detector.model)).sum())
    path = getattr(detector.choice, "path", None)
    want = image_token_count(path) if path is not None else 576
    return Check("image_tokens", name, got == want, f"{got} image tokens, the checkpoint expects {want}")


def _evaluation_inputs(detector, reference, checked, path: Path, name: str) -> Check:
    import torch
    from PIL import Image

    from ..model.detector import PROMPT

    if reference is None:
        return Check("evaluation_inputs", name, None, "no checkpoint folder to take the tokenizer from")
    with Image.open(path) as img:
        paper = img.convert("RGB")  # FakeVLM's loader
    ref = reference(images=paper, text=PROMPT, return_tensors="pt")
    ours = detector.processor(images=checked.image, text=PROMPT, return_tensors="pt")
    same_ids = torch.equal(ref["input_ids"], ours["input_ids"])
    same_px = ref["pixel_values"].shape == ours["pixel_values"].shape and torch.equal(
        ref["pixel_values"], ours["pixel_values"])
    if same_ids and same_px:
        return Check("evaluation_inputs", name, True, "input_ids and pixel_values identical")
    diff = "shape differs" if ref["pixel_values"].shape != ours["pixel_values"].shape else (
        f"max |pixel diff| {float((ref['pixel_values'] - ours['pixel_values']).abs().max()):.4g}")
    return Check("evaluation_inputs", name, False, f"input_ids {'equal' if same_ids else 'differ'}; "
                 f"pixel_values {'equal' if same_px else 'differ: ' + diff}")


def _generate(detector, checked, max_new_tokens: int) -> tuple[list[int], list[tuple[float, float]]]:
    """Plain `generate` (greedy): new token ids and each step's raw (real, fake) logits."""
    import torch

    inputs = detector.prepare(checked)
    vids = [detector.verdict_ids["real"], detector.verdict_ids["fake"]]
    with torch.inference_mode():
        out = detector.model.generate(**inputs, do_sample=False, num_beams=1, max_new_tokens=max_new_tokens,
                                      output_logits=True, return_dict_in_generate=True)
    ids = out.sequences[0, inputs["input_ids"].shape[1]:].tolist()
    pairs = [tuple(step[0, vids].float().tolist()) for step in out.logits]
    return ids, pairs


def _decoder(detector, explanation, ids: list[int], name: str) -> Check:
    from ..decoding import as_list

    eos = set(as_list(detector.model.generation_config.eos_token_id))
    want = [t for t in ids if t not in eos]  # the stream leaves eos out of token_ids
    got = list(explanation.token_ids)
    if got == want:
        return Check("decoder", name, True, f"{len(got)} tokens identical to generate")
    at = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), min(len(got), len(want)))
    tok = detector.tokenizer
    return Check("decoder", name, False, f"first difference at token {at} of {len(want)}: "
                 f"{tok.decode(got[at:at + 8])!r} vs generate's {tok.decode(want[at:at + 8])!r}")


def _verdict(detector, explanation, ids: list[int], pairs, name: str) -> Check:
    from ..model.detector import p_fake_from_logits

    idx, p, verdict = explanation.verdict_token_index, explanation.p_fake, explanation.verdict
    if idx is None:
        ok = verdict == "undecided"
        return Check("verdict", name, ok, f"no verdict token; text verdict {verdict}" + (
            "" if ok else " (read from the text, but no 'real'/'fake' token was generated)"))
    kind = "fake" if explanation.token_ids[idx] == detector.verdict_ids["fake"] else "real"
    problems = []
    if p is None or not math.isfinite(p) or not 0.0 <= p <= 1.0:
        problems.append(f"p_fake {p} not a finite probability")
    elif (kind == "fake") != (p >= 0.5) and abs(p - 0.5) > 1e-6:
        problems.append(f"greedy chose '{kind}' but p_fake is {p:.4f}")
    ref_p = None
    if idx < len(pairs):
        logits = pairs[idx]
        if not all(math.isfinite(x) for x in logits):
            problems.append(f"verdict logits {logits} not finite")
        else:
            ref_p = p_fake_from_logits(*logits)
            if p is not None and abs(ref_p - p) > P_FAKE_TOLERANCE:
                problems.append(f"p_fake {p:.4f} but generate's logits give {ref_p:.4f}")
    if verdict != "undecided" and verdict != kind:
        problems.append(f"verdict token '{kind}' but the text reads {verdict}")
    detail = "; ".join(problems) or (f"{verdict}, p_fake {p:.4f}" + (
        f" (generate: {ref_p:.4f})" if ref_p is not None else ""))
    return Check("verdict", name, not problems, detail)
