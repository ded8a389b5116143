"""The Explorer for people: its table with named columns and values in words, and a stored feedback
record as a short card instead of raw JSON.

Pure functions of the service's plain rows and records, in the language active for the request
(`demo.i18n.t`). Visitors appear only by a pseudonym (a few characters of their keyed hash); what a
visitor wrote is HTML-escaped and marked as theirs.
"""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from .i18n import EN, t
from .layout import EXPLORER_COLUMNS

PSEUDONYM_CHARS = 8


def percent(p: Any) -> str:
    """0.873 -> "87%"; nothing for a missing probability."""
    try:
        value = float(p)
    except (TypeError, ValueError):
        return ""
    return f"{100 * value:.0f}%" if 0.0 <= value <= 1.0 else ""


def _word(prefix: str, value: Any) -> str:
    """A stored value in words (`prefix_value` in the catalog), or the value itself when unknown."""
    if value in (None, ""):
        return ""
    key = f"{prefix}{value}"
    return t(key) if key in EN else str(value)


def _said(value: Any) -> str:
    return {"right": t("exv_right"), "wrong": t("exv_wrong")}.get(value, "")


def table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The service's explorer rows as the table people read: one column per EXPLORER_COLUMNS entry,
    named in the visitor's language; the first column stays the prediction's number (rows are picked by it)."""
    cells = {
        "verdict": lambda v: _word("verdict_", v),
        "p_fake": percent,
        "visitor says": _said,
        "true label": lambda v: _word("fb_label_", v),
        "category": lambda v: _word("cat_", v),
        "disputed": lambda v: t("exv_yes") if v else t("exv_no"),
        "review": lambda v: _word("exv_review_", v),
    }
    out = [[cells.get(key, _plain)(row.get(key)) for key, _ in EXPLORER_COLUMNS] for row in rows]
    return pd.DataFrame(out, columns=[t(label) for _, label in EXPLORER_COLUMNS])


def _plain(v: Any) -> Any:
    return "" if v is None else v


def pseudonym(client_hash: Any) -> str:
    return str(client_hash or "")[:PSEUDONYM_CHARS] or "?"


def feedback_card(fb: Any) -> str:
    """A stored feedback record (storage's FeedbackOut) as readable HTML; phrases are numbered from 1."""
    if fb is None:
        return f"<div class='spot-fb-card spot-empty' id='ex-feedback-card'>{escape(t('fbv_none'))}</div>"
    lines = [f"<div class='spot-fb-card' id='ex-feedback-card' data-feedback='{int(fb.id)}'>",
             f"<div class='spot-fb-title'><b>{escape(t('fbv_title', id=fb.id, who=pseudonym(fb.client_hash)))}</b></div>",
             "<ul>"]
    if fb.verdict_correct is not None:
        lines.append(f"<li>{escape(t('fbv_right' if fb.verdict_correct else 'fbv_wrong'))}</li>")
    if fb.true_label:
        lines.append(f"<li>{escape(t('fbv_truth', label=_word('fb_label_', fb.true_label)))}</li>")
    votes = dict(fb.phrase_votes or {})
    for vote, key in (("agree", "fbv_agree"), ("disagree", "fbv_disagree")):
        numbers = sorted(int(i) + 1 for i, v in votes.items() if v == vote)
        if numbers:
            lines.append(f"<li>{escape(t(key, phrases=', '.join(map(str, numbers))))}</li>")
    if fb.category:
        lines.append(f"<li>{escape(t('fbv_category', category=_word('cat_', fb.category)))}</li>")
    lines.append(f"<li>{escape(t('fbv_consent_yes' if fb.consent else 'fbv_consent_no'))}</li>")
    state = _word("exv_review_", fb.review_state)
    by = t("fbv_reviewed_by", who=fb.reviewed_by) if fb.reviewed_by else ""
    lines.append(f"<li>{escape(t('fbv_review', state=state) + by)}</li></ul>")
    for text, key in ((fb.corrected_explanation, "fbv_corrected"), (fb.comment, "fbv_comment")):
        if text:
            lines.append(f"<div class='spot-fb-said'><div>{escape(t(key))}</div>"
                         f"<blockquote>{escape(str(text))}</blockquote></div>")
    lines.append("</div>")
    return "".join(lines)
