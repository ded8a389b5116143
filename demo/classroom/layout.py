"""The classroom page: every component, placed, and nothing wired (demo/classroom/page.py wires).

Static text is Gradio i18n (`lab(key)`, translated in the browser from demo/i18n); text made by
handlers is translated on the server in the language the page shows. Element ids (`cls-...`) are
the contract with the browser tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import gradio as gr

from ..i18n import LANGUAGES
from ..labels import lab
from ..language import i18n_props
from ..service.classroom import example_files
from . import cards


@dataclass
class ClassroomLayout:
    lang: gr.Textbox
    lang_switch: gr.Radio
    lang_refresh: gr.Button
    student_token: gr.BrowserState
    teacher_key_store: gr.BrowserState
    # student
    st_state: gr.State
    st_code: gr.Textbox
    st_nickname: gr.Textbox
    st_join: gr.Button
    st_status: gr.Markdown
    st_panel: gr.Column
    st_progress: gr.Markdown
    st_image: gr.Image
    st_form: gr.Column
    st_guess: gr.Radio
    st_confidence: gr.Slider
    st_reason: gr.Textbox
    st_submit: gr.Button
    st_answer_status: gr.Markdown
    st_reveal: gr.HTML
    st_expl: gr.HTML
    st_chips: gr.Radio
    st_heatmap: gr.Plot
    st_clues: gr.HTML
    st_timer: gr.Timer
    # teacher
    t_key: gr.Textbox
    t_use_key: gr.Button
    t_new_key: gr.Button
    t_key_status: gr.Markdown
    t_new_key_state: gr.State
    t_key_show: gr.Button
    t_key_once: gr.Column
    t_key_shown: gr.Textbox
    t_key_hide: gr.Button
    t_build: gr.Accordion
    t_start_box: gr.Accordion
    t_title: gr.Textbox
    t_upload: gr.File
    t_upload_truth: gr.Radio
    t_examples: gr.CheckboxGroup
    t_fc_count: gr.Slider
    t_fc_pull: gr.Button
    t_pending: gr.State
    t_pending_view: gr.Dataframe
    t_clear: gr.Button
    t_create: gr.Button
    t_build_status: gr.Markdown
    t_set_code: gr.Textbox
    t_start: gr.Button
    t_sessions: gr.Dropdown
    t_resume: gr.Button
    t_session_status: gr.Markdown
    t_state: gr.State
    t_control: gr.Column
    t_banner: gr.HTML
    t_progress: gr.Markdown
    t_image: gr.Image
    t_count: gr.Markdown
    t_prev: gr.Button
    t_reveal: gr.Button
    t_next: gr.Button
    t_prepare: gr.Button
    t_close: gr.Button
    t_delete: gr.Button
    t_reveal_card: gr.HTML
    t_expl: gr.HTML
    t_chips: gr.Radio
    t_heatmap: gr.Plot
    t_clues: gr.HTML
    t_results: gr.Dataframe
    t_summary: gr.Markdown
    t_answers: gr.Dataframe
    t_export: gr.Button
    t_handout: gr.Button
    t_handout_all: gr.Button
    t_files: gr.File
    t_timer: gr.Timer
    glossary: gr.HTML
    tabs: gr.Tabs
    # projector view (/classroom?present=CODE)
    p_panel: gr.Column
    p_state: gr.State
    p_head: gr.HTML
    p_image: gr.Image
    p_side: gr.HTML
    p_timer: gr.Timer
    # every component prop that holds an i18n label, to re-send after the page changes language
    i18n_targets: list[tuple[Any, dict[str, Any]]]


RESULT_COLUMNS = ("cls_col_picture", "cls_col_caption", "cls_col_truth", "cls_col_model", "cls_col_answers",
                  "cls_col_real", "cls_col_fake", "cls_col_correct", "cls_col_conf", "cls_col_revealed")
ANSWER_COLUMNS = ("cls_col_nickname", "cls_col_answer", "cls_col_conf1", "cls_col_reason")
PENDING_COLUMNS = ("cls_col_caption", "cls_col_source", "cls_col_truth")


def example_choices() -> list[tuple[str, str]]:
    # file names are content (like a picture's caption); their truth shows, translated, in the list
    return [(p.stem.replace("-", " "), p.name) for p in example_files()]


# gr.HTML's CSS is scoped to its component, so each fragment carries the classroom styles
html = partial(gr.HTML, css_template=cards.CSS, js_on_load=None)


def _explanation_panel(who: str) -> tuple[Any, Any, Any, Any]:
    """The explanation, phrase chips, heatmap and clue cards of a reveal, built alike on the student
    ("st") and teacher ("t") panels; element ids "cls-{who}-expl" etc."""
    expl = html("", elem_id=f"cls-{who}-expl")
    chips = gr.Radio([], label=lab("cls_chips"), elem_id=f"cls-{who}-chips", info=lab("cls_chips_info"))
    with gr.Row(equal_height=False):
        heatmap = gr.Plot(label=lab("cls_heatmap"), elem_id=f"cls-{who}-heatmap")
        clues = html("", elem_id=f"cls-{who}-clues")
    return expl, chips, heatmap, clues


def _projector(poll_s: float) -> tuple[Any, ...]:
    """The projector view: shown instead of the tabs when the page is opened as /classroom?present=CODE.
    Large type, the picture, the answer count, the reveal; no key, no names (demo/classroom/presenter.py)."""
    with gr.Column(visible=False, elem_id="cls-presenter") as panel:
        state = gr.State(None)
        head = html("", elem_id="cls-p-head")
        with gr.Row(equal_height=False):
            with gr.Column(scale=6, min_width=320):
                image = gr.Image(show_label=False, alt_text=lab("cls_picture"), interactive=False, type="pil", height=560,
                                 elem_id="cls-p-image", buttons=["fullscreen"])
            with gr.Column(scale=4, min_width=300):
                side = html("", elem_id="cls-p-side")
        timer = gr.Timer(poll_s, active=False)
    return panel, state, head, image, side, timer


def build_classroom_layout(*, poll_s: float = 2.0, state_secret: str | None = None) -> ClassroomLayout:
    """Must run inside a `gr.Blocks` (or a `route`) context. `state_secret` keys the browser-side
    storage of the student token and teacher key; a stable one (page.py derives it from the
    store's key) keeps students and teachers recognised across server restarts."""
    with gr.Column(elem_id="cls-root") as root:
        parts = _build(poll_s, state_secret)
    return ClassroomLayout(**parts, i18n_targets=list(i18n_props(root)))


def _build(poll_s: float, state_secret: str | None) -> dict[str, Any]:
    # on this page, Gradio's own "Home" link is translated too
    gr.Navbar(main_page_name=lab("nav_home"), elem_id="cls-navbar")
    lang = gr.Textbox(value="en", visible="hidden", elem_id="cls-lang", label="lang")
    student_token = gr.BrowserState(None, storage_key="spot-classroom-student-v1", secret=state_secret)
    teacher_key_store = gr.BrowserState(None, storage_key="spot-classroom-teacher-v1", secret=state_secret)
    with gr.Row(equal_height=True, elem_id="cls-title-row"):
        # the title needs room for its longest word: below ~560 px the language switch wraps under it
        with gr.Column(scale=1, min_width=320):
            gr.Markdown(lab("cls_title_md"), elem_id="cls-title")
        lang_switch = gr.Radio([(name, code) for code, (name, _) in LANGUAGES.items()], value=None,
                               label=lab("cls_language"), elem_id="cls-lang-switch", scale=0, min_width=220)
    lang_refresh = gr.Button("refresh", visible="hidden", elem_id="cls-lang-refresh")

    p_panel, p_state, p_head, p_image, p_side, p_timer = _projector(poll_s)
    with gr.Tabs(elem_id="cls-tabs") as tabs:
        with gr.Tab(lab("cls_tab_student"), id="student", elem_id="cls-tab-student"):
            st_state = gr.State(None)
            gr.Markdown(lab("cls_student_intro"))
            with gr.Row():
                st_code = gr.Textbox(label=lab("cls_join_code"), max_length=12, elem_id="cls-join-code",
                                     placeholder="ABC234")
                st_nickname = gr.Textbox(label=lab("cls_nickname"), max_length=40, elem_id="cls-nickname",
                                         info=lab("cls_nickname_info"))
                st_join = gr.Button(lab("cls_join"), variant="primary", elem_id="cls-join", scale=0, min_width=140)
            st_status = gr.Markdown("", elem_id="cls-join-status")
            with gr.Column(visible=False, elem_id="cls-student-panel") as st_panel:
                st_progress = gr.Markdown("", elem_id="cls-st-progress")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=5, min_width=300):
                        st_image = gr.Image(label=lab("cls_picture"), alt_text=lab("cls_picture"), interactive=False, type="pil", height=380,
                                            elem_id="cls-st-image", buttons=["fullscreen"])
                    with gr.Column(scale=5, min_width=300):
                        with gr.Column(elem_id="cls-st-form") as st_form:
                            st_guess = gr.Radio([(lab("cls_guess_real"), "real"), (lab("cls_guess_fake"), "fake")],
                                                label=lab("cls_guess"), elem_id="cls-st-guess")
                            st_confidence = gr.Slider(1, 5, value=3, step=1, label=lab("cls_confidence"),
                                                      info=lab("cls_confidence_info"), elem_id="cls-st-confidence")
                            st_reason = gr.Textbox(label=lab("cls_reason"), max_length=280, lines=2,
                                                   elem_id="cls-st-reason", placeholder=lab("cls_reason_ph"))
                            st_submit = gr.Button(lab("cls_submit"), variant="primary", elem_id="cls-st-submit")
                        st_answer_status = gr.Markdown("", elem_id="cls-st-answer-status")
                        st_reveal = html("", elem_id="cls-st-reveal")
                st_expl, st_chips, st_heatmap, st_clues = _explanation_panel("st")
            st_timer = gr.Timer(poll_s, active=False)

        with gr.Tab(lab("cls_tab_teacher"), id="teacher", elem_id="cls-tab-teacher"):
            gr.Markdown(lab("cls_teacher_intro"))
            with gr.Row():
                t_key = gr.Textbox(label=lab("cls_teacher_key"), type="password", elem_id="cls-teacher-key",
                                   info=lab("cls_teacher_key_info"), max_length=140)
                with gr.Column(scale=0, min_width=160):
                    t_use_key = gr.Button(lab("cls_use_key"), elem_id="cls-use-key", size="sm")
                    t_new_key = gr.Button(lab("cls_new_key"), elem_id="cls-new-key", size="sm")
                    t_key_show = gr.Button(lab("cls_key_show"), elem_id="cls-key-show", size="sm")
            # a new key is shown here once, with a copy button, until Hide or the session starts
            with gr.Column(visible=False, elem_id="cls-key-once") as t_key_once:
                t_key_shown = gr.Textbox(label=lab("cls_key_shown"), info=lab("cls_key_shown_info"),
                                         interactive=False, buttons=["copy"], elem_id="cls-key-shown")
                t_key_hide = gr.Button(lab("cls_key_hide"), elem_id="cls-key-hide", size="sm", variant="primary")
            t_key_status = gr.Markdown("", elem_id="cls-key-status")
            t_new_key_state = gr.State(None)  # a key made in this page: its notice is redrawn in another language

            # running the lesson comes first; the set builder folds away once the teacher has a set
            # folded while a session runs, so that the lesson's controls come first on the screen
            with gr.Accordion(lab("cls_start_title"), open=True, elem_id="cls-start") as t_start_box:
                with gr.Row():
                    t_set_code = gr.Textbox(label=lab("cls_set_code"), max_length=16, elem_id="cls-set-code")
                    t_start = gr.Button(lab("cls_start_session"), variant="primary", elem_id="cls-start-session",
                                        scale=0, min_width=180)
                    t_sessions = gr.Dropdown([], label=lab("cls_my_sessions"), elem_id="cls-my-sessions",
                                             allow_custom_value=False)
                    t_resume = gr.Button(lab("cls_resume"), elem_id="cls-resume", scale=0, min_width=120)
                t_session_status = gr.Markdown("", elem_id="cls-session-status")

            t_state = gr.State(None)
            with gr.Column(visible=False, elem_id="cls-control") as t_control:
                t_banner = html("", elem_id="cls-t-banner")
                t_progress = gr.Markdown("", elem_id="cls-t-progress")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=5, min_width=300):
                        t_image = gr.Image(label=lab("cls_picture"), alt_text=lab("cls_picture"), interactive=False, type="pil", height=300,
                                           elem_id="cls-t-image", buttons=["fullscreen"])
                    with gr.Column(scale=5, min_width=300):
                        t_count = gr.Markdown("", elem_id="cls-t-count")
                        with gr.Row():
                            t_prev = gr.Button(lab("cls_prev"), elem_id="cls-prev")
                            t_reveal = gr.Button(lab("cls_reveal"), variant="primary", elem_id="cls-reveal")
                            t_next = gr.Button(lab("cls_next"), elem_id="cls-next")
                        t_reveal_card = html("", elem_id="cls-t-reveal")
                        with gr.Row():
                            t_prepare = gr.Button(lab("cls_prepare"), size="sm", elem_id="cls-prepare")
                            t_close = gr.Button(lab("cls_close"), size="sm", variant="stop", elem_id="cls-close")
                            t_delete = gr.Button(lab("cls_delete"), size="sm", variant="stop", elem_id="cls-delete")
                t_expl, t_chips, t_heatmap, t_clues = _explanation_panel("t")
                with gr.Accordion(lab("cls_results_more"), open=False, elem_id="cls-t-more"):
                    gr.Markdown(lab("cls_results_title"))
                    t_summary = gr.Markdown("", elem_id="cls-t-summary")
                    t_results = gr.Dataframe(headers=[lab(k) for k in RESULT_COLUMNS], value=[], interactive=False,
                                             elem_id="cls-t-results", wrap=True)
                    gr.Markdown(lab("cls_answers_title"))
                    t_answers = gr.Dataframe(headers=[lab(k) for k in ANSWER_COLUMNS], value=[], interactive=False,
                                             elem_id="cls-t-answers", wrap=True)
                    with gr.Row():
                        t_export = gr.Button(lab("cls_export"), elem_id="cls-export")
                        t_handout = gr.Button(lab("cls_handout"), elem_id="cls-handout")
                        t_handout_all = gr.Button(lab("cls_handout_all"), elem_id="cls-handout-all")
                    t_files = gr.File(label=lab("cls_files"), file_count="multiple", interactive=False,
                                      elem_id="cls-files")
            t_timer = gr.Timer(poll_s, active=False)

            with gr.Accordion(lab("cls_build_title"), open=True, elem_id="cls-build") as t_build:
                t_title = gr.Textbox(label=lab("cls_set_title"), max_length=120, elem_id="cls-set-title")
                with gr.Row(equal_height=False):
                    with gr.Column():
                        t_upload = gr.File(label=lab("cls_upload"), file_count="multiple", file_types=["image"],
                                           elem_id="cls-upload", height=140)
                        t_upload_truth = gr.Radio([(lab("truth_unknown"), "unknown"), (lab("truth_real"), "real"),
                                                   (lab("truth_fake"), "fake")], value="unknown",
                                                  label=lab("cls_upload_truth"), elem_id="cls-upload-truth")
                    with gr.Column():
                        t_examples = gr.CheckboxGroup(example_choices(), label=lab("cls_examples"),
                                                      elem_id="cls-examples")
                        with gr.Row():
                            t_fc_count = gr.Slider(2, 12, value=6, step=1, label=lab("cls_fc_count"),
                                                   elem_id="cls-fc-count")
                            t_fc_pull = gr.Button(lab("cls_fc_pull"), elem_id="cls-fc-pull", scale=0, min_width=200)
                t_pending = gr.State([])
                t_pending_view = gr.Dataframe(headers=[lab(k) for k in PENDING_COLUMNS], value=[],
                                              label=lab("cls_pending"), interactive=False, elem_id="cls-pending",
                                              wrap=True)
                with gr.Row():
                    t_clear = gr.Button(lab("cls_clear"), elem_id="cls-clear", scale=0, min_width=140)
                    t_create = gr.Button(lab("cls_create_set"), variant="primary", elem_id="cls-create-set")
                t_build_status = gr.Markdown("", elem_id="cls-build-status")

        with gr.Tab(lab("cls_tab_glossary"), id="glossary", elem_id="cls-tab-glossary"):
            gr.Markdown(lab("cls_glossary_intro"))
            glossary = html(cards.glossary_html("en"), elem_id="cls-glossary")

    return {k: v for k, v in locals().items() if k in ClassroomLayout.__dataclass_fields__}
