"""Feedback and review: a visitor's judgement of a prediction, reviewers' sign-in, review and export.

The verbs of `AppState` (demo/service/state.py) that write what people say. Pictures are kept only
with consent; only reviewers review and export (FakeClue format, storage/export.py).
"""

from __future__ import annotations

import hmac
import secrets
import shutil
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage import CATEGORIES, FeedbackIn, NotFound, StorageError

from ..i18n import t
from . import inputs
from .errors import UserError
from .visitors import Reviewer, Visitor


@dataclass(frozen=True)
class FeedbackForm:
    prediction_id: int | None
    verdict: str | None = None  # "right" | "wrong" | None
    true_label: str | None = None  # "real" | "fake" | "unsure" | None
    agree: Sequence[int] = ()
    disagree: Sequence[int] = ()
    corrected: str | None = None
    category: str | None = None
    comment: str | None = None
    consent: Any = False  # checked by `inputs.flag`: only a real yes keeps the picture



class FeedbackMixin:
    """`AppState`'s verbs for feedback, reviewer sign-in, review and export."""

    # ------------------------------------------------------------------ feedback
    def check_feedback(self, form: FeedbackForm, visitor: Visitor) -> UserError | None:
        """What is wrong with a form, before anything is stored (None when nothing): a missing
        prediction, an answer out of its choices, an empty form, or answers that contradict each
        other. Its `field` names the answer concerned. Faults of the server are raised, not returned."""
        try:
            self._feedback_record(form, visitor)
        except UserError as exc:
            return exc
        return None

    def _feedback_record(self, form: FeedbackForm, visitor: Visitor) -> FeedbackIn:
        """The form as a record to store, checked (raises UserError naming the field concerned)."""
        try:
            pid = self.parse_prediction_id(form.prediction_id)
        except UserError as exc:
            raise UserError(str(exc), "prediction_id") from None
        said = inputs.choice(form.verdict, ("right", "wrong"), t("fb_verdict"))
        verdict_correct = None if said is None else said == "right"
        true_label = inputs.choice(form.true_label, ("real", "fake", "unsure"), t("fb_true_label"))
        category = inputs.choice(form.category, CATEGORIES, t("fb_category"))
        consent = inputs.flag(form.consent, t("fb_consent_field"))
        agree, disagree = inputs.indices(form.agree), inputs.indices(form.disagree)
        both = sorted(set(agree) & set(disagree))
        if both:
            raise UserError(t("fb_both_votes", phrases=", ".join(str(i + 1) for i in both)), "disagree")
        corrected = (inputs.text(form.corrected, t("fb_corrected")) or "").strip() or None
        comment = (inputs.text(form.comment, t("fb_comment")) or "").strip() or None
        if (verdict_correct is None and not true_label and not agree and not disagree
                and not corrected and not category and not comment):
            raise UserError(t("fb_empty"), "verdict")
        a = self.results.get(pid)
        owner = a.owner if a is not None and visitor.owns(a.owner) else visitor.client_hash
        self._agreeing(pid, owner, a, verdict_correct, true_label)
        votes = {i: "agree" for i in agree} | {i: "disagree" for i in disagree}
        return FeedbackIn(prediction_id=pid, client_hash=owner, verdict_correct=verdict_correct,
                          true_label=true_label, phrase_votes=votes, corrected_explanation=corrected,
                          category=category, comment=comment, consent=consent)

    def _agreeing(self, pid: int, owner: str, a: Any, verdict_correct: bool | None, true_label: str | None) -> None:
        """"The verdict was right" with a true label opposite to it (or "wrong" with the same one)
        says two things at once: refuse it with a sentence naming both answers."""
        if verdict_correct is None or true_label not in ("real", "fake"):
            return
        if a is not None and a.owner == owner:
            verdict = a.explanation.verdict
        else:
            try:
                p = self.store.get_prediction(pid, owner)
            except StorageError as exc:
                raise UserError(t("err_storage", error=str(exc))) from None
            verdict = p.verdict if p is not None else None
        if verdict not in ("real", "fake") or (true_label == verdict) == verdict_correct:
            return
        key = "fb_contradiction_right" if verdict_correct else "fb_contradiction_wrong"
        raise UserError(t(key, verdict=t(f"verdict_{verdict}"), label=t(f"fb_label_{true_label}")), "true_label")

    def feedback(self, form: FeedbackForm, visitor: Visitor) -> tuple[int, bool]:
        """Save (or update) the visitor's feedback; returns (record id, was an update)."""
        record = self._feedback_record(form, visitor)
        self._rate(self.feedback_rate, visitor, count=True)
        a = self.results.get(record.prediction_id)
        image_bytes = a.data if record.consent and a is not None and visitor.owns(a.owner) else None
        try:
            existed = self.store.get_feedback(record.prediction_id, record.client_hash) is not None
            fid = self.store.save_feedback(record, image_bytes=image_bytes)
        except NotFound:
            raise UserError(t("err_not_found")) from None
        except StorageError as exc:
            raise UserError(t("err_storage", error=str(exc))) from None
        return fid, existed

    # ------------------------------------------------------------------ reviewers
    def login_with_token(self, token: str | None, visitor: Visitor) -> Reviewer:
        if not self.config.admin_token:
            raise UserError(t("reviewer_off"))
        # after too many wrong tokens (from this browser or this address), not even a right one
        self._rate(self.login_rate, visitor, count=False, per_address=self.login_address_rate)
        given = (token or "").encode() if isinstance(token, str) else b""
        if not hmac.compare_digest(given, self.config.admin_token.encode()):
            # only failures count: reviewers act often
            self._rate(self.login_rate, visitor, count=True, per_address=self.login_address_rate)
            raise UserError(t("reviewer_bad"))
        return Reviewer("admin", "token")

    def reviewer_for(self, token: Any, username: str | None, visitor: Visitor) -> Reviewer | None:
        """Reviewer rights, derived again for every reviewer action from what the browser holds now:
        the token typed in the Explorer, or the Hugging Face sign-in (a cookie that expires). Never
        from the page's session, whose id travels in URLs and can be replayed by anyone who sees it."""
        if isinstance(token, str) and token:
            return self.login_with_token(token, visitor)
        if username:
            return self.login_with_profile(username)
        return None

    def login_with_profile(self, username: str | None) -> Reviewer | None:
        if not username:
            return None
        allowed = {r.lower() for r in self.config.reviewers}
        if username.lower() not in allowed:
            raise UserError(t("reviewer_not_allowed", name=username))
        return Reviewer(username, "huggingface")

    @staticmethod
    def _require(reviewer: Reviewer | None) -> Reviewer:
        if not isinstance(reviewer, Reviewer):
            raise UserError(t("reviewer_needed"))
        return reviewer

    def review(self, feedback_id: Any, state: str, reviewer: Reviewer | None) -> int:
        who = self._require(reviewer)
        fid = inputs.record_id(feedback_id, "review_no_feedback")
        try:
            self.store.review(fid, state, f"{who.via}:{who.name}")
        except StorageError as exc:
            raise UserError(str(exc)) from None
        return fid

    def export(self, reviewer: Reviewer | None, fmt: str = "fakeclue") -> tuple[Path, int, dict[str, int]]:
        """Accepted, consented feedback as a zip in FakeClue format (reviewers only)."""
        self._require(reviewer)
        from storage.export import export  # noqa: PLC0415

        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = self._export_dir / f"spot-{fmt}-{stamp}-{secrets.token_urlsafe(16)}"  # unguessable: served by path
        try:
            report = export(self.store.export_rows(accepted_only=True), fmt, out)
        except StorageError as exc:
            raise UserError(str(exc)) from None
        archive = out.with_suffix(".zip")
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(out.rglob("*")):
                if p.is_file():
                    z.write(p, p.relative_to(out))
        shutil.rmtree(out, ignore_errors=True)
        return archive, report.records, dict(report.skipped)
