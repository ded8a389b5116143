"""Provenance evidence read from the original bytes of an uploaded image; no model needed.

    prov = read_provenance(original_bytes)       # never raises, bounded in time and memory
    prov.to_json()                               # for the CLI, storage and the UI panel

Readers, one module per kind of evidence, all working from one bounded metadata walk
(`container.py`, `exif.py`, `xmp.py`), never decoding pixels:

- `content_credentials.py`: C2PA manifests (signer, signature, hard binding, trust, actions,
  digital source type, claimed generator), via c2pa-python; `c2pa_validation.py` turns the
  SDK's validation results into a status and named problems; `trust.py` reads trust settings;
- `disclosure.py`: IPTC digital source type and other AI-disclosure labels (parsed by `xmp.py`);
- `generators.py`: Stable Diffusion WebUI / ComfyUI / NovelAI / InvokeAI / ... settings, and
  generator names in software fields;
- `camera.py`: EXIF make, model, lens, capture time, GPS presence (never coordinates);
- `reencoding.py`: JPEG quality, resizing, screenshots, editors, stripped metadata.

Findings are evidence with a strength and a direction, never a verdict: absence of metadata
proves nothing, metadata can be forged, an unverified signature is reported as unverified.
Read the bytes as uploaded: anything that re-encodes the image first destroys this evidence.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .camera import camera_findings
from .content_credentials import c2pa_findings
from .disclosure import xmp_findings
from .findings import (
    GLOSSARY,
    KINDS,
    STRENGTH_MEANINGS,
    Finding,
    PointsTo,
    Provenance,
    Strength,
    sort_findings,
)
from .generators import generator_findings
from .limits import clean_text
from .reencoding import editing_findings, no_metadata_findings, reencoding_findings
from .sources import Sources, gather
from .trust import C2paTrust, as_trust, cached_trust, load_trust

__all__ = [
    "GLOSSARY",
    "KINDS",
    "STRENGTH_MEANINGS",
    "DEFAULT_TIME_BUDGET_S",
    "C2paTrust",
    "Finding",
    "PointsTo",
    "Provenance",
    "Strength",
    "cached_trust",
    "load_trust",
    "read_provenance",
]

DEFAULT_TIME_BUDGET_S = 2.0


def read_provenance(
    data: bytes,
    *,
    time_budget_s: float = DEFAULT_TIME_BUDGET_S,
    c2pa_trust_anchors_pem: str | None = None,
    c2pa_trust: C2paTrust | None = None,
) -> Provenance:
    """All provenance findings for the file `data`, strongest first.

    Never raises: whatever cannot be read is named in `Provenance.errors`. Readers run in order
    of value (credentials first); once `time_budget_s` is spent the rest are skipped, and the
    errors say so. `c2pa_trust_anchors_pem`: PEM root certificates (e.g. the C2PA trust list)
    added to the anchors c2pa-rs ships with; a signer that chains to none of them is reported as
    unverified, however valid its signature. `c2pa_trust`: the same and more (allowed list,
    trust config), as `load_trust` reads it from `--c2pa-trust` / `SPOT_C2PA_TRUST`.
    """
    trust = as_trust(c2pa_trust, c2pa_trust_anchors_pem)
    start = time.perf_counter()
    deadline = start + max(time_budget_s, 0.0)
    errors: list[str] = []
    findings: list[Finding] = []
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return Provenance((), ("not a file: expected bytes",), 0.0, "unknown")
    data = bytes(data)
    try:
        src = gather(data)
    except Exception as exc:  # the walk is defensive already; belt and braces
        return Provenance((), (f"metadata could not be read ({type(exc).__name__})",),
                          time.perf_counter() - start, "unknown")  # fmt: skip
    errors.extend(src.notes)
    if src.container.file_format == "unknown":
        errors.append("not a recognised image format; only a generic metadata search was done")

    def c2pa_step(s: Sources) -> list[Finding]:
        # The native reader gets most of what is left; the pure-Python readers after it need
        # milliseconds, and should still run when it stalls.
        found, errs = c2pa_findings(
            s,
            timeout_s=0.8 * (deadline - time.perf_counter()),
            trust=trust,
        )
        errors.extend(errs)
        return found

    steps: list[tuple[str, Callable[[Sources], list[Finding]]]] = [
        ("Content Credentials", c2pa_step),
        ("XMP labels", xmp_findings),
        ("generator settings", generator_findings),
        ("camera data", camera_findings),
        ("re-encoding traces", reencoding_findings),
        ("editing software", editing_findings),
        ("metadata presence", no_metadata_findings),
    ]
    for i, (name, step) in enumerate(steps):
        if time.perf_counter() > deadline:
            skipped = ", ".join(n for n, _ in steps[i:])
            errors.append(f"time budget of {time_budget_s:.1f} s used up; not checked: {skipped}")
            break
        try:
            findings.extend(step(src))
        except Exception as exc:  # one broken reader must not hide the others
            errors.append(f"{name} could not be read ({type(exc).__name__})")
    return Provenance(
        findings=sort_findings(findings),
        # File-controlled text (chunk names, parser messages) reaches these: clean, cap, dedupe.
        errors=tuple(dict.fromkeys(clean_text(e, 300) for e in errors[:50])),
        elapsed_s=time.perf_counter() - start,
        file_format=src.container.file_format,
    )
