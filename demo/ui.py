"""Wiring: build the page (demo/layout.py) and connect its events to the handlers.

`build_demo(app)` returns a queued `gr.Blocks`; `launch_options(config)` the keyword arguments for
`launch()` that app.py and the tests share (CSS, theme, upload limit, address).

Named API endpoints (for `gradio_client`): `/explain` (streaming), `/attribute`, `/feedback`, and the
report panel's `/report`, `/share`, `/revoke_share` (demo/report_ui.py); with `--mcp`, also
`/explain_image` and `/read_evidence`, the only two MCP tools (demo/mcp.py).
Everything else is private to the page.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder
from starlette.middleware import Middleware

from . import cards
from .events import MODEL_SLOT
from .handlers import Handlers
from .i18n import t
from .language import LOAD_JS, SWITCH_JS
from .layout import Layout, build_layout
from .mcp import McpGuard, add_mcp_tools, only_our_tools
from .report_ui import ReportHandlers, wire_report_panel
from .service import ASSETS_DIR, AppConfig, AppState
from .service.limits import ByteBudget
from .uploads import UploadGuard, UploadOwners

MAX_FILES_PER_UPLOAD = 8  # a teacher adding pictures to a lesson set sends several at once
STYLE = ASSETS_DIR / "style.css"
KEYBOARD = ASSETS_DIR / "keyboard.js"  # arrow keys and Enter in radio groups (Gradio leaves them out)


def theme() -> gr.themes.Base:
    # System fonts only: the app must look right offline, and fetch nothing from font CDNs.
    return gr.themes.Soft(
        primary_hue="indigo", neutral_hue="slate",
        font=["ui-sans-serif", "system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    ).set(**AA_CONTRAST)


# Soft's text colours fall short of WCAG AA (4.5:1) in light mode: indigo-500 labels on indigo-100
# (3.6:1), white on indigo-500 buttons (4.5- : 1), slate-400 hints and footer (2.5:1), and in dark mode
# indigo-500 links (4.3:1). One step further from the background each; the axe audit in
# tests/demo/test_browser_a11y.py holds every page to it.
AA_CONTRAST = dict(
    body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300",
    color_accent="*primary_600",
    block_label_text_color="*primary_700", block_title_text_color="*primary_700",
    button_primary_background_fill="*primary_600", button_primary_background_fill_hover="*primary_700",
    button_primary_background_fill_hover_dark="*primary_700",
    checkbox_label_background_fill_selected="*primary_600",
    input_placeholder_color="*neutral_500",
    link_text_color_dark="*secondary_400", link_text_color_hover_dark="*secondary_300",
    link_text_color_visited_dark="*secondary_400", link_text_color_active_dark="*secondary_300",
)


def build_demo(app: AppState, owners: UploadOwners | None = None) -> gr.Blocks:
    config = app.config
    banner = cards.model_banner(app.model_id, app.worker.revision, app.model_license,
                                app.model_notice)
    # uploads older than an hour leave the cache (checked every 10 minutes): a stored picture is a copy
    with gr.Blocks(title=t("title"), analytics_enabled=False, delete_cache=(600, 3600)) as demo:
        ui = build_layout(banner_md=banner, oauth=config.on_spaces, is_toy=app.is_toy)
        wire(demo, ui, Handlers(app, get_upload_folder(), owners), config)
        if config.mcp:  # the two MCP tools (demo/mcp.py); nothing else becomes a tool
            add_mcp_tools(app, get_upload_folder(), owners)
    # explanations are admitted by the service (demo/service/limits.py: Admission); this bound is a backstop
    # for every event of the page (maps, feedback, the explorer), which also pass through the queue
    demo.queue(default_concurrency_limit=8, max_size=4 * config.queue_size)
    return demo


def wire(blocks: gr.Blocks, ui: Layout, h: Handlers, config: AppConfig) -> None:
    model = dict(concurrency_id=MODEL_SLOT, concurrency_limit=config.concurrency)

    # a random, private token per browser (localStorage), from which the visitor pseudonym derives
    blocks.load(h.on_load, inputs=[ui.visitor], outputs=[ui.visitor], api_visibility="private")
    wire_language(blocks, ui, h)

    explain_outputs = [ui.crop_view, ui.verdict_card, ui.evidence, ui.explanation, ui.chips, ui.prior_legend,
                       ui.status, ui.details, ui.prediction_id, ui.heatmap, ui.multiples, ui.maps_json]
    feedback_form = [ui.fb_verdict, ui.fb_true_label, ui.fb_agree, ui.fb_disagree, ui.fb_corrected,
                     ui.fb_category, ui.fb_comment, ui.fb_consent, ui.fb_result, ui.fb_id]
    map_outputs = [ui.heatmap, ui.multiples, ui.chips, ui.prior_legend, ui.maps_json, ui.status]

    maps_done = []  # events after which a result's maps exist: its reports are made then
    long_work = []  # what the Cancel button stops

    def then_maps(explained) -> None:
        """After an explanation: a fresh feedback form, then the fast maps."""
        long_work.append(explained)
        maps_done.append(explained.success(
            h.reset_feedback, inputs=[ui.prediction_id, ui.visitor], outputs=feedback_form,
            api_visibility="private",
        ).success(
            h.auto_maps, inputs=[ui.prediction_id, ui.opacity, ui.visitor], outputs=[*map_outputs, ui.method],
            api_visibility="private", show_progress_on=[ui.heatmap], **model,
        ))

    explain = dict(fn=h.explain, inputs=[ui.image_in, ui.visitor], outputs=explain_outputs,
                   validator=h.validate_explain, preprocess=False, show_progress="minimal", **model)
    # upload, paste and the button; the public /explain endpoint
    # "multiple": a newer picture is checked at once and takes over its page (demo/service/pages.py);
    # the older stream stops at its next token and draws nothing more
    then_maps(gr.on(triggers=[ui.run_btn.click, ui.image_in.upload], api_name="explain",
                    trigger_mode="multiple", **explain))
    ui.image_in.clear(h.cleared, inputs=None, outputs=None, api_visibility="private", queue=False)
    # a picked example fills the picture, then runs like an upload
    if ui.examples is not None:
        then_maps(ui.examples.load_input_event.then(api_visibility="private", trigger_mode="multiple", **explain))

    # the public /attribute endpoint is the map switch (fast gradient / faithful occlusion)
    attribute = ui.method.input(
        h.attribute, inputs=[ui.prediction_id, ui.method, ui.chips, ui.opacity, ui.visitor],
        outputs=map_outputs, api_name="attribute", preprocess=False, show_progress_on=[ui.heatmap], **model,
    )
    maps_done.append(attribute)
    long_work.extend(maps_done)
    # the handler tells the service (which stops the work between batches, and says so in the status
    # line); `cancels` ends the page's pending events, which also closes a running generator
    ui.cancel_btn.click(h.cancel, inputs=None, outputs=[ui.status], api_visibility="private", queue=False,
                        cancels=long_work)
    if ui.report is not None:
        wire_report_panel(ui.report, ReportHandlers(h.app), prediction_id=ui.prediction_id, visitor=ui.visitor,
                          new_picture=[ui.run_btn.click, ui.image_in.upload, ui.image_in.clear], maps_done=maps_done)
    ui.chips.input(h.redraw, inputs=[ui.prediction_id, ui.method, ui.chips, ui.opacity, ui.visitor],
                   outputs=[ui.heatmap, ui.multiples], api_visibility="private", show_progress="hidden")
    ui.opacity.release(h.redraw, inputs=[ui.prediction_id, ui.method, ui.chips, ui.opacity, ui.visitor],
                       outputs=[ui.heatmap, ui.multiples], api_visibility="private", show_progress="hidden")

    # the validator refuses an incomplete or self-contradicting form with a sentence beside the answer
    # concerned, before anything is stored (API callers get it as an error, as before)
    ui.fb_submit.click(
        h.feedback, validator=h.validate_feedback,
        inputs=[ui.prediction_id, ui.fb_verdict, ui.fb_true_label, ui.fb_agree, ui.fb_disagree, ui.fb_corrected,
                ui.fb_category, ui.fb_comment, ui.fb_consent, ui.visitor],
        outputs=[ui.fb_result, ui.fb_id], api_name="feedback", preprocess=False,
    )

    # explorer
    filters = [ui.ex_verdict, ui.ex_disagree, ui.ex_category, ui.ex_review, ui.rv_token, ui.visitor]
    gr.on([ui.ex_tab.select, ui.ex_refresh.click, ui.ex_verdict.input, ui.ex_disagree.input, ui.ex_category.input,
           ui.ex_review.input], h.explorer, inputs=filters, outputs=[ui.ex_table, ui.ex_status],
          api_visibility="private")
    ui.ex_table.select(h.explorer_select, inputs=None, outputs=[ui.ex_selected], api_visibility="private")
    gr.on([ui.ex_open.click, ui.ex_selected.submit], h.explorer_open,
          inputs=[ui.ex_selected, ui.opacity, ui.rv_token, ui.visitor],
          outputs=[ui.ex_card, ui.ex_text, ui.ex_feedback, ui.ex_plot, ui.ex_feedback_id, ui.ex_status],
          api_visibility="private")
    gr.on([ui.rv_login.click, ui.rv_token.submit], h.login, inputs=[ui.rv_token, ui.visitor],
          outputs=[ui.rv_status], api_visibility="private",
          ).success(h.explorer, inputs=filters, outputs=[ui.ex_table, ui.ex_status], api_visibility="private")
    if ui.rv_hf_login is not None:
        blocks.load(h.login_oauth, inputs=None, outputs=[ui.rv_status], api_visibility="private")
    # reviewer rights come from the token field (or the sign-in cookie) at every action, never from the session
    review_inputs = [ui.ex_feedback_id, ui.rv_token, ui.visitor]
    ui.rv_accept.click(h.accept, inputs=review_inputs,
                       outputs=[ui.rv_status], api_visibility="private")
    ui.rv_reject.click(h.reject, inputs=review_inputs,
                       outputs=[ui.rv_status], api_visibility="private")
    ui.rv_export.click(h.export, inputs=[ui.rv_token, ui.visitor], outputs=[ui.rv_file, ui.rv_status], api_visibility="private")


def wire_language(blocks: gr.Blocks, ui: Layout, h: Handlers) -> None:
    """The page's language (demo/language.py): at load, the browser's or the remembered choice, and
    the texts the server makes in it; the switch; and, whenever the page's language changes, every
    label sent again and those texts redrawn, the Explorer's table included."""
    texts = [ui.lang_switch, ui.banner, ui.about_model, ui.status, ui.verdict_card, ui.evidence, ui.chips]
    current = [ui.prediction_id, ui.chips, ui.visitor]
    blocks.load(h.page_texts, inputs=current, outputs=texts, js=LOAD_JS, api_visibility="private")
    ui.lang_switch.input(None, inputs=[ui.lang_switch], outputs=None, js=SWITCH_JS, api_visibility="private")
    # labels of the components the texts redraw travel in the same update (an output appears once)
    merged = {id(block): props for block, props in ui.i18n_targets if block in texts}
    relabel = [(block, props) for block, props in ui.i18n_targets if id(block) not in merged]

    def page_texts(prediction_id: Any = None, chip: Any = None, visitor: Any = None,
                   request: gr.Request = None) -> tuple:
        made = h.page_texts(prediction_id, chip, visitor, request)
        made = tuple(_with_props(v, merged.get(id(block))) for block, v in zip(texts, made, strict=True))
        return (*made, *(gr.update(**props) for _, props in relabel))

    filters = [ui.ex_verdict, ui.ex_disagree, ui.ex_category, ui.ex_review, ui.rv_token, ui.visitor]
    ui.lang_refresh.click(page_texts, inputs=current, outputs=[*texts, *(block for block, _ in relabel)],
                          api_visibility="private", show_progress="hidden",
                          ).then(h.explorer, inputs=filters, outputs=[ui.ex_table, ui.ex_status],
                                 api_visibility="private", show_progress="hidden")


def _with_props(value: Any, props: dict | None) -> Any:
    """An output value with more props to update (a skip or an update dict gains them; a plain value
    becomes an update of its value and them)."""
    if not props:
        return value
    if isinstance(value, dict) and value.get("__type__") == "update":
        return {**value, **props}
    return gr.update(value=value, **props)


def launch_options(config: AppConfig, owners: UploadOwners | None = None,
                   routes: list | None = None) -> dict[str, Any]:
    """Keyword arguments for `demo.launch()`; `owners` is the record of who uploaded what that the
    page's handlers check (the same object as `build_demo`'s); `routes` are served beside Gradio
    (demo/share_page.py's `/share/<token>`), matched before Gradio's own."""
    middleware = [Middleware(
        UploadGuard, max_request_bytes=MAX_FILES_PER_UPLOAD * config.max_upload_bytes + 2**20,
        budget=ByteBudget(int(config.upload_budget_mb * 2**20)), owners=owners or UploadOwners())]
    app_kwargs: dict[str, Any] = {"routes": list(routes or []), "middleware": middleware}
    if config.mcp:
        middleware.append(Middleware(McpGuard, max_upload_bytes=config.max_upload_bytes))
        app_kwargs["lifespan"] = only_our_tools
    return dict(
        server_name=config.host, server_port=config.port, share=config.share, mcp_server=config.mcp,
        max_file_size=config.max_upload_bytes, css_paths=[STYLE] if STYLE.is_file() else None,
        head=f"<script>{KEYBOARD.read_text(encoding='utf-8')}</script>" if KEYBOARD.is_file() else None,
        theme=theme(), show_error=False, footer_links=["api", "settings"], ssr_mode=False,
        enable_monitoring=False, run_history=False,
        app_kwargs=app_kwargs,
    )
