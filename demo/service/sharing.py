"""Reports and share links: `Sharing`, beside `AppState` (demo/service/state.py), hands a result on.

It reuses the app's results cache (a visitor reaches only their own results), its store, rate
limits and export folder; like the classroom it sits beside `AppState` rather than inside it.

- `report_files`: a visitor's own result as a PDF and a self-contained HTML file (report.py,
  report_pdf.py), built only from the results cache entry that visitor owns;
- `create_share`: a read-only page of a result showing the verdict and the parts its owner ticks
  (`report.PARTS`), stored (storage/shares.py) behind an unguessable token; the picture is kept only
  when ticked, and then only as a metadata-free copy;
- `revoke_share`: its owner (the same pseudonym) revokes it; anyone else, or an unknown link, gets
  one and the same answer;
- `share_page`: what `/share/<token>` serves: the page, or a 404 sentence.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from storage import NotFound, StorageError, valid_share_token

from ..i18n import normalize, tr
from .errors import UserError
from .report import PARTS, ReportData, ReportMap, from_json, report_html, shared_picture, to_json
from .results import Analysis
from .state import AppState
from .visitors import Visitor

log = logging.getLogger(__name__)

SHARE_PATH = "/share/"
_LINK_RE = re.compile(r"(?:^|/share/)([A-Za-z0-9_\-]{32})(?:[/?#].*)?$")
REPORT_TTL_S = 3600.0  # report files are handed to Gradio, which copies them; ours go after an hour


def share_token_of(link: Any) -> str | None:
    """The token in a share link ("https://host/share/<token>", "/share/<token>" or the bare token)."""
    if not isinstance(link, str):
        return None
    m = _LINK_RE.search(link.strip()[:600])
    return m.group(1) if m and valid_share_token(m.group(1)) else None


def _iso(dt: datetime | None) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if dt else ""


class Sharing:
    """Reports and share links of the results of one `AppState`."""

    def __init__(self, app: AppState) -> None:
        self.app = app

    # ------------------------------------------------------------------ the report's content
    def report_data(self, prediction_id: Any, visitor: Visitor) -> ReportData:
        """Everything a report shows, from the visitor's own cached result (else UserError)."""
        from explain.intake import model_view  # noqa: PLC0415 - PIL only, no torch

        a: Analysis = self.app.result_of(prediction_id, visitor)
        made = None
        try:
            stored = self.app.store.get_prediction(a.prediction_id, a.owner)
            made = stored.created_at if stored is not None else None
        except StorageError as exc:  # the report still says everything but the time
            log.warning("prediction %s unreadable for its report: %s", a.prediction_id, exc)
        maps = a.maps.get("occlusion") or a.maps.get("gradient") or []  # the faithful maps when made
        ex = a.explanation
        return ReportData(
            verdict=ex.verdict, p_fake=ex.p_fake, text=ex.text, phrases=tuple(p.text for p in ex.phrases),
            model_id=ex.model_id or self.app.model_id, model_revision=self.app.worker.revision or "",
            model_license=self.app.model_license, made_at=_iso(made), reported_at=_iso(datetime.now(timezone.utc)),
            sha256=a.checked.sha256, width=a.checked.width, height=a.checked.height,
            crop_box=tuple(float(v) for v in a.checked.crop_box_f),
            maps=tuple(ReportMap(m.phrase_index, m.method, m.grid, tuple(float(v) for v in m.crop_box),
                                 bool(m.extra.get("language_prior"))) for m in maps),
            provenance=a.provenance, picture=a.checked.image, view=model_view(a.checked))

    def report_files(self, prediction_id: Any, visitor: Visitor, lang: Any = "en") -> tuple[Path | None, Path, str]:
        """(PDF file or None, HTML file, a note when the PDF could not be made) of the visitor's result."""
        from .report_pdf import FontMissing, report_pdf  # noqa: PLC0415 - fpdf2 only when asked

        lang = normalize(lang)
        data = self.report_data(prediction_id, visitor)
        folder = self._report_folder()
        stem = f"spot-report-{int(self.app.parse_prediction_id(prediction_id))}"
        html = folder / f"{stem}.html"
        html.write_text(report_html(data, lang), encoding="utf-8")
        pdf, note = None, ""
        try:
            pdf = folder / f"{stem}.pdf"
            pdf.write_bytes(report_pdf(data, lang))
        except FontMissing as exc:
            pdf, note = None, tr("rp_pdf_missing", lang, why=str(exc))
        return pdf, html, note

    def _report_folder(self) -> Path:
        """A fresh folder with an unguessable name (Gradio serves files by path), old ones removed."""
        root = self.app._export_dir / "reports"
        root.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - REPORT_TTL_S
        for old in root.iterdir():
            try:
                if old.stat().st_mtime < cutoff:
                    shutil.rmtree(old, ignore_errors=True)
            except OSError:
                pass
        folder = root / secrets.token_urlsafe(16)
        folder.mkdir()
        return folder

    # ------------------------------------------------------------------ share links
    def create_share(self, prediction_id: Any, visitor: Visitor, parts: Iterable[Any] | None, lang: Any = "en") -> str:
        """A share link's token for the visitor's own result, showing the verdict and `parts`."""
        lang = normalize(lang)
        chosen = []
        for p in parts if isinstance(parts, (list, tuple)) else ([] if parts is None else [parts]):
            if p not in PARTS:
                raise UserError(tr("sh_err_bad_part", lang, part=str(p)[:40]))
            chosen.append(p)
        a: Analysis = self.app.result_of(prediction_id, visitor)
        self.app._rate(self.app.feedback_rate, visitor, count=True)  # each link is a stored row (and maybe a picture)
        data = self.report_data(prediction_id, visitor)
        picture = shared_picture(data.picture) if "picture" in chosen else None
        try:
            return self.app.store.create_share(a.owner, a.prediction_id, ["verdict", *chosen], to_json(data, chosen),
                                           picture)
        except NotFound:
            raise UserError(tr("err_not_found", lang)) from None
        except StorageError as exc:
            raise UserError(tr("err_storage", lang, error=str(exc))) from None

    def revoke_share(self, link: Any, visitor: Visitor, lang: Any = "en") -> None:
        """Revoke one of the visitor's links (UserError when it is not a live link of theirs)."""
        lang = normalize(lang)
        token = share_token_of(link)
        if not isinstance(link, str) or not link.strip():
            raise UserError(tr("sh_err_no_link", lang))
        self.app._rate(self.app.feedback_rate, visitor, count=False)
        try:
            done = token is not None and self.app.store.revoke_share(token, (visitor.client_hash, *visitor.aliases))
        except StorageError as exc:
            raise UserError(tr("err_storage", lang, error=str(exc))) from None
        if not done:
            self.app._rate(self.app.feedback_rate, visitor, count=True)  # guessing links costs the guesser
            raise UserError(tr("sh_err_not_yours", lang))

    def share_page(self, token: Any, lang: Any = "en") -> tuple[int, str]:
        """(HTTP status, HTML) for `/share/<token>`: the shared parts only, or a plain 404 page."""
        lang = normalize(lang)
        share = None
        if valid_share_token(token):
            try:
                share = self.app.store.get_share(token)
            except StorageError as exc:
                log.warning("share unreadable: %s", exc)
                return 503, _plain_page(tr("sh_gone_title", lang), tr("err_storage", lang, error="—"), lang)
        if share is None:
            return 404, _plain_page(tr("sh_gone_title", lang), tr("sh_gone", lang), lang)
        data = from_json(share.content, share.picture)
        note = tr("sh_page_note", lang, date=share.created_at.astimezone(timezone.utc).strftime("%Y-%m-%d"))
        return 200, report_html(data, lang, title=tr("sh_page_title", lang), note=note)


def _plain_page(title: str, sentence: str, lang: str) -> str:
    from html import escape  # noqa: PLC0415

    return (f"<!doctype html><html lang='{escape(lang)}'><head><meta charset='utf-8'>"
            "<meta name='robots' content='noindex, nofollow'>"
            f"<title>{escape(title)}</title></head><body style='font-family: system-ui, sans-serif; "
            f"max-width: 40em; margin: 3em auto'><h1>{escape(title)}</h1><p id='share-gone'>{escape(sentence)}</p>"
            "</body></html>")
