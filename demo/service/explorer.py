"""The Explorer: a visitor's own history, or (for reviewers) everyone's feedback, and reopening one.

The verbs of `AppState` (demo/service/state.py) that read the store back. Visitors reach only their
own predictions; reviewers reach all, but see pictures only where their owner consented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from explain.intake import ImageRejected, IntakeLimits, check_image
from explain.types import PhraseMap
from storage import FeedbackFilter, FeedbackOut, PredictionOut, StorageError

from ..i18n import t
from .errors import UserError
from .visitors import Reviewer, Visitor


@dataclass(frozen=True)
class Reopened:
    prediction: PredictionOut
    image: Any  # PIL image or None when the bytes are not kept
    size: tuple[int, int]
    maps: list[PhraseMap]
    feedback: FeedbackOut | None


def _phrase_map_from_out(m) -> PhraseMap:
    return PhraseMap(phrase_index=m.phrase_index, method=m.method,
                     grid=tuple(tuple(float(v) for v in row) for row in m.grid), crop_box=tuple(m.crop_box),
                     score=m.score, reliance=m.reliance, deletion_auc=m.deletion_auc,
                     insertion_auc=m.insertion_auc)




class ExplorerMixin:
    """`AppState`'s verbs for the Explorer tab."""


    # ------------------------------------------------------------------ explorer
    def explorer_rows(self, visitor: Visitor, reviewer: Reviewer | None, *, verdict: str | None = None,
                      disagreement: bool | None = None, category: str | None = None,
                      review_state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Rows for the explorer: a visitor's own predictions (with their feedback), or, for a
        reviewer, everyone's feedback records. Filters are those of storage's FeedbackFilter."""
        try:
            if isinstance(reviewer, Reviewer):
                fbs = self.store.reviewer_list_feedback(FeedbackFilter(
                    verdict=verdict, disagreement=disagreement, category=category,
                    review_state=review_state, limit=limit))
                rows = []
                for fb in fbs:
                    p = self.store.reviewer_get_prediction(fb.prediction_id)
                    if p is not None:
                        rows.append(self._row(p, fb))
                return rows
            preds = self.store.list_predictions(visitor.client_hash, verdict=verdict, limit=limit)
            fbs = {f.prediction_id: f for f in self.store.list_feedback(
                visitor.client_hash, FeedbackFilter(limit=max(limit, 50)))}
        except StorageError as exc:
            raise UserError(str(exc)) from None
        rows = []
        for p in preds:
            fb = fbs.get(p.id)
            if category and (fb is None or fb.category != category):
                continue
            if review_state and (fb is None or fb.review_state != review_state):
                continue
            if disagreement is not None and (fb is not None and self._disputes(p, fb)) != disagreement:
                continue
            rows.append(self._row(p, fb))
        return rows

    @staticmethod
    def _disputes(p: PredictionOut, fb: FeedbackOut) -> bool:
        opposite = fb.true_label in ("real", "fake") and p.verdict in ("real", "fake") and fb.true_label != p.verdict
        return fb.verdict_correct is False or opposite or "disagree" in fb.phrase_votes.values()

    @classmethod
    def _row(cls, p: PredictionOut, fb: FeedbackOut | None) -> dict[str, Any]:
        said = {True: "right", False: "wrong", None: ""}[fb.verdict_correct] if fb else ""
        return {
            "prediction": p.id,
            "feedback": fb.id if fb else None,
            "when": p.created_at.strftime("%Y-%m-%d %H:%M"),
            "verdict": p.verdict,
            "p_fake": None if p.p_fake is None else round(p.p_fake, 3),
            "visitor says": said,
            "true label": (fb.true_label or "") if fb else "",
            "category": (fb.category or "") if fb else "",
            "disputed": bool(fb and cls._disputes(p, fb)),
            "review": fb.review_state if fb else "",
            "explanation": (fb.corrected_explanation if fb and fb.corrected_explanation else p.text)[:160],
        }

    def reopen(self, prediction_id: Any, visitor: Visitor, reviewer: Reviewer | None) -> Reopened:
        """A stored prediction with its maps, its feedback and (when kept, or still in memory for its
        owner) its image. Visitors reach only their own; reviewers reach all."""
        from PIL import Image  # noqa: PLC0415

        pid = self.parse_prediction_id(prediction_id)
        is_rev = isinstance(reviewer, Reviewer)
        try:
            if is_rev:
                p = self.store.reviewer_get_prediction(pid)
                maps = self.store.reviewer_get_maps(pid) if p else []
                fbs = self.store.reviewer_list_feedback(FeedbackFilter(limit=500)) if p else []
                fb = next((f for f in fbs if f.prediction_id == pid), None)
                data = self.store.reviewer_get_image(p.image.sha256) if p else None
            else:
                p = self.store.get_prediction(pid, visitor.client_hash)
                maps = self.store.get_maps(pid, visitor.client_hash) if p else []
                fb = self.store.get_feedback(pid, visitor.client_hash) if p else None
                data = self.store.get_image(p.image.sha256, visitor.client_hash) if p else None
        except StorageError as exc:
            raise UserError(str(exc)) from None
        if p is None:
            raise UserError(t("err_not_found"))
        image = None
        if data is not None:
            try:
                image = check_image(data, IntakeLimits(max_bytes=max(len(data), 1))).image
            except ImageRejected:
                image = None
        if image is None:
            a = self.results.get(pid)
            # only the owner's own picture, from memory: a reviewer sees kept (consented) pictures only
            if a is not None and visitor.owns(a.owner):
                image = a.checked.image
        phrase_maps = [_phrase_map_from_out(m) for m in maps]
        size = (p.image.width or (image.width if image else 336), p.image.height or (image.height if image else 336))
        if image is not None and image.size != size:
            image = image.resize(size, Image.Resampling.BILINEAR)
        return Reopened(p, image, size, phrase_maps, fb)
