"""HTML fragments of the classroom page: join banner, reveal card, class votes, explanation with
clue marks, clue cards, the full glossary.

Pure functions of plain data and a language. Everything that comes from the model, a file, a
teacher or a student is HTML-escaped here, since gr.HTML renders what it is given.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from ..i18n import normalize, tr
from ..i18n.glossary import GLOSSARY, clues_in, entry, group_title
from ..service.classroom import AnswerOut, Tally
from ..service.classroom.handout import marked

CSS = """
/* cards keep their light tints in the dark theme too, so their text stays dark (WCAG AA either way) */
.cls-card { border-radius: 10px; padding: 12px 14px; border: 1px solid #d0d5dd; color: #1d2939; }
.cls-card * { color: #1d2939; }  /* over Gradio's .prose rule, light text in the dark theme */
.cls-card.cls-v-fake { background: #fdf0e6; border-color: #b35806; }
.cls-card.cls-v-real { background: #eef0fa; border-color: #542788; }
.cls-card.cls-v-undecided { background: #f2f4f7; }
.cls-label { font-size: 1.45em; font-weight: 700; }
.cls-v-fake .cls-label { color: #8a4000; }
.cls-v-real .cls-label { color: #3f1d6b; }
.cls-caveat { margin-top: 6px; font-size: 0.85em; color: #475467; }
.cls-code { font-size: 2.6em; font-weight: 800; letter-spacing: 0.18em; font-family: ui-monospace, monospace; }
.cls-banner { border: 2px dashed #4f46e5; border-radius: 12px; padding: 10px 16px; text-align: center; }
.cls-banner .cls-where { color: var(--body-text-color-subdued); }
.cls-votes { margin: 8px 0; }
.cls-bar { display: flex; height: 22px; border-radius: 6px; overflow: hidden; border: 1px solid #d0d5dd; }
.cls-bar span { display: block; height: 100%; color: #fff; font-size: 0.8em; line-height: 22px; text-align: center; }
.cls-bar .cls-real { background: #542788; }
.cls-bar .cls-fake { background: #b35806; }
.cls-truth { font-weight: 700; margin-top: 6px; }
.cls-mine { margin-top: 4px; }
.cls-right { color: #067647; font-weight: 700; }
.cls-wrong { color: #b42318; font-weight: 700; }
.cls-expl { line-height: 1.5; }
.cls-expl mark { color: #1d2939; background: #fdebd8; border-bottom: 2px solid #b35806; padding: 0 2px; border-radius: 3px; }
.cls-clue { border-left: 4px solid #b35806; padding: 4px 10px; margin: 6px 0; }
.cls-clue.cls-file { border-left-color: #98a2b3; }
.cls-clue-title { font-weight: 700; }
.cls-clue-label { font-style: italic; color: var(--body-text-color-subdued); }
.cls-ref { color: var(--body-text-color); border-left: 3px solid #542788; padding-left: 8px; margin-top: 6px; }
.cls-waiting { color: var(--body-text-color-subdued); font-style: italic; }
.cls-present-link { margin-top: 6px; font-size: 1.05em; }
.cls-present { font-size: 1.6em; line-height: 1.4; }
.cls-present-head { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: baseline; gap: 8px 24px; }
.cls-present-title { font-weight: 700; }
.cls-present-join .cls-code { font-size: 1.3em; }
.cls-present-count { font-size: 1.4em; font-weight: 700; margin-bottom: 10px; }
.cls-present-ask { margin: 10px 0; }
.cls-present .cls-label { font-size: 1.6em; }
.cls-present .cls-expl { font-size: 0.8em; margin-top: 10px; }
"""


def join_banner(code: str, url: str, lang: str, *, presenter: bool = False) -> str:
    """The join code for the class; on the teacher's page (`presenter`) also the link to the projector
    view of the session, which opens in a new window (the view that goes on the projector)."""
    link = ""
    if presenter and url.startswith(("http://", "https://")):
        href = f"{url}?{urlencode({'present': code})}"
        link = (f"<div class='cls-present-link'><a id='cls-present-link' href='{escape(href)}' target='_blank' "
                f"rel='noopener'>{escape(tr('cls_present_open', lang))}</a> "
                f"<span class='cls-where'>{escape(tr('cls_present_hint', lang))}</span></div>")
    return (f"<div class='cls-banner' id='cls-banner'><div>{escape(tr('cls_banner_join', lang))}</div>"
            f"<div class='cls-code' id='cls-banner-code' data-code='{escape(code)}'>{escape(code)}</div>"
            f"<div class='cls-where'>{escape(tr('cls_banner_where', lang, url=url))}</div>{link}</div>")


def presenter_head(title: str, code: str, n: int, total: int, url: str, lang: str) -> str:
    """The projector's top line: the lesson, where the class is in it, and how to join."""
    return (f"<div class='cls-present cls-present-head' id='cls-p-title'><div class='cls-present-title'>"
            f"{escape(title)} · {escape(tr('cls_progress_short', lang, n=n, total=total))}</div>"
            f"<div class='cls-present-join'>{escape(tr('cls_banner_join', lang))} "
            f"<span class='cls-code' id='cls-p-code' data-code='{escape(code)}'>{escape(code)}</span>"
            f"<span class='cls-where'> {escape(tr('cls_banner_where', lang, url=url))}</span></div></div>")


def presenter_side(answered: int, joined: int, waiting: bool, closed: bool, reveal: str, expl: str,
                   lang: str) -> str:
    """The projector's side panel: the answers coming in, then the reveal and the explanation."""
    parts = ["<div class='cls-present' id='cls-p-panel'>"]
    parts.append(f"<div class='cls-present-count' id='cls-p-count' data-answered='{answered}' "
                 f"data-joined='{joined}'>{escape(tr('cls_present_answered', lang, answered=answered, joined=joined))}"
                 "</div>")
    if closed:
        parts.append(f"<div class='cls-waiting'>{escape(tr('cls_present_closed', lang))}</div>")
    elif waiting:
        parts.append(f"<div class='cls-present-ask'>{escape(tr('cls_present_waiting', lang))}</div>")
    parts.append(reveal)
    parts.append(expl)
    parts.append("</div>")
    return "".join(parts)


def verdict_label(verdict: str | None, lang: str) -> str:
    return tr(f"verdict_{verdict}", lang) if verdict in ("real", "fake", "undecided") else tr("verdict_none", lang)


def votes_html(tally: Tally | None, lang: str) -> str:
    """How the class voted, as counts and shares: no names, no words."""
    if tally is None or tally.answers == 0:
        return f"<div class='cls-votes' id='cls-votes' data-answers='0'>{escape(tr('cls_votes_none', lang))}</div>"
    n = tally.answers
    real, fake = round(100 * tally.real / n), round(100 * tally.fake / n)
    conf = "" if tally.mean_confidence is None else " " + tr("cls_votes_conf", lang, conf=f"{tally.mean_confidence:.1f}")
    return (f"<div class='cls-votes' id='cls-votes' data-answers='{n}' data-real='{tally.real}' "
            f"data-fake='{tally.fake}'><div>{escape(tr('cls_votes', lang, n=n))}{escape(conf)}</div>"
            f"<div class='cls-bar' role='img' aria-label='{real}% / {fake}%'>"
            f"<span class='cls-real' style='width:{real}%'>{real}%</span>"
            f"<span class='cls-fake' style='width:{fake}%'>{fake}%</span></div>"
            f"<div>{escape(tr('cls_votes_legend', lang, real=tally.real, fake=tally.fake))}</div></div>")


def reveal_card(verdict: str | None, p_fake: float | None, truth: str | None, reference: str | None,
                tally: Tally | None, mine: AnswerOut | None, lang: str, *, streaming: bool = False) -> str:
    """The reveal: the model's verdict, the ground truth when known, the class's votes, and (for a
    student) their own answer against the truth."""
    key = verdict if verdict in ("real", "fake", "undecided") else "undecided"
    parts = [f"<div class='cls-card cls-v-{key}' id='cls-reveal' data-verdict='{escape(verdict or '')}'>"]
    parts.append(f"<div>{escape(tr('cls_model_says', lang))}</div>")
    if verdict is None:
        parts.append(f"<div class='cls-label cls-waiting'>{escape(tr('cls_model_thinking', lang))}</div>")
    else:
        parts.append(f"<div class='cls-label'>{escape(verdict_label(verdict, lang))}</div>")
        if p_fake is not None:
            parts.append(f"<div class='cls-prob'>{escape(tr('cls_p_fake', lang, pct=round(100 * p_fake)))}</div>")
    if streaming:
        parts.append(f"<div class='cls-waiting'>{escape(tr('cls_streaming', lang))}</div>")
    truth_txt = tr(f"truth_{truth}", lang) if truth in ("real", "fake") else tr("truth_unknown", lang)
    parts.append(f"<div class='cls-truth' id='cls-truth' data-truth='{escape(truth or '')}'>"
                 f"{escape(tr('cls_truth', lang))}: {escape(truth_txt)}</div>")
    if mine is not None:
        said = tr(f"guess_{mine.guess}", lang)
        verdict_mark = ""
        if truth in ("real", "fake"):
            ok = mine.guess == truth
            verdict_mark = (f" <span class='{'cls-right' if ok else 'cls-wrong'}'>"
                            f"{escape(tr('cls_you_right' if ok else 'cls_you_wrong', lang))}</span>")
        parts.append(f"<div class='cls-mine' id='cls-mine'>{escape(tr('cls_you_said', lang, guess=said, conf=mine.confidence))}"
                     f"{verdict_mark}</div>")
    parts.append(votes_html(tally, lang))
    if reference:
        parts.append(f"<div class='cls-ref'><b>{escape(tr('cls_reference', lang))}</b> {marked(reference)}</div>")
    parts.append(f"<div class='cls-caveat'>{escape(tr('cls_caveat', lang))}</div></div>")
    return "".join(parts)


def explanation_html(text: str, lang: str) -> str:
    if not text:
        return ""
    return (f"<div class='cls-expl' id='cls-expl'><b>{escape(tr('cls_explanation', lang))}</b> "
            f"{marked(text)}</div>")


def clue_card(key: str, lang: str, *, anchor: bool = False) -> str:
    """One glossary entry; `anchor` gives it the page-wide id `clue-<key>` (the glossary tab's copy)."""
    c = entry(key, lang)
    group = GLOSSARY[key].group
    ident = f" id='clue-{escape(key)}'" if anchor else ""
    return (f"<div class='cls-clue cls-{group}'{ident} data-clue='{escape(key)}'>"
            f"<div class='cls-clue-title'>{escape(c.title)}</div>"
            f"<div><span class='cls-clue-label'>{escape(tr('gl_look_for', lang))}</span> {escape(c.look_for)}</div>"
            f"<div><span class='cls-clue-label'>{escape(tr('gl_why', lang))}</span> {escape(c.why)}</div></div>")


def clue_cards(text: str, lang: str) -> str:
    """The glossary entries a phrase mentions (what a phrase chip links to)."""
    keys = clues_in(text)
    if not keys:
        return f"<div class='cls-clues' data-count='0'>{escape(tr('cls_no_clues', lang))}</div>"
    return (f"<div class='cls-clues' data-count='{len(keys)}'><b>{escape(tr('cls_clues_in_phrase', lang))}</b>"
            + "".join(clue_card(k, lang) for k in keys) + "</div>")


def glossary_html(lang: str) -> str:
    lang = normalize(lang)
    parts = [f"<div class='cls-glossary' id='cls-glossary-list' lang='{escape(lang)}'>"]
    for group in ("pixels", "file"):
        parts.append(f"<h3>{escape(group_title(group, lang))}</h3>")
        parts.extend(clue_card(k, lang, anchor=True) for k, c in GLOSSARY.items() if c.group == group)
    parts.append("</div>")
    return "".join(parts)
