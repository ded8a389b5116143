"""The report and share panel of the main page: its components, its handlers and their wiring.

After a result (once its maps are made, and again when the map switch makes the faithful ones) the
two download buttons get a PDF and a self-contained HTML report of that result, built by
`demo.service.Sharing` from the visitor's own cached result. The share accordion makes a read-only
link showing the parts the visitor ticks, and revokes one of their links. Public API endpoints:
`/report`, `/share`, `/revoke_share`.

Handlers take an optional `lang`; without one, the language the page shows (its `spot-lang` cookie,
else Accept-Language: demo/language.py), so a Chinese visitor gets a Chinese report. Static labels are
Gradio i18n (`lab`), translated in the browser like the rest of the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio import route_utils

from .events import user_errors
from .i18n import normalize, request_language, tr
from .labels import lab
from .service import AppState, Sharing, UserError, request_address
from .service.report import PARTS
from .service.sharing import SHARE_PATH

PRIVATE = dict(api_visibility="private")
DEFAULT_SHARED = ["explanation", "maps"]  # the picture (and the file's evidence) only when ticked


@dataclass
class ReportPanel:
    pdf: gr.DownloadButton
    html: gr.DownloadButton
    note: gr.Markdown
    parts: gr.CheckboxGroup
    share: gr.Button
    link: gr.Textbox
    revoke: gr.Button
    status: gr.Markdown
    api_trigger: gr.Button  # never shown: it carries the public /report endpoint


def build_report_panel() -> ReportPanel:
    """The panel's components (inside a `gr.Blocks`), hidden buttons until there is a result."""
    with gr.Group(elem_id="spot-report"):
        with gr.Row():
            pdf = gr.DownloadButton(lab("rp_download_pdf"), visible=False, elem_id="spot-report-pdf", size="md")
            html = gr.DownloadButton(lab("rp_download_html"), visible=False, elem_id="spot-report-html", size="md")
        note = gr.Markdown("", elem_id="spot-report-note")
    with gr.Accordion(lab("sh_title"), open=False, elem_id="spot-share"):
        gr.Markdown(lab("sh_intro"))
        parts = gr.CheckboxGroup([(lab(f"sh_part_{p}"), p) for p in PARTS], value=DEFAULT_SHARED,
                                 label=lab("sh_parts"), elem_id="spot-share-parts")
        share = gr.Button(lab("sh_create"), elem_id="spot-share-create", variant="secondary")
        link = gr.Textbox(label=lab("sh_link"), elem_id="spot-share-link", buttons=["copy"], max_length=600)
        revoke = gr.Button(lab("sh_revoke"), elem_id="spot-share-revoke", variant="stop", size="sm")
        status = gr.Markdown("", elem_id="spot-share-status")
    api_trigger = gr.Button(visible=False, elem_id="spot-report-api")
    return ReportPanel(pdf, html, note, parts, share, link, revoke, status, api_trigger)


def _lang(lang: Any, request: gr.Request | None) -> str:
    if isinstance(lang, str) and lang.strip():
        return normalize(lang)
    return request_language(request)  # the page's language cookie, else Accept-Language (demo/language.py)


def _root_url(request: gr.Request | None) -> str:
    """The app's public address as the browser reached it (behind a proxy too), "" when unknown."""
    inner = getattr(request, "request", None)
    if inner is None:
        return ""
    try:
        return route_utils.get_root_url(inner, route_utils.get_api_call_path(request=inner), None)
    except Exception:  # noqa: BLE001 - a relative link still works in the visitor's own browser
        return ""


def _page(request: gr.Request | None) -> str | None:
    page = getattr(request, "session_hash", None)
    return page if isinstance(page, str) and page else None


class ReportHandlers:
    def __init__(self, app: AppState, sharing: Sharing | None = None) -> None:
        self.app = app
        self.sharing = sharing or Sharing(app)

    def _visitor(self, token: Any, request: gr.Request | None):
        return self.app.visitor(token, getattr(request, "session_hash", None), request_address(request))

    @user_errors
    def report(self, prediction_id: Any = None, visitor: Any = None, lang: Any = None,
               request: gr.Request = None) -> tuple:
        """A report of one of your results: (PDF file, self-contained HTML file, a note).

        The PDF is missing (None) only when the server lacks a font for the language; the note says so.
        """
        language = _lang(lang, request)
        if prediction_id in (None, ""):
            raise UserError(tr("rp_err_no_result", language))
        pdf, html, note = self.sharing.report_files(prediction_id, self._visitor(visitor, request), language)
        return (gr.update(value=str(pdf) if pdf else None, visible=pdf is not None),
                gr.update(value=str(html), visible=True), note)

    def refresh(self, prediction_id: Any = None, visitor: Any = None, lang: Any = None,
                request: gr.Request = None) -> tuple:
        """After the maps: the page's report buttons, for the result the page still shows (else nothing)."""
        if not prediction_id or not self.app.is_current(_page(request), prediction_id):
            return gr.skip(), gr.skip(), gr.skip()
        try:
            return self.report(prediction_id, visitor, lang, request)
        except gr.Error:
            return gr.update(visible=False), gr.update(visible=False), gr.skip()

    @staticmethod
    def hide() -> tuple:
        """A new picture: the old result's reports and link go."""
        return gr.update(value=None, visible=False), gr.update(value=None, visible=False), "", "", ""

    @user_errors
    def share(self, prediction_id: Any = None, parts: list | None = None, visitor: Any = None, lang: Any = None,
              request: gr.Request = None) -> tuple[str, str]:
        """A read-only link to one of your results, showing its verdict and `parts` (any of "picture",
        "explanation", "maps", "evidence"). Returns (the link, a confirmation)."""
        language = _lang(lang, request)
        if prediction_id in (None, ""):
            raise UserError(tr("rp_err_no_result", language))
        token = self.sharing.create_share(prediction_id, self._visitor(visitor, request), parts or [], language)
        return f"{_root_url(request)}{SHARE_PATH}{token}", tr("sh_created", language)

    @user_errors
    def revoke_share(self, link: Any = None, visitor: Any = None, lang: Any = None,
                     request: gr.Request = None) -> str:
        """Revoke one of your share links (the link or its token). Returns a confirmation."""
        language = _lang(lang, request)
        self.sharing.revoke_share(link, self._visitor(visitor, request), language)
        return tr("sh_revoked", language)


def wire_report_panel(panel: ReportPanel, h: ReportHandlers, *, prediction_id: Any, visitor: Any,
                      new_picture: list, maps_done: list) -> None:
    """`new_picture`: triggers of a new explanation; `maps_done`: events after which maps exist."""
    gr.on(new_picture, h.hide, inputs=None, outputs=[panel.pdf, panel.html, panel.note, panel.link, panel.status],
          queue=False, **PRIVATE)
    outputs = [panel.pdf, panel.html, panel.note]
    for event in maps_done:  # .then: when the maps failed, a report without them still beats none
        event.then(h.refresh, inputs=[prediction_id, visitor], outputs=outputs, show_progress="hidden", **PRIVATE)
    panel.api_trigger.click(h.report, inputs=[prediction_id, visitor], outputs=outputs, api_name="report")
    panel.share.click(h.share, inputs=[prediction_id, panel.parts, visitor], outputs=[panel.link, panel.status],
                      api_name="share")
    panel.revoke.click(h.revoke_share, inputs=[panel.link, visitor], outputs=[panel.status], api_name="revoke_share")
