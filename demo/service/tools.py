"""The two verbs the MCP endpoint offers AI assistants (demo/mcp.py wires them): explain a picture,
and read the evidence in a file's own data. Gradio-free and torch-free.

A tool call is a visitor without a browser: it gets the page's limits, no more. The picture's bytes
are checked by the same intake as an upload (size, pixels, format); explanations go through
`AppState.precheck` and `AppState.explain`, so the rate limit per visitor and per address, the queue
bound (`Admission`) and the shared model lock all apply; evidence reading is counted apart, at the
same rate. Tool calls skip Gradio's queue (so that the handler sees the caller's own address, not
the loopback of Gradio's MCP bridge), so `slots` bounds how many run the model at once.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import re
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from explain.confidence import is_uncertain
from explain.intake import ImageRejected, check_image

from ..i18n import t
from .errors import UserError
from .explaining import read_provenance_json
from .limits import RateLimiter
from .state import AppState
from .visitors import Visitor

_DATA_URI = re.compile(r"^data:[\w.+-]+/[\w.+-]+(;[\w.+-]+=[\w.+-]+)*;base64,", re.IGNORECASE)
_B64_CHARS = re.compile(r"^[A-Za-z0-9+/=_-]*$")


def max_text_chars(max_bytes: int) -> int:
    """The longest base64 text that can hold `max_bytes` (plus room for a data: prefix)."""
    return 4 * ((max_bytes + 2) // 3) + 256


def decode_picture(text: Any, max_bytes: int) -> bytes:
    """The bytes of a picture given as a `data:image/...;base64,` URI or as bare base64.

    The length is checked before decoding, so a huge string costs no decoding work."""
    if not isinstance(text, str) or not text.strip():
        raise UserError(t("mcp_err_no_image"))
    text = text.strip()
    if len(text) > max_text_chars(max_bytes):
        raise UserError(t("mcp_err_too_big", mb=round(max_bytes / 2**20, 1)))
    if text.startswith(("http://", "https://")):
        raise UserError(t("mcp_err_url"))
    match = _DATA_URI.match(text)
    body = text[match.end():] if match else text
    body = "".join(body.split())
    if not body or not _B64_CHARS.match(body):
        raise UserError(t("mcp_err_not_base64"))
    try:
        altchars = b"-_" if ("-" in body or "_" in body) else None
        data = base64.b64decode(body + "=" * (-len(body) % 4), altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        raise UserError(t("mcp_err_not_base64")) from None
    if len(data) > max_bytes:
        raise UserError(t("mcp_err_too_big", mb=round(max_bytes / 2**20, 1)))
    return data


class Tools:
    """Explain and evidence for tool callers, over the app's own state and limits."""

    def __init__(self, app: AppState) -> None:
        self.app = app
        self.max_bytes = app.config.max_upload_bytes
        self.evidence_rate = RateLimiter(app.config.rate_limit, clock=app.explain_rate.clock)
        self.slots = threading.BoundedSemaphore(max(1, app.config.concurrency))
        self._tmp = Path(tempfile.mkdtemp(prefix="spot-tools-"))
        atexit.register(self.close)  # the app builds the tools once and never hands them back

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    def explain(self, data: bytes, visitor: Visitor) -> dict[str, Any]:
        """The model's verdict, its probability of "fake", the explanation and its phrases."""
        if not visitor.address_key:  # no address, no per-address limit: not served
            raise UserError(t("mcp_err_no_address"))
        if not self.slots.acquire(blocking=False):
            raise UserError(t("mcp_err_busy"))
        path = self._tmp / f"{uuid.uuid4().hex}.img"
        try:
            path.write_bytes(data)
            refused = self.app.precheck(str(path), visitor)
            if refused is not None:
                raise UserError(refused)
            last = None
            for view in self.app.explain(str(path), visitor):
                last = view
            if last is None or last.explanation is None:
                raise UserError(t("err_model", error="no answer"))
        finally:
            self.slots.release()
            path.unlink(missing_ok=True)
        ex, c = last.explanation, last.checked
        return {
            "verdict": ex.verdict, "p_fake": ex.p_fake, "uncertain": is_uncertain(ex.p_fake),
            "explanation": ex.text, "phrases": [p.text for p in ex.phrases],
            "model": self.app.model_id, "width": c.width, "height": c.height,
            "crop_box": list(c.crop_box), "notes": list(c.notes),
            "caveat": t("mcp_caveat"),
        }

    def evidence(self, data: bytes, visitor: Visitor) -> dict[str, Any]:
        """What the file's own data says about where it came from (C2PA, EXIF, XMP, generator
        settings): findings strongest first, and what could not be read."""
        if not visitor.address_key:
            raise UserError(t("mcp_err_no_address"))
        self.app._rate(self.evidence_rate, visitor, count=True)  # noqa: SLF001 - the app's own limit check
        try:
            checked = check_image(data, self.app.limits)
        except ImageRejected as exc:
            raise UserError(str(exc)) from None
        found = read_provenance_json(data, self.app.config.c2pa_trust)
        if found is None:
            raise UserError(t("mcp_err_no_reader"))
        return {"format": checked.format, "width": checked.width, "height": checked.height,
                "sha256": checked.sha256, **found}
