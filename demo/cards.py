"""Small HTML fragments: the verdict card, the evidence panel, the model banner.

Pure functions of plain data; every piece of text that comes from the model, a file's metadata or
a visitor is HTML-escaped here, since Gradio's gr.HTML renders what it is given.
"""

from __future__ import annotations

from html import escape
from typing import Any

from .i18n import EN, t
from .service import PROVENANCE_GLOSSARY as _GLOSSARY
from .service import is_uncertain

_VERDICT_CLASS = {"fake": "fake", "real": "real", "undecided": "undecided"}


def verdict_card(verdict: str | None, p_fake: float | None, *, pending: bool = False) -> str:
    """The card beside the explanation: the label, the model's own probability, the uncertain band."""
    if verdict is None:
        if not pending:
            return "<div class='spot-card spot-empty' id='spot-verdict'></div>"
        return ("<div class='spot-card spot-pending' id='spot-verdict'>"
                f"<div class='spot-label'>{escape(t('status_thinking'))}</div></div>")
    key = _VERDICT_CLASS.get(verdict, "undecided")
    label = t(f"verdict_label_{key}")
    parts = [f"<div class='spot-card spot-{key}' id='spot-verdict' data-verdict='{key}'>",
             f"<div class='spot-label'>{escape(label)}</div>"]
    if p_fake is not None:
        pct = f"{100 * p_fake:.0f}%"
        parts.append(f"<div class='spot-prob'>{t('verdict_prob', pct=escape(pct))}</div>")
        # the bar repeats the sentence above it, so screen readers skip it
        parts.append(f"<div class='spot-meter' aria-hidden='true'>"
                     f"<span style='width:{100 * p_fake:.1f}%'></span></div>")
    else:
        parts.append(f"<div class='spot-prob'>{escape(t('verdict_prob_missing'))}</div>")
    if is_uncertain(p_fake):
        parts.append(f"<div class='spot-uncertain' data-uncertain='1'>{escape(t('verdict_uncertain'))}</div>")
    if key == "undecided":
        parts.append(f"<div class='spot-note'>{escape(t('verdict_undecided_note'))}</div>")
    parts.append(f"<div class='spot-caveat'>{escape(t('verdict_caveat'))}</div></div>")
    return "".join(parts)


def evidence_panel(provenance: dict[str, Any] | None) -> str:
    """Provenance findings, strongest first, each with its strength and one-line meaning.

    Deliberately without any summary or score: this is context next to the model, never a
    second verdict.
    """
    if provenance is None:
        return ""
    findings = provenance.get("findings") or []
    rows = [f"<div class='spot-evidence' id='spot-evidence'><div class='spot-ev-title'>"
            f"{escape(t('evidence_title'))}</div><div class='spot-ev-intro'>{escape(t('evidence_intro'))}</div>"]
    if not findings:
        rows.append(f"<div class='spot-ev-none'>{escape(t('evidence_none'))}</div>")
    rows.append("<ul>")
    for f in findings:
        strength = str(f.get("strength", "info"))
        points = str(f.get("points_to", "none"))
        strength_txt = t(f"strength_{strength}") if f"strength_{strength}" in EN else strength
        points_txt = t(f"points_{points}") if f"points_{points}" in EN else ""
        badge = f"<span class='spot-strength spot-s-{escape(strength)}'>{escape(strength_txt)}</span>"
        direction = f" <span class='spot-points'>{escape(points_txt)}</span>" if points_txt else ""
        about = _GLOSSARY.get(str(f.get("kind")), {}).get("text")
        more = (f"<details class='spot-what'><summary>{escape(t('evidence_what'))}</summary>{escape(about)}</details>"
                if about else "")
        rows.append(f"<li>{badge} <b>{escape(str(f.get('title', '')))}</b>{direction}"
                    f"<div class='spot-meaning'>{escape(str(f.get('meaning', '')))}</div>{more}</li>")
    rows.append("</ul>")
    errors = provenance.get("errors") or []
    if errors:
        rows.append(f"<div class='spot-ev-errors'>{escape(t('evidence_errors', errors='; '.join(map(str, errors))))}</div>")
    rows.append("</div>")
    return "".join(rows)


def model_banner(model_id: str, revision: str | None, license_text: str, notice: str | None) -> str:
    """Markdown: which model answers, its licence, and (toy model) the plain warning.

    The warning is one short line that opens onto the full notice: on a phone the whole notice
    would fill the first screen.
    """
    rev = f" @ `{revision}`" if revision else ""
    line = t("model_line", model=model_id, revision=rev, license=license_text)
    if notice:
        return (f"<details class='spot-notice'><summary>{escape(t('toy_banner_short'))}</summary>\n\n"
                f"{t('toy_banner', notice=notice)}\n\n</details>\n\n{line}")
    return line
