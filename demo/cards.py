"""Small HTML fragments: the verdict card, the evidence panel, the model banner, the phrase chips.

Pure functions of plain data, in the language active for the request (`demo.i18n.t`); every piece
of text that comes from the model, a file's metadata or a visitor is HTML-escaped here, since
Gradio's gr.HTML renders what it is given. The model's words and the file's own data stay in
English and are marked `lang="en"`, so screen readers pronounce them as English.
"""

from __future__ import annotations

from html import escape
from typing import Any

from .i18n import EN, current, t
from .i18n.glossary import GLOSSARY, clues_in, entry
from .service import is_uncertain

MAX_CHIP_CLUES = 2  # more names than that make a chip hard to read

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
    pct = None if p_fake is None else f"{100 * p_fake:.0f}%"
    prob = t("verdict_meter_aria", pct=pct) if pct else t("verdict_prob_missing")
    parts = [f"<div class='spot-card spot-{key}' id='spot-verdict' data-verdict='{key}' role='group' "
             f"aria-label='{escape(t('verdict_aria', label=label, prob=prob))}'>",
             f"<div class='spot-label'>{escape(label)}</div>"]
    if pct is not None:
        parts.append(f"<div class='spot-prob'>{t('verdict_prob', pct=escape(pct))}</div>")
        parts.append(f"<div class='spot-meter' role='img' aria-label='{escape(prob)}'>"
                     f"<span style='width:{100 * p_fake:.1f}%'></span></div>")
    else:
        parts.append(f"<div class='spot-prob'>{escape(prob)}</div>")
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
        kind = str(f.get("kind"))
        clue = entry(kind, current()) if kind in GLOSSARY else None
        more = (f"<details class='spot-what'><summary>{escape(t('evidence_what'))}</summary>{escape(clue.why)}</details>"
                if clue else "")
        title = escape(str(f.get("title", "")))
        said = f"<span lang='en'>{title}</span>: " if clue and clue.lang != "en" else ""
        if clue and clue.lang != "en":  # the finding's own sentence is English: say so, then show it
            title = escape(clue.title)
            said = f"<span class='spot-as-read'>{escape(t('evidence_as_read'))}</span> {said}"
        rows.append(f"<li>{badge} <b>{title}</b>{direction}"
                    f"<div class='spot-meaning'>{said}<span lang='en'>{escape(str(f.get('meaning', '')))}</span>"
                    f"</div>{more}</li>")
    rows.append("</ul>")
    errors = provenance.get("errors") or []
    if errors:
        rows.append(f"<div class='spot-ev-errors'>{escape(t('evidence_errors', errors='; '.join(map(str, errors))))}</div>")
    rows.append("</div>")
    return "".join(rows)


def model_banner(model_id: str, revision: str | None, license_text: str, notice: str | None) -> str:
    """Markdown: which model answers, its licence, and (toy model) the plain warning."""
    rev = f" @ `{revision}`" if revision else ""
    line = t("model_line", model=model_id, revision=rev, license=license_text)
    if notice:
        # the toy model's warning is the catalog's English word for word, so it can be translated here
        notice = notice.replace(EN["toy_warning"], t("toy_warning"))
        # one short line that opens onto the full notice: on a phone the whole notice fills the first screen
        return (f"<details class='spot-notice'><summary>{escape(t('toy_banner_short'))}</summary>\n\n"
                f"{t('toy_banner', notice=notice)}\n\n</details>\n\n{line}")
    return line


def chip_label(text: str, *, prior: bool = False) -> str:
    """A phrase chip: the model's words as written, then the glossary names of the clues they name
    (in the visitor's language), then the language-prior mark."""
    lang = current()
    names = [entry(k, lang).title for k in clues_in(text)[:MAX_CHIP_CLUES] if k in GLOSSARY]
    sep = "、" if lang.startswith("zh") else ", "  # Chinese lists names with the enumeration comma
    label = t("chip_clues", text=text, clues=sep.join(names)) if names else text
    return t("chip_prior", text=label) if prior else label
