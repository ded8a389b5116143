"""Wiring of the classroom page: as a page of the app (`add_classroom`, a Gradio multipage route at
/classroom) or as an app of its own (`build_classroom`).

    demo = build_demo(app)                 # demo/ui.py
    classroom = add_classroom(demo, app)   # adds /classroom; keep it to close() at exit
    demo.launch(**launch_options(config), i18n=i18n())

Languages: static labels are Gradio i18n keys, translated in the browser (demo/i18n); the browser
also tells every event the language it shows (CONTEXT_JS), so text made on the server matches.
The in-page switch changes Gradio's own locale (the Settings panel's language does the same), and
remembers the choice in the browser.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import partial

import gradio as gr

from ..events import MODEL_SLOT
from ..i18n import LANGUAGES, tr
from ..service import AppState
from ..service.classroom import Classroom
from .handlers import STUDENT_OUTPUTS, TEACHER_OUTPUTS, ClassroomHandlers
from .layout import ClassroomLayout, build_classroom_layout

ROUTE_NAME = "Classroom"
ROUTE_PATH = "classroom"
POLL = dict(concurrency_id="classroom-poll", concurrency_limit=16, show_progress="hidden",
            api_visibility="private", trigger_mode="always_last")
PRIVATE = dict(api_visibility="private")

# Fills the first input of every classroom event with "LANG|PAGE_URL" just before it is sent.
CONTEXT_JS = """(...args) => {
  args[0] = (document.documentElement.lang || 'en') + '|' + window.location.origin + window.location.pathname;
  return args;
}"""

# On load: install the language switch (Gradio's own locale store, reached through its core module,
# which the page has already loaded), re-apply the language this browser chose last time, and watch
# the page's language so server-made text is redrawn when it changes (also from Gradio's Settings).
LOAD_JS = """async (...args) => {
  const core = async () => {
    const url = performance.getEntriesByType('resource').map((e) => e.name)
      .find((n) => /\\/core-[^/]+\\.js$/.test(n));
    return url ? await import(url) : null;
  };
  window.__spotSetLang = async (want) => {
    try { const m = await core(); if (m && m.changeLocale) m.changeLocale(want); } catch (e) { console.warn(e); }
    try { localStorage.setItem('spot-lang', want); } catch (e) {}
  };
  try {
    const saved = localStorage.getItem('spot-lang');
    if (saved && saved !== document.documentElement.lang) await window.__spotSetLang(saved);
  } catch (e) {}
  if (!window.__spotLangObserver) {
    window.__spotLangObserver = new MutationObserver(() => {
      const b = document.querySelector('#cls-lang-refresh');
      if (b) b.click();
    });
    window.__spotLangObserver.observe(document.documentElement, {attributes: true, attributeFilter: ['lang']});
  }
  args[0] = (document.documentElement.lang || 'en') + '|' + window.location.origin + window.location.pathname;
  return args;
}"""

SWITCH_JS = "(want) => { if (want && window.__spotSetLang) window.__spotSetLang(want); return want; }"


def nav_name() -> str:
    """The page's name in the navigation bar, in every language at once: Gradio shows page names
    as they are (no i18n), and the bar is the way in from the main page."""
    return " · ".join(dict.fromkeys(tr("cls_nav", code) for code in LANGUAGES))


def browser_state_secret(app: AppState) -> str:
    """The key of the classroom's gr.BrowserState, stable across restarts (Gradio's default is new at
    every launch, which would make every browser a stranger after a restart). It is sent to the
    browser, like any BrowserState key, so it is derived one-way from the store's key."""
    return hmac.new(app.store.secret, b"spot-classroom-browser-state", hashlib.sha256).hexdigest()[:32]


def add_classroom(demo: gr.Blocks, app: AppState, *, poll_s: float = 2.0) -> Classroom:
    """Add the classroom page to `demo` at /classroom (call after building `demo`, before launch).
    Returns the `Classroom` service; call its `close()` when the app stops."""
    svc = Classroom(app)
    with demo.route(nav_name(), f"/{ROUTE_PATH}"):
        ui = build_classroom_layout(poll_s=poll_s, state_secret=browser_state_secret(app))
        wire(demo, ui, ClassroomHandlers(svc), model_concurrency=app.config.concurrency)
    return svc


def build_classroom(app: AppState, *, poll_s: float = 2.0) -> tuple[gr.Blocks, Classroom]:
    """The classroom as an app of its own (no main page)."""
    svc = Classroom(app)
    with gr.Blocks(title="Spot the Fake · Classroom", analytics_enabled=False) as demo:
        ui = build_classroom_layout(poll_s=poll_s, state_secret=browser_state_secret(app))
        wire(demo, ui, ClassroomHandlers(svc), model_concurrency=app.config.concurrency)
    demo.queue(default_concurrency_limit=8, max_size=app.config.queue_size)
    return demo, svc


def wire(blocks: gr.Blocks, ui: ClassroomLayout, h: ClassroomHandlers, *, model_concurrency: int = 1) -> None:
    model = dict(concurrency_id=MODEL_SLOT, concurrency_limit=model_concurrency, **PRIVATE)
    ctx = ui.lang  # the hidden context box: its value is replaced by CONTEXT_JS in every event
    js = CONTEXT_JS

    blocks.load(h.on_load, inputs=[ctx, ui.student_token, ui.teacher_key_store],
                outputs=[ui.student_token, ui.st_code, ui.lang_switch, ui.glossary, ui.t_pending_view, ui.t_sessions,
                         ui.t_build], js=LOAD_JS, **PRIVATE)
    # the projector view (?present=CODE): replaces the tabs, follows the session
    presenter_out = [ui.p_head, ui.p_image, ui.p_side, ui.p_state]
    blocks.load(h.presenter_open, inputs=[ctx], outputs=[ui.p_panel, ui.tabs, ui.p_timer, *presenter_out],
                js=CONTEXT_JS, **PRIVATE)
    ui.p_timer.tick(h.presenter_poll, inputs=[ctx, ui.p_state], outputs=presenter_out, js=CONTEXT_JS, **POLL)
    ui.lang_switch.input(None, inputs=[ui.lang_switch], outputs=None, js=SWITCH_JS, **PRIVATE)
    relabel = [props for _, props in ui.i18n_targets]

    def refresh_language(ctx: str | None = None, st_state: dict | None = None, t_state: dict | None = None,
                         new_key: str | None = None) -> tuple:
        return (*h.refresh_language(ctx, st_state, t_state, new_key), *(gr.update(**p) for p in relabel))

    ui.lang_refresh.click(refresh_language, inputs=[ctx, ui.st_state, ui.t_state, ui.t_new_key_state],
                          outputs=[ui.glossary, ui.st_state, ui.t_state, ui.lang_switch, ui.t_key_status,
                                   ui.st_status, ui.t_build_status, ui.t_session_status,
                                   *(block for block, _ in ui.i18n_targets)], js=js, **PRIVATE)

    # students
    student_out = [ui.st_state, *(getattr(ui, n) for n in STUDENT_OUTPUTS)]
    gr.on([ui.st_join.click, ui.st_nickname.submit], h.join, inputs=[ctx, ui.st_code, ui.st_nickname, ui.student_token],
          outputs=[ui.st_status, ui.st_panel, ui.st_timer, ui.student_token, *student_out], js=js, **PRIVATE)
    ui.st_timer.tick(h.student_poll, inputs=[ctx, ui.st_state, ui.student_token, ui.st_chips], outputs=student_out,
                     js=js, **POLL)
    ui.st_submit.click(h.answer, inputs=[ctx, ui.st_state, ui.student_token, ui.st_guess, ui.st_confidence,
                                         ui.st_reason], outputs=[ui.st_answer_status], js=js, **PRIVATE)
    ui.st_chips.input(h.student_chip, inputs=[ctx, ui.st_state, ui.student_token, ui.st_chips],
                      outputs=[ui.st_heatmap, ui.st_clues], js=js, show_progress="hidden", **PRIVATE)

    # teacher: key and lesson set
    keys = [ui.teacher_key_store, ui.t_key]
    key_box = [ui.t_key_once, ui.t_key_shown]  # the key shown once (demo/classroom/keys.py)
    ui.t_new_key.click(h.new_key, inputs=[ctx], outputs=[ui.teacher_key_store, ui.t_key, ui.t_key_status,
                                                         ui.t_new_key_state, ui.t_sessions, *key_box], js=js, **PRIVATE)
    ui.t_key_show.click(h.show_key, inputs=[ctx, *keys], outputs=key_box, js=js, **PRIVATE)
    ui.t_key_hide.click(h.hide_key, inputs=None, outputs=key_box, **PRIVATE)
    gr.on([ui.t_use_key.click, ui.t_key.submit], h.use_key, inputs=[ctx, ui.t_key],
          outputs=[ui.teacher_key_store, ui.t_key_status, ui.t_sessions], js=js, **PRIVATE)
    ui.t_upload.upload(h.add_uploads, inputs=[ctx, ui.t_upload, ui.t_upload_truth, ui.t_pending, ui.t_examples],
                       outputs=[ui.t_pending, ui.t_pending_view, ui.t_build_status, ui.t_upload], js=js, **PRIVATE)
    ui.t_examples.input(h.show_examples, inputs=[ctx, ui.t_pending, ui.t_examples], outputs=[ui.t_pending_view],
                        js=js, show_progress="hidden", **PRIVATE)
    ui.t_fc_pull.click(h.pull_fakeclue, inputs=[ctx, ui.t_fc_count, ui.t_pending, ui.t_examples],
                       outputs=[ui.t_pending, ui.t_pending_view, ui.t_build_status], js=js, **PRIVATE)
    ui.t_clear.click(h.clear_pending, inputs=[ctx], outputs=[ui.t_pending, ui.t_pending_view, ui.t_examples,
                                                             ui.t_build_status], js=js, **PRIVATE)
    ui.t_create.click(h.create_set, inputs=[ctx, *keys, ui.t_title, ui.t_pending, ui.t_examples],
                      outputs=[ui.teacher_key_store, ui.t_key, ui.t_key_status, ui.t_new_key_state, *key_box, ui.t_pending,
                               ui.t_pending_view, ui.t_examples, ui.t_build_status, ui.t_set_code, ui.t_build],
                      js=js, **PRIVATE)

    # teacher: session
    teacher_out = [getattr(ui, n) for n in TEACHER_OUTPUTS]
    gr.on([ui.t_start.click, ui.t_set_code.submit], h.start_session, inputs=[ctx, *keys, ui.t_set_code],
          outputs=[ui.teacher_key_store, ui.t_key, ui.t_key_status, ui.t_new_key_state, *key_box, ui.t_start_box,
                   ui.t_session_status,
                   ui.t_sessions, ui.t_control, ui.t_timer, *teacher_out], js=js, **PRIVATE)
    ui.t_resume.click(h.resume, inputs=[ctx, *keys, ui.t_sessions],
                      outputs=[*key_box, ui.t_start_box, ui.t_session_status, ui.t_control, ui.t_timer, *teacher_out], js=js, **PRIVATE)
    ui.t_timer.tick(h.teacher_poll, inputs=[ctx, ui.t_state, *keys], outputs=teacher_out, js=js, **POLL)
    ui.t_prev.click(partial(h.move, -1), inputs=[ctx, ui.t_state, *keys], outputs=teacher_out, js=js, **PRIVATE)
    ui.t_next.click(partial(h.move, 1), inputs=[ctx, ui.t_state, *keys], outputs=teacher_out, js=js, **PRIVATE)
    ui.t_reveal.click(h.reveal, inputs=[ctx, ui.t_state, *keys],
                      outputs=[ui.t_reveal_card, ui.t_expl, ui.t_chips, ui.t_heatmap, ui.t_clues, ui.t_state],
                      js=js, show_progress="minimal", **model)
    ui.t_prepare.click(h.prepare, inputs=[ctx, ui.t_state, *keys], outputs=[ui.t_session_status], js=js, **model)
    ui.t_close.click(h.close_session, inputs=[ctx, ui.t_state, *keys], outputs=teacher_out, js=js, **PRIVATE)
    ui.t_delete.click(h.delete_session, inputs=[ctx, ui.t_state, *keys],
                      outputs=[ui.t_session_status, ui.t_control, ui.t_timer, ui.t_state, ui.t_sessions, ui.t_start_box],
                      js=js,
                      **PRIVATE)
    ui.t_chips.input(h.teacher_chip, inputs=[ctx, ui.t_state, *keys, ui.t_chips], outputs=[ui.t_heatmap, ui.t_clues],
                     js=js, show_progress="hidden", **PRIVATE)
    ui.t_export.click(h.export, inputs=[ctx, ui.t_state, *keys], outputs=[ui.t_files, ui.t_session_status], js=js,
                      **PRIVATE)
    ui.t_handout.click(partial(h.handout, "current"), inputs=[ctx, ui.t_state, *keys],
                       outputs=[ui.t_files, ui.t_session_status], js=js, **model)
    ui.t_handout_all.click(partial(h.handout, "all"), inputs=[ctx, ui.t_state, *keys],
                           outputs=[ui.t_files, ui.t_session_status], js=js, **model)
