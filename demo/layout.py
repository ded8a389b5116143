"""The page: every Gradio component, placed, and nothing wired (demo/ui.py wires the events).

`build_layout` must run inside a `gr.Blocks` context; it returns a `Layout` holding the
components so the wiring and the tests can name them. Element ids (`elem_id`) are the contract
with the CSS (assets/style.css) and the browser test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from .i18n import t
from .service import ASSETS_DIR, CATEGORIES

EXAMPLES_DIR = ASSETS_DIR / "examples"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def example_files() -> list[str]:
    if not EXAMPLES_DIR.is_dir():
        return []
    return sorted(str(p) for p in EXAMPLES_DIR.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


@dataclass
class Layout:
    # per-visitor state
    visitor: gr.BrowserState
    # header
    banner: gr.Markdown
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
    ex_feedback: gr.JSON
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


def build_layout(*, banner_md: str, about_md: str, oauth: bool, is_toy: bool) -> Layout:
    visitor = gr.BrowserState(None, storage_key="spot-visitor-v1")

    gr.Markdown(f"# {t('title')}\n{t('subtitle')}", elem_id="spot-title")
    banner = gr.Markdown(banner_md, elem_id="spot-banner",
                         elem_classes=["spot-banner", "spot-toy" if is_toy else "spot-model"])

    with gr.Tabs(elem_id="spot-tabs"):
        with gr.Tab(t("tab_check"), id="check", elem_id="tab-check"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=4, min_width=300):
                    image_in = gr.Image(type="filepath", sources=["upload", "clipboard"], label=t("upload_label"),
                                        height=300, elem_id="spot-upload", image_mode=None, format="png",
                                        buttons=[])
                    run_btn = gr.Button(t("run_button"), variant="primary", elem_id="spot-run")
                    files = example_files()
                    examples = None
                    if files:
                        examples = gr.Examples(examples=[[f] for f in files], inputs=[image_in], label=t("examples_label"),
                                    cache_examples=False, examples_per_page=8, elem_id="spot-examples",
                                    example_labels=[Path(f).stem.replace("-", " ") for f in files])
                    crop_view = gr.Image(label=t("crop_label"), interactive=False, format="png",
                                         elem_id="spot-crop", buttons=[])
                with gr.Column(scale=7, min_width=360):
                    status = gr.Markdown(t("status_ready"), label="status", elem_id="spot-status")
                    # stops the running maps or answer (long on a CPU: the faithful map takes minutes)
                    cancel_btn = gr.Button(t("cancel_button"), size="sm", variant="stop", elem_id="spot-cancel",
                                           scale=0, min_width=90)
                    with gr.Row(equal_height=False):
                        verdict_card = gr.HTML("", label="verdict card", elem_id="spot-verdict-box", min_height=0)
                        evidence = gr.HTML("", label="evidence panel", elem_id="spot-evidence-box", min_height=0)
                    explanation = gr.Textbox(label=t("explanation_label"), lines=4, max_lines=12,
                                             interactive=False, elem_id="spot-explanation", autoscroll=True)
                    chips = gr.Radio(choices=[], label=t("chips_label"), elem_id="spot-chips",
                                     elem_classes=["spot-chips"], interactive=True)
                    prior_legend = gr.Markdown(t("prior_legend"), label="prior legend", visible=False,
                                               elem_id="spot-prior-legend")
                    with gr.Row():
                        method = gr.Radio([(t("map_fast"), "gradient"), (t("map_faithful"), "occlusion")],
                                          value="gradient", label=t("map_method_label"), elem_id="spot-method")
                        opacity = gr.Slider(0.0, 1.0, value=0.7, step=0.05, label=t("opacity_label"),
                                            elem_id="spot-opacity")
                    heatmap = gr.Plot(label=t("heatmap_label"), elem_id="spot-heatmap")
                    multiples = gr.Plot(label=t("multiples_label"), elem_id="spot-multiples")
                    with gr.Accordion(t("details_label"), open=False, elem_id="spot-details-acc"):
                        details = gr.JSON(label=t("details_label"), elem_id="spot-details")
                        maps_json = gr.JSON(label=t("maps_json_label"), elem_id="spot-maps-json")
                    prediction_id = gr.Textbox(label="prediction id", visible=False, elem_id="spot-prediction-id")

            with gr.Accordion(t("feedback_title"), open=True, elem_id="spot-feedback"):
                with gr.Row():
                    fb_verdict = gr.Radio([(t("fb_right"), "right"), (t("fb_wrong"), "wrong")],
                                          label=t("fb_verdict"), elem_id="fb-verdict")
                    fb_true_label = gr.Radio([(t("fb_label_real"), "real"), (t("fb_label_fake"), "fake"),
                                              (t("fb_label_unsure"), "unsure")],
                                             label=t("fb_true_label"), elem_id="fb-true-label")
                    fb_category = gr.Dropdown([(t("fb_category_none"), "")] + [(c, c) for c in CATEGORIES], value="",
                                              label=t("fb_category"), elem_id="fb-category")
                with gr.Row():
                    fb_agree = gr.CheckboxGroup(choices=[], label=t("fb_agree"), elem_id="fb-agree")
                    fb_disagree = gr.CheckboxGroup(choices=[], label=t("fb_disagree"), elem_id="fb-disagree")
                fb_corrected = gr.Textbox(label=t("fb_corrected"), lines=2, max_length=5000, elem_id="fb-corrected")
                fb_comment = gr.Textbox(label=t("fb_comment"), lines=1, max_length=2000, elem_id="fb-comment")
                fb_consent = gr.Checkbox(False, label=t("fb_consent"), elem_id="fb-consent")
                fb_submit = gr.Button(t("fb_submit"), variant="secondary", elem_id="fb-submit")
                fb_result = gr.Markdown("", label="confirmation", elem_id="fb-result")
                fb_id = gr.Number(visible=False, precision=0, label="feedback id")

        with gr.Tab(t("tab_explorer"), id="explorer", elem_id="tab-explorer") as ex_tab:
            gr.Markdown(t("explorer_intro"))
            with gr.Row():
                any_ = (t("explorer_any"), "")
                ex_verdict = gr.Dropdown([any_, ("fake", "fake"), ("real", "real"), ("undecided", "undecided")],
                                         value="", label=t("explorer_filter_verdict"), elem_id="ex-verdict")
                ex_category = gr.Dropdown([any_] + [(c, c) for c in CATEGORIES], value="",
                                          label=t("explorer_filter_category"), elem_id="ex-category")
                ex_review = gr.Dropdown([any_, ("pending", "pending"), ("accepted", "accepted"),
                                         ("rejected", "rejected")], value="",
                                        label=t("explorer_filter_review"), elem_id="ex-review")
                ex_disagree = gr.Checkbox(False, label=t("explorer_filter_disagree"), elem_id="ex-disagree")
                ex_refresh = gr.Button(t("explorer_refresh"), elem_id="ex-refresh")
            ex_table = gr.Dataframe(label=t("explorer_rows"), interactive=False, wrap=True, max_height=360,
                                    elem_id="ex-table", column_widths=["7%", "7%", "11%", "7%", "6%", "7%", "7%",
                                                                       "8%", "7%", "7%", "26%"])
            with gr.Row():
                ex_selected = gr.Textbox(label="prediction", elem_id="ex-selected", scale=1)
                ex_open = gr.Button(t("explorer_open"), elem_id="ex-open", scale=1)
            ex_status = gr.Markdown("", elem_id="ex-status")
            with gr.Row(equal_height=False):
                with gr.Column(scale=2):
                    ex_card = gr.HTML("", elem_id="ex-card")
                    ex_text = gr.Textbox(label=t("explanation_label"), interactive=False, lines=4, elem_id="ex-text")
                    ex_feedback = gr.JSON(label="feedback", elem_id="ex-feedback")
                with gr.Column(scale=3):
                    ex_plot = gr.Plot(label=t("multiples_label"), elem_id="ex-plot")
            ex_feedback_id = gr.Number(visible=False, precision=0)
            with gr.Accordion("Reviewers", open=False, elem_id="rv-panel"):
                rv_hf_login = gr.LoginButton(elem_id="rv-hf-login") if oauth else None
                with gr.Row():
                    rv_token = gr.Textbox(label=t("reviewer_token"), type="password", elem_id="rv-token", scale=3)
                    rv_login = gr.Button(t("reviewer_login"), elem_id="rv-login", scale=1)
                rv_status = gr.Markdown("", elem_id="rv-status")
                with gr.Row():
                    rv_accept = gr.Button(t("review_accept"), elem_id="rv-accept")
                    rv_reject = gr.Button(t("review_reject"), elem_id="rv-reject")
                    rv_export = gr.Button(t("export_button"), elem_id="rv-export")
                rv_file = gr.File(label="export", interactive=False, elem_id="rv-file", height=90)

        with gr.Tab(t("tab_about"), id="about", elem_id="tab-about"):
            gr.Markdown(about_md, elem_id="spot-about")

    return Layout(
        visitor=visitor, banner=banner, image_in=image_in, run_btn=run_btn, examples=examples,
        crop_view=crop_view, status=status, cancel_btn=cancel_btn, verdict_card=verdict_card, evidence=evidence,
        explanation=explanation, chips=chips, prior_legend=prior_legend, method=method, opacity=opacity,
        heatmap=heatmap, multiples=multiples, details=details, maps_json=maps_json,
        prediction_id=prediction_id, fb_verdict=fb_verdict, fb_true_label=fb_true_label, fb_agree=fb_agree,
        fb_disagree=fb_disagree, fb_corrected=fb_corrected, fb_category=fb_category, fb_comment=fb_comment,
        fb_consent=fb_consent, fb_submit=fb_submit, fb_result=fb_result, fb_id=fb_id,
        ex_tab=ex_tab, ex_verdict=ex_verdict, ex_disagree=ex_disagree, ex_category=ex_category, ex_review=ex_review,
        ex_refresh=ex_refresh, ex_table=ex_table, ex_selected=ex_selected, ex_open=ex_open,
        ex_status=ex_status, ex_card=ex_card, ex_text=ex_text, ex_feedback=ex_feedback, ex_plot=ex_plot,
        ex_feedback_id=ex_feedback_id, rv_token=rv_token, rv_login=rv_login, rv_hf_login=rv_hf_login,
        rv_status=rv_status, rv_accept=rv_accept, rv_reject=rv_reject, rv_export=rv_export, rv_file=rv_file,
    )
