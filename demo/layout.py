"""The page: every Gradio component, placed, and nothing wired (demo/ui.py wires the events).

`build_layout` must run inside a `gr.Blocks` context; it returns a `Layout` holding the
components so the wiring and the tests can name them. Element ids (`elem_id`) are the contract
with the CSS (assets/style.css) and the browser test. Static text is Gradio i18n (`lab(key)`,
translated in the browser, see demo/language.py); text the handlers make comes in the visitor's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from .labels import lab
from .language import i18n_props, switch
from .report_ui import ReportPanel, build_report_panel
from .service import ASSETS_DIR, CATEGORIES

EXAMPLES_DIR = ASSETS_DIR / "examples"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def example_files() -> list[str]:
    if not EXAMPLES_DIR.is_dir():
        return []
    return sorted(str(p) for p in EXAMPLES_DIR.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


# The Explorer's columns: the service's row keys, and the catalog key of each one's name.
EXPLORER_COLUMNS = (("prediction", "exc_prediction"), ("when", "exc_when"), ("verdict", "exc_verdict"),
                    ("p_fake", "exc_p_fake"), ("visitor says", "exc_visitor"), ("true label", "exc_truth"),
                    ("category", "exc_category"), ("disputed", "exc_disputed"), ("review", "exc_review"),
                    ("explanation", "exc_explanation"))


@dataclass
class Layout:
    # per-visitor state
    visitor: gr.BrowserState
    # header
    banner: gr.Markdown
    lang_switch: gr.Radio
    lang_refresh: gr.Button
    about_model: gr.Markdown
    # check tab
    image_in: gr.Image
    run_btn: gr.Button
    examples: gr.Examples | None
    crop_view: gr.Image
    status: gr.Markdown
    cancel_btn: gr.Button
    verdict_card: gr.HTML
    evidence: gr.HTML
    explanation: gr.Textbox
    chips: gr.Radio
    prior_legend: gr.Markdown
    method: gr.Radio
    opacity: gr.Slider
    heatmap: gr.Plot
    multiples: gr.Plot
    details: gr.JSON
    maps_json: gr.JSON
    prediction_id: gr.Textbox
    # feedback
    fb_verdict: gr.Radio
    fb_true_label: gr.Radio
    fb_agree: gr.CheckboxGroup
    fb_disagree: gr.CheckboxGroup
    fb_corrected: gr.Textbox
    fb_category: gr.Dropdown
    fb_comment: gr.Textbox
    fb_consent: gr.Checkbox
    fb_submit: gr.Button
    fb_result: gr.Markdown
    fb_id: gr.Number
    # explorer
    ex_tab: gr.Tab
    ex_verdict: gr.Dropdown
    ex_disagree: gr.Checkbox
    ex_category: gr.Dropdown
    ex_review: gr.Dropdown
    ex_refresh: gr.Button
    ex_table: gr.Dataframe
    ex_selected: gr.Textbox
    ex_open: gr.Button
    ex_status: gr.Markdown
    ex_card: gr.HTML
    ex_text: gr.Textbox
    ex_feedback: gr.HTML
    ex_plot: gr.Plot
    ex_feedback_id: gr.Number
    rv_token: gr.Textbox
    rv_login: gr.Button
    rv_hf_login: gr.LoginButton | None
    rv_status: gr.Markdown
    rv_accept: gr.Button
    rv_reject: gr.Button
    rv_export: gr.Button
    rv_file: gr.File
    # every component prop that holds an i18n label, to re-send after the page changes language
    i18n_targets: list
    # report downloads and share links (demo/report_ui.py)
    report: ReportPanel | None = None


def build_layout(*, banner_md: str, oauth: bool, is_toy: bool) -> Layout:
    """The page; `banner_md` is the model line in English until the page's first event redraws it in
    the visitor's language."""
    with gr.Column(elem_id="spot-root") as root:
        ui = _build(banner_md, oauth, is_toy)
    # the status line is the handlers' (in the visitor's language) once the page has loaded
    targets = [(block, props) for block, props in i18n_props(root) if block is not ui["status"]]
    return Layout(**ui, i18n_targets=targets)


def _build(banner_md: str, oauth: bool, is_toy: bool) -> dict:
    visitor = gr.BrowserState(None, storage_key="spot-visitor-v1")

    with gr.Row(equal_height=True, elem_id="spot-header"):
        gr.Markdown(lab("title_md"), elem_id="spot-title")
        lang_switch = switch()
    lang_refresh = gr.Button("refresh", visible="hidden", elem_id="spot-lang-refresh")
    banner = gr.Markdown(banner_md, elem_id="spot-banner",
                         elem_classes=["spot-banner", "spot-toy" if is_toy else "spot-model"])

    with gr.Tabs(elem_id="spot-tabs"):
        with gr.Tab(lab("tab_check"), id="check", elem_id="tab-check"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=4, min_width=300):
                    image_in = gr.Image(type="filepath", sources=["upload", "clipboard"], label=lab("upload_label"),
                                        height=300, elem_id="spot-upload", image_mode=None, format="png",
                                        buttons=[])
                    run_btn = gr.Button(lab("run_button"), variant="primary", elem_id="spot-run")
                    files = example_files()
                    examples = None
                    if files:
                        examples = gr.Examples(examples=[[f] for f in files], inputs=[image_in], label=lab("examples_label"),
                                    cache_examples=False, examples_per_page=8, elem_id="spot-examples",
                                    example_labels=[Path(f).stem.replace("-", " ") for f in files])
                    crop_view = gr.Image(label=lab("crop_label"), alt_text=lab("crop_label"), interactive=False,
                                         format="png", elem_id="spot-crop", buttons=[])
                with gr.Column(scale=7, min_width=360):
                    status = gr.Markdown(lab("status_ready"), label="status", elem_id="spot-status")
                    # stops the running maps or answer (long on a CPU: the faithful map takes minutes)
                    cancel_btn = gr.Button(lab("cancel_button"), size="sm", variant="stop", elem_id="spot-cancel",
                                           scale=0, min_width=90)
                    with gr.Row(equal_height=False):
                        verdict_card = gr.HTML("", label="verdict card", elem_id="spot-verdict-box", min_height=0)
                        evidence = gr.HTML("", label="evidence panel", elem_id="spot-evidence-box", min_height=0)
                    explanation = gr.Textbox(label=lab("explanation_label"), info=lab("explanation_info"), lines=4, max_lines=12,
                                             interactive=False, elem_id="spot-explanation", autoscroll=True)
                    chips = gr.Radio(choices=[], label=lab("chips_label"), info=lab("chips_info"), elem_id="spot-chips",
                                     elem_classes=["spot-chips"], interactive=True)
                    prior_legend = gr.Markdown(lab("prior_legend"), label="prior legend", visible=False,
                                               elem_id="spot-prior-legend")
                    with gr.Row():
                        method = gr.Radio([(lab("map_fast"), "gradient"), (lab("map_faithful"), "occlusion")],
                                          value="gradient", label=lab("map_method_label"), elem_id="spot-method")
                        opacity = gr.Slider(0.0, 1.0, value=0.7, step=0.05, label=lab("opacity_label"),
                                            elem_id="spot-opacity")
                    heatmap = gr.Plot(label=lab("heatmap_label"), elem_id="spot-heatmap")
                    multiples = gr.Plot(label=lab("multiples_label"), elem_id="spot-multiples")
                    report = build_report_panel()
                    with gr.Accordion(lab("details_label"), open=False, elem_id="spot-details-acc"):
                        details = gr.JSON(label=lab("details_label"), elem_id="spot-details")
                        maps_json = gr.JSON(label=lab("maps_json_label"), elem_id="spot-maps-json")
                    prediction_id = gr.Textbox(label="prediction id", visible=False, elem_id="spot-prediction-id")

            with gr.Accordion(lab("feedback_title"), open=True, elem_id="spot-feedback"):
                with gr.Row():
                    fb_verdict = gr.Radio([(lab("fb_right"), "right"), (lab("fb_wrong"), "wrong")],
                                          label=lab("fb_verdict"), elem_id="fb-verdict")
                    fb_true_label = gr.Radio([(lab("fb_label_real"), "real"), (lab("fb_label_fake"), "fake"),
                                              (lab("fb_label_unsure"), "unsure")],
                                             label=lab("fb_true_label"), elem_id="fb-true-label")
                    fb_category = gr.Dropdown([(lab("fb_category_none"), "")] + [(lab(f"cat_{c}"), c) for c in CATEGORIES],
                                              value="",
                                              label=lab("fb_category"), elem_id="fb-category")
                with gr.Row():
                    fb_agree = gr.CheckboxGroup(choices=[], label=lab("fb_agree"), elem_id="fb-agree")
                    fb_disagree = gr.CheckboxGroup(choices=[], label=lab("fb_disagree"), elem_id="fb-disagree")
                fb_corrected = gr.Textbox(label=lab("fb_corrected"), lines=2, max_length=5000, elem_id="fb-corrected")
                fb_comment = gr.Textbox(label=lab("fb_comment"), lines=1, max_length=2000, elem_id="fb-comment")
                fb_consent = gr.Checkbox(False, label=lab("fb_consent"), elem_id="fb-consent")
                fb_submit = gr.Button(lab("fb_submit"), variant="secondary", elem_id="fb-submit")
                fb_result = gr.Markdown("", label="confirmation", elem_id="fb-result")
                fb_id = gr.Number(visible=False, precision=0, label="feedback id")

        with gr.Tab(lab("tab_explorer"), id="explorer", elem_id="tab-explorer") as ex_tab:
            gr.Markdown(lab("explorer_intro"))
            # the filters read as one sentence: "Show [all] verdicts where visitors [...] in [...] with review [...]"
            with gr.Row(equal_height=True, elem_id="ex-filters", elem_classes=["spot-sentence"]):
                words = dict(scale=0, min_width=0, container=False, padding=False, elem_classes=["spot-word"])
                gr.Markdown(lab("exf_show"), **words)
                ex_verdict = gr.Dropdown([(lab("exf_all"), ""), (lab("exf_fake"), "fake"), (lab("exf_real"), "real"),
                                          (lab("exf_undecided"), "undecided")], value="", label=lab("exf_verdict_label"),
                                         show_label=False, container=False, min_width=150, elem_id="ex-verdict")
                gr.Markdown(lab("exf_verdicts"), **words)
                gr.Markdown(lab("exf_where"), **words)
                ex_disagree = gr.Dropdown([(lab("exf_any_dispute"), ""), (lab("exf_disagreed"), "yes"),
                                           (lab("exf_not_disagreed"), "no")], value="", label=lab("exf_dispute_label"),
                                          show_label=False, container=False, min_width=230, elem_id="ex-disagree")
                gr.Markdown(lab("exf_in"), **words)
                ex_category = gr.Dropdown([(lab("exf_any_category"), "")] + [(lab(f"cat_{c}"), c) for c in CATEGORIES],
                                          value="", label=lab("exf_category_label"), show_label=False, container=False,
                                          min_width=150, elem_id="ex-category")
                gr.Markdown(lab("exf_review"), **words)
                ex_review = gr.Dropdown([(lab("exf_any_review"), ""), (lab("exv_review_pending"), "pending"),
                                         (lab("exv_review_accepted"), "accepted"), (lab("exv_review_rejected"), "rejected")],
                                        value="", label=lab("exf_review_label"), show_label=False, container=False,
                                        min_width=150, elem_id="ex-review")
                ex_refresh = gr.Button(lab("explorer_refresh"), elem_id="ex-refresh", scale=0, min_width=100)
            ex_table = gr.Dataframe(headers=[lab(k) for _, k in EXPLORER_COLUMNS], value=None, label=lab("explorer_rows"),
                                    interactive=False, wrap=True, max_height=360, elem_id="ex-table",
                                    column_widths=["5%", "10%", "11%", "8%", "9%", "9%", "8%", "11%", "8%", "21%"])
            with gr.Row():
                ex_selected = gr.Textbox(label=lab("explorer_selected"), elem_id="ex-selected", scale=1)
                ex_open = gr.Button(lab("explorer_open"), elem_id="ex-open", scale=1)
            ex_status = gr.Markdown("", elem_id="ex-status")
            with gr.Row(equal_height=False):
                with gr.Column(scale=2):
                    ex_card = gr.HTML("", elem_id="ex-card")
                    ex_text = gr.Textbox(label=lab("explanation_label"), info=lab("explanation_info"), interactive=False,
                                         lines=4, elem_id="ex-text")
                    ex_feedback = gr.HTML("", label=lab("explorer_feedback"), elem_id="ex-feedback")
                with gr.Column(scale=3):
                    ex_plot = gr.Plot(label=lab("multiples_label"), elem_id="ex-plot")
            ex_feedback_id = gr.Number(visible=False, precision=0)
            with gr.Accordion(lab("reviewers_title"), open=False, elem_id="rv-panel"):
                rv_hf_login = gr.LoginButton(elem_id="rv-hf-login") if oauth else None
                with gr.Row():
                    rv_token = gr.Textbox(label=lab("reviewer_token"), type="password", elem_id="rv-token", scale=3)
                    rv_login = gr.Button(lab("reviewer_login"), elem_id="rv-login", scale=1)
                rv_status = gr.Markdown("", elem_id="rv-status")
                with gr.Row():
                    rv_accept = gr.Button(lab("review_accept"), elem_id="rv-accept")
                    rv_reject = gr.Button(lab("review_reject"), elem_id="rv-reject")
                    rv_export = gr.Button(lab("export_button"), elem_id="rv-export")
                rv_file = gr.File(label=lab("export_file"), interactive=False, elem_id="rv-file", height=90)

        with gr.Tab(lab("tab_about"), id="about", elem_id="tab-about"):
            gr.Markdown(lab("about"), elem_id="spot-about")
            about_model = gr.Markdown(banner_md, elem_id="spot-about-model")

    return {k: v for k, v in locals().items() if k in Layout.__dataclass_fields__}
