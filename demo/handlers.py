"""Event handlers: translate Gradio inputs into AppState calls and AppState results into outputs.

Kept thin on purpose: no model, storage or privacy logic here (that is demo/service/). Each public
handler has an explicit signature because Gradio names API parameters after it, and `None`
defaults make parameters optional for `gradio_client`. `UserError` becomes `gr.Error`, whose
message the visitor sees as it is. Every handler runs in the visitor's language (`@localized`,
demo/language.py): the texts it makes, and the service's messages, come in that language.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from . import cards, explorer_view, figures
from .events import user_errors
from .i18n import current, t
from .language import localized
from .service import (
    AppState,
    ExplainView,
    FeedbackForm,
    UserError,
    Visitor,
    inputs,
    is_uncertain,
    maps_json,
    progress_text,
    request_address,
    stream_text,
)
from .uploads import UploadOwners

FEEDBACK_FIELDS = ("prediction_id", "verdict", "true_label", "agree", "disagree", "corrected", "category",
                   "comment", "consent", "visitor")  # the /feedback event's inputs, in order
DISPUTE = {"yes": True, "no": False, True: True}  # the "what visitors said" filter (True: the old checkbox)


class Handlers:
    def __init__(self, app: AppState, upload_dir: str, owners: UploadOwners | None = None):
        self.app = app
        self.upload_dir = Path(upload_dir).resolve()
        self.owners = owners or UploadOwners()

    # ------------------------------------------------------------------ helpers
    def visitor_of(self, token: Any, request: gr.Request | None) -> Visitor:
        return self.app.visitor(token, getattr(request, "session_hash", None), request_address(request))

    def upload_path(self, image: Any, request: gr.Request | None = None) -> str | None:
        """The uploaded file's path, only if it lies in Gradio's upload folder.

        The explain event skips Gradio's preprocessing (which would re-encode some images), so the
        raw payload is checked here: Gradio already refuses paths outside its cache, and this is
        a second lock on the same door.
        """
        if image is None:
            return None
        path = image.get("path") if isinstance(image, dict) else None
        if not isinstance(path, str) or not path:
            raise UserError(t("err_no_image"))
        resolved = Path(path).resolve()
        if not resolved.is_relative_to(self.upload_dir) or not resolved.is_file():
            raise UserError(t("err_no_image"))
        if not self.owners.may_use(path, request_address(request)):  # another visitor's upload
            raise UserError(t("err_no_image"))
        return str(resolved)

    # ------------------------------------------------------------------ page load
    def on_load(self, visitor: Any = None) -> str:
        """Give a new browser its random token (kept in its localStorage)."""
        return visitor if self.app.valid_token(visitor) else self.app.new_visitor_token()

    # ------------------------------------------------------------------ language
    @localized
    def page_texts(self, prediction_id: Any = None, chip: Any = None, visitor: Any = None,
                   request: gr.Request = None) -> tuple:
        """The texts the server makes, in the page's language, at load and whenever the page changes
        language: the switch's value, the model line (header and About), the status line, and the
        current result's verdict card, evidence panel and chips (skipped when there is none)."""
        app = self.app
        banner = cards.model_banner(app.model_id, app.worker.revision, app.model_license, app.model_notice)
        hit = app.own_result(prediction_id, self.visitor_of(visitor, request))
        if hit is None:
            return (current(), banner, banner, t("status_ready"), gr.skip(), gr.skip(), gr.skip())
        e = hit.explanation
        prior = {m.phrase_index for maps in hit.maps.values() for m in maps if m.extra.get("language_prior")}
        chips = [(cards.chip_label(p.text, prior=i in prior), i) for i, p in enumerate(e.phrases)]
        index = chip if isinstance(chip, int) and 0 <= chip < len(chips) else None
        return (current(), banner, banner, t("status_maps_done") if hit.maps else gr.skip(),
                cards.verdict_card(e.verdict, e.p_fake), cards.evidence_panel(hit.provenance),
                gr.update(choices=chips, value=index))

    # ------------------------------------------------------------------ explain
    @localized
    def validate_explain(self, image: Any = None, visitor: Any = None, request: gr.Request = None):
        """Runs before the request joins the queue: bad uploads never take a model slot."""
        ok = gr.validate(True, "")
        try:
            message = self.app.precheck(self.upload_path(image, request), self.visitor_of(visitor, request),
                                        _page(request))
        except UserError as exc:
            message = str(exc)
        return gr.validate(message is None, message or ""), ok

    @user_errors
    @localized
    def explain(self, image: Any = None, visitor: Any = None, request: gr.Request = None) -> Iterator[tuple]:
        """Explain whether a picture is AI-generated, streaming the model's answer.

        Returns (repeatedly, as the answer grows): the model's 336x336 view, the verdict card
        (HTML), the provenance panel (HTML), the answer text, the phrase chips, the language-prior
        legend, a status line, a details dict (prediction_id, verdict, p_fake, phrases, sha256,
        crop_box, provenance, ...), the prediction id, and two cleared plots and maps.
        """
        v = self.visitor_of(visitor, request)
        shown = -1
        for view in self.app.explain(self.upload_path(image, request), v, _page(request)):
            first = view.stage == "checked"
            done = view.stage == "done"
            chips = gr.skip()
            if first or len(view.phrases) != shown or done:
                shown = len(view.phrases)
                chips = gr.update(choices=[(cards.chip_label(p), i) for i, p in enumerate(view.phrases)], value=None)
            yield (
                view.view if first or done else gr.skip(),
                cards.verdict_card(view.verdict, view.p_fake, pending=True),
                cards.evidence_panel(view.provenance) if first or done else gr.skip(),
                view.text,
                chips,
                gr.update(visible=False) if first else gr.skip(),
                self._status(view),
                self._details(view),
                str(view.prediction_id) if done else "",
                None if first else gr.skip(),
                None if first else gr.skip(),
                None if first else gr.skip(),
            )

    def _status(self, view: ExplainView) -> str:
        if view.stage == "checked":
            notes = "; ".join(view.checked.notes)
            return t("status_thinking") + (f"  \n_{notes}_" if notes else "")
        if view.stage == "done" and view.explanation is not None:
            tm = view.explanation.timings
            return t("status_done", seconds=tm.total_s, tokens=tm.new_tokens)
        return stream_text(view.pieces, view.elapsed_s, view.max_tokens)

    def _details(self, view: ExplainView) -> dict[str, Any]:
        c = view.checked
        d: dict[str, Any] = {
            "stage": view.stage, "prediction_id": view.prediction_id, "verdict": view.verdict,
            "p_fake": view.p_fake, "uncertain": is_uncertain(view.p_fake), "text": view.text,
            "phrases": list(view.phrases), "sha256": c.sha256, "format": c.format, "width": c.width,
            "height": c.height, "byte_size": c.byte_size, "crop_box": list(c.crop_box), "notes": list(c.notes),
            "model": self.app.model_id, "provenance": view.provenance,
        }
        if view.explanation is not None:
            tm = view.explanation.timings
            d["timings"] = {"first_token_s": round(tm.first_token_s, 3), "total_s": round(tm.total_s, 3),
                            "new_tokens": tm.new_tokens, "tokens_per_s": round(tm.tokens_per_s, 1)}
        return d

    # ------------------------------------------------------------------ maps
    @user_errors
    @localized
    def attribute(self, prediction_id: Any = None, method: str = "gradient", phrase: Any = None,
                  opacity: float = 0.7, visitor: Any = None, request: gr.Request = None) -> Iterator[tuple]:
        """Attribution maps for every phrase of a prediction ("gradient": fast; "occlusion": faithful).

        Returns the selected phrase's heatmap, all phrases side by side, the chips (phrases resting
        on language prior are marked), the prior legend, the maps as JSON (raw values) and a status
        line; while the maps are computed, the status line alone, with progress and time left.
        Cancelling the call stops the computation.
        """
        opacity = inputs.fraction(opacity, t("opacity_field"), 0.7)
        v = self.visitor_of(visitor, request)
        with closing(self.app.maps_progress(prediction_id, v, method or "gradient", _page(request))) as steps:
            for p in steps:
                if p.stage == "done":
                    analysis, maps = p.result
                    yield self._map_outputs(analysis, maps, phrase, opacity)
                else:
                    yield (gr.skip(),) * 5 + (progress_text(p),)

    def cancel(self, request: gr.Request = None) -> str:
        """The Cancel button: stops the page's running maps, or its streaming answer."""
        stopped = self.app.cancel_work(_page(request))
        if stopped == "maps":
            return t("status_maps_cancelled")
        return t("status_cancelled") if stopped else t("status_nothing_to_cancel")

    def _map_outputs(self, analysis, maps, phrase: Any, opacity: float) -> tuple:
        phrases = [p.text for p in analysis.explanation.phrases]
        index = self._phrase_index(phrase, len(phrases))
        prior = {m.phrase_index for m in maps if m.extra.get("language_prior")}
        choices = [(cards.chip_label(p, prior=i in prior), i) for i, p in enumerate(phrases)]
        return (
            self._heatmap(analysis, maps, index, opacity),
            figures.small_multiples(analysis.checked.image, analysis.checked.image.size,
                                    [m for m in maps if 0 <= m.phrase_index < len(phrases)],
                                    [phrases[m.phrase_index] for m in maps if 0 <= m.phrase_index < len(phrases)],
                                    opacity=opacity),
            gr.update(choices=choices, value=index),
            gr.update(visible=bool(prior)),
            maps_json(maps),
            t("status_maps_done"),
        )

    @staticmethod
    def _phrase_index(phrase: Any, n: int) -> int | None:
        if n == 0:
            return None
        try:
            i = int(phrase)
        except (TypeError, ValueError):
            return 1 if n > 1 else 0  # the first phrase after the verdict sentence
        return i if 0 <= i < n else (1 if n > 1 else 0)

    def _heatmap(self, analysis, maps, index: int | None, opacity: float):
        pm = next((m for m in maps if m.phrase_index == index), None)
        phrase = analysis.explanation.phrases[index].text if index is not None else ""
        title = phrase if len(phrase) <= 90 else phrase[:88] + "…"
        if pm is not None:
            title += f"  ·  {t('map_faithful' if pm.method == 'occlusion' else 'map_fast')}"
        image = analysis.checked.image
        return figures.heatmap_figure(image, image.size, pm, opacity=opacity, title=title, phrase=phrase,
                                      unseen_label=t("unseen_margin"))

    @user_errors
    @localized
    def auto_maps(self, prediction_id: Any = None, opacity: float = 0.7, visitor: Any = None,
                  request: gr.Request = None) -> Iterator[tuple]:
        """After an explanation: the fast maps, and the map switch back on "fast" (nothing when the
        page has moved on to another picture meanwhile, before or after the maps were made)."""
        if not self.app.is_current(_page(request), prediction_id):
            yield (gr.skip(),) * 7
            return
        with closing(self.attribute(prediction_id, "gradient", None, opacity, visitor, request)) as steps:
            for out in steps:
                if not self.app.is_current(_page(request), prediction_id):
                    yield (gr.skip(),) * 7
                    return
                yield (*out, gr.skip() if _is_skip(out[0]) else "gradient")

    def cleared(self, request: gr.Request = None) -> None:
        """The picture was removed: its stream, if still running, stops at the next token."""
        self.app.pages.start(_page(request), None)

    @user_errors
    @localized
    def redraw(self, prediction_id: Any = None, method: str = "gradient", phrase: Any = None,
               opacity: float = 0.7, visitor: Any = None, request: gr.Request = None) -> tuple:
        """A chip click or the opacity slider: redraw from cached maps (no model call)."""
        opacity = inputs.fraction(opacity, t("opacity_field"), 0.7)
        v = self.visitor_of(visitor, request)
        hit = self.app.cached_maps(prediction_id, v, method or "gradient")
        if hit is None or not self.app.is_current(_page(request), prediction_id):
            return gr.skip(), gr.skip()
        analysis, maps = hit
        out = self._map_outputs(analysis, maps, phrase, opacity)
        return out[0], out[1]

    # ------------------------------------------------------------------ feedback
    @localized
    def reset_feedback(self, prediction_id: Any = None, visitor: Any = None, request: gr.Request = None) -> tuple:
        """A fresh form for a new prediction, with its phrases to vote on."""
        if not self.app.is_current(_page(request), prediction_id):
            return (gr.skip(),) * 10
        v = self.visitor_of(visitor, request)
        hit = self.app.own_result(prediction_id, v)
        choices = [(p.text, i) for i, p in enumerate(hit.explanation.phrases)] if hit else []
        return (None, None, gr.update(choices=choices, value=[]), gr.update(choices=choices, value=[]), "", "",
                "", False, "", None)

    @localized
    def validate_feedback(self, prediction_id: Any = None, verdict: str | None = None, true_label: str | None = None,
                          agree: list | None = None, disagree: list | None = None, corrected: str | None = None,
                          category: str | None = None, comment: str | None = None, consent: bool = False,
                          visitor: Any = None, request: gr.Request = None) -> tuple:
        """Before /feedback runs: a form that is incomplete or says two opposite things gets its
        sentence beside the answer concerned (nothing is stored); a server fault still raises."""
        form = FeedbackForm(prediction_id, verdict, true_label, agree, disagree, corrected, category, comment, consent)
        problem = self.app.check_feedback(form, self.visitor_of(visitor, request))
        at = FEEDBACK_FIELDS.index(problem.field) if problem and problem.field in FEEDBACK_FIELDS else 1
        return tuple(gr.validate(not (problem and i == at), problem.message if problem and i == at else "")
                     for i in range(len(FEEDBACK_FIELDS)))

    @user_errors
    @localized
    def feedback(self, prediction_id: Any = None, verdict: str | None = None, true_label: str | None = None,
                 agree: list | None = None, disagree: list | None = None, corrected: str | None = None,
                 category: str | None = None, comment: str | None = None, consent: bool = False,
                 visitor: Any = None, request: gr.Request = None) -> tuple[str, int]:
        """Save the visitor's judgement of a prediction (sending again updates the same record).

        verdict: "right" | "wrong"; true_label: "real" | "fake" | "unsure"; agree / disagree: phrase
        indices; category: a FakeClue category; consent: keep the picture for training.
        Returns a confirmation and the feedback record id.
        """
        form = FeedbackForm(prediction_id, verdict, true_label, agree, disagree, corrected, category, comment, consent)
        fid, updated = self.app.feedback(form, self.visitor_of(visitor, request))
        return t("fb_saved", id=fid, updated=t("fb_saved_updated") if updated else ""), fid

    # ------------------------------------------------------------------ explorer
    @user_errors
    @localized
    def explorer(self, verdict: str | None = None, disagreement: Any = None, category: str | None = None,
                 review_state: str | None = None, token: Any = None, visitor: Any = None,
                 request: gr.Request = None, profile: gr.OAuthProfile | None = None) -> tuple[pd.DataFrame, str]:
        v = self.visitor_of(visitor, request)
        reviewer = self.app.reviewer_for(token, _username(profile), v)
        rows = self.app.explorer_rows(v, reviewer, verdict=verdict or None,
                                      disagreement=DISPUTE.get(disagreement), category=category or None,
                                      review_state=review_state or None)
        return explorer_view.table(rows), "" if rows else t("explorer_nothing")

    @staticmethod
    def explorer_select(evt: gr.SelectData) -> str:
        row = getattr(evt, "row_value", None) or []
        return str(row[0]) if row else ""

    @user_errors
    @localized
    def explorer_open(self, selected: Any = None, opacity: float = 0.7, token: Any = None,
                      visitor: Any = None, request: gr.Request = None,
                      profile: gr.OAuthProfile | None = None) -> tuple:
        if not str(selected or "").strip():
            raise UserError(t("explorer_pick"))
        opacity = inputs.fraction(opacity, t("opacity_field"), 0.7)
        v = self.visitor_of(visitor, request)
        r = self.app.reopen(selected, v, self.app.reviewer_for(token, _username(profile), v))
        p = r.prediction
        phrases = [s.text for s in p.phrases]
        gradient = [m for m in r.maps if m.method == "gradient" and 0 <= m.phrase_index < len(phrases)]
        maps = gradient or [m for m in r.maps if 0 <= m.phrase_index < len(phrases)]
        plot = figures.small_multiples(r.image, r.size, maps, [phrases[m.phrase_index] for m in maps],
                                       opacity=opacity) if maps else None
        note = "" if r.image is not None else t("no_image_kept")
        pct = explorer_view.percent(p.p_fake)
        verdict = t(f"verdict_{p.verdict}") if p.verdict in ("real", "fake", "undecided") else p.verdict
        status = (t("explorer_reopened", id=p.id, verdict=verdict, p=t("explorer_p", pct=pct) if pct else "")
                  + (f"  \n_{note}_" if note else ""))
        return (cards.verdict_card(p.verdict, p.p_fake), p.text, explorer_view.feedback_card(r.feedback), plot,
                r.feedback.id if r.feedback else None, status)

    # ------------------------------------------------------------------ reviewers
    @user_errors
    @localized
    def login(self, token: str | None = None, visitor: Any = None, request: gr.Request = None) -> tuple:
        reviewer = self.app.login_with_token(token, self.visitor_of(visitor, request))
        return t("reviewer_ok", name=reviewer.name)

    @localized
    def login_oauth(self, profile: gr.OAuthProfile | None = None, request: gr.Request = None) -> tuple:
        """On a Space: a signed-in Hugging Face user on the reviewer list becomes a reviewer."""
        try:
            reviewer = self.app.login_with_profile(_username(profile))
        except UserError as exc:
            return str(exc)
        if reviewer is None:
            return gr.skip()
        return t("reviewer_ok", name=reviewer.name)

    def accept(self, feedback_id: Any = None, token: Any = None, visitor: Any = None, request: gr.Request = None,
               profile: gr.OAuthProfile | None = None) -> str:
        return self.review(feedback_id, "accepted", token, visitor, request, profile)

    def reject(self, feedback_id: Any = None, token: Any = None, visitor: Any = None, request: gr.Request = None,
               profile: gr.OAuthProfile | None = None) -> str:
        return self.review(feedback_id, "rejected", token, visitor, request, profile)

    @user_errors
    @localized
    def review(self, feedback_id: Any, state: str, token: Any = None, visitor: Any = None,
               request: gr.Request = None, profile: gr.OAuthProfile | None = None) -> str:
        if feedback_id in (None, ""):
            raise UserError(t("review_no_feedback"))
        v = self.visitor_of(visitor, request)
        fid = self.app.review(feedback_id, state, self.app.reviewer_for(token, _username(profile), v))
        return t("review_done", id=fid, state=t(f"exv_review_{state}"))

    @user_errors
    @localized
    def export(self, token: Any = None, visitor: Any = None, request: gr.Request = None,
               profile: gr.OAuthProfile | None = None) -> tuple:
        v = self.visitor_of(visitor, request)
        path, count, skipped = self.app.export(self.app.reviewer_for(token, _username(profile), v))
        why = "; ".join(f"{reason}: {n}" for reason, n in sorted(skipped.items()))
        return str(path), t("export_done", count=count) + (f" {t('export_skipped', why=why)}" if why else "")


def _is_skip(value: Any) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update" and len(value) == 1


def _username(profile: Any) -> str | None:
    """The signed-in Hugging Face user (Gradio reads it from the sign-in cookie, expiry checked)."""
    name = getattr(profile, "username", None)
    return name if isinstance(name, str) and name else None


def _page(request: gr.Request | None) -> str | None:
    """The page (Gradio session) a request comes from: what it shows is followed per page."""
    page = getattr(request, "session_hash", None)
    return page if isinstance(page, str) and page else None
