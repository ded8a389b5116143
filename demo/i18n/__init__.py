"""The one message catalog of the UI: every text of the main page, the classroom and the clue
glossary, in every language, used three ways.

- In the browser: demo/labels.py hands every catalog to Gradio (`launch(i18n=i18n())`), and static
  labels are written as `lab("key")`; Gradio translates them in the page, following the browser's
  language or the one picked in the page (or in Gradio's Settings panel).
- On the server: `tr("key", lang, **values)` for text that handlers make (messages, cards), in the
  language the page reports with each event (the classroom passes it along explicitly).
- `t("key", **values)`: the text in the language active for the current request. The main page's
  handlers activate the visitor's language for the length of one call (`using(lang)`, as Django's
  `translation.override` does), so the service's messages and the page's cards follow it without
  every function passing a language along; outside such a call it is English.

Which language a request wants: `pick(choice, accept_language)` (the page's own choice, kept in the
`spot-lang` cookie, first; then the browser's Accept-Language by preference; then English), and
`request_language(request)` reads both from a web request (duck-typed, no gradio here).

Files: en.py + en_glossary.py hold `EN`, the reference catalog; zh_cn.py + zh_cn_glossary.py hold
`ZH_CN`. Nothing here imports gradio: the catalog serves the Gradio-free application layer too.

To add a language: write `demo/i18n/<code>.py` with a dict holding every key of `en.EN` (same
placeholders; the glossary's `gl_` keys included), and add it to `LANGUAGES` with its BCP 47 code as
Gradio spells it (e.g. "fr", "pt-BR", "zh-TW"). tests/demo/classroom/test_i18n.py checks that every
catalog is complete.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from .en import EN
from .zh_cn import ZH_CN

DEFAULT = "en"
# code -> (name shown in the switch, catalog); codes as Gradio's frontend names its locales
LANGUAGES: dict[str, tuple[str, dict[str, str]]] = {
    "en": ("English", EN),
    "zh-CN": ("简体中文", ZH_CN),
}
ALIASES = {"zh": "zh-CN", "zh-cn": "zh-CN", "zh-hans": "zh-CN", "zh-sg": "zh-CN", "zh-hans-cn": "zh-CN"}


def normalize(lang: Any) -> str:
    """A language tag as browsers send it ("zh-CN", "zh", "en-US", "zh-Hans-CN") -> a code of LANGUAGES."""
    if not isinstance(lang, str) or not lang.strip():
        return DEFAULT
    tag = lang.strip().split(",")[0].split(";")[0].strip()
    if tag in LANGUAGES:
        return tag
    low = tag.lower()
    if low in ALIASES:
        return ALIASES[low]
    for code in LANGUAGES:
        if code.lower() == low:
            return code
    base = low.split("-")[0]
    if base in LANGUAGES:
        return base
    return ALIASES.get(base, DEFAULT)


def tr(key: str, lang: Any = None, /, **values: Any) -> str:
    """The text for `key` in `lang` (None: the language active now, see `using`; English when the
    language lacks the key), formatted with `values`."""
    table = LANGUAGES.get(normalize(_ACTIVE.get() if lang is None else lang), LANGUAGES[DEFAULT])[1]
    text = table.get(key)
    if text is None:
        text = EN[key]  # a KeyError here is a bug: every key must be in the English catalog
    return text.format(**values) if values else text


LANG_COOKIE = "spot-lang"  # the page's language choice; the page's script keeps it equal to what it shows
_ACTIVE: ContextVar[str] = ContextVar("spot_language", default=DEFAULT)


def t(key: str, /, **values: Any) -> str:
    """The text for `key` in the language active now (see `using`), formatted with `values`."""
    return tr(key, _ACTIVE.get(), **values)


def current() -> str:
    """The language active now: the visitor's inside a main-page handler, else English."""
    return _ACTIVE.get()


@contextmanager
def using(lang: Any) -> Iterator[str]:
    """Make `lang` (any tag, normalized) the language of `t` in this context until the block ends."""
    token = _ACTIVE.set(normalize(lang))
    try:
        yield _ACTIVE.get()
    finally:
        _ACTIVE.reset(token)


def supported(tag: Any) -> str | None:
    """The code of LANGUAGES a language tag names, or None when it names none (unlike `normalize`,
    which falls back to English)."""
    if not isinstance(tag, str) or not tag.strip() or len(tag) > 35:
        return None
    code = normalize(tag)
    if code != DEFAULT:
        return code
    base = tag.strip().split(",")[0].split(";")[0].strip().lower().split("-")[0]
    return DEFAULT if base == DEFAULT else None


def accepted(header: Any) -> list[str]:
    """The languages of an Accept-Language header, most wanted first (q-values, then order);
    "*" and q=0 entries dropped. Malformed parts are skipped, never an error."""
    if not isinstance(header, str):
        return []
    ranked = []
    for i, part in enumerate(header[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = -1.0
        if tag.strip() and tag.strip() != "*" and 0.0 < q <= 1.0:
            ranked.append((-q, i, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def pick(choice: Any = None, accept_language: Any = None) -> str:
    """The language for a request: the page's choice when it is one we have, else the first language
    of the browser's Accept-Language we have, else English."""
    code = supported(choice)
    if code is not None:
        return code
    for tag in accepted(accept_language):
        code = supported(tag)
        if code is not None:
            return code
    return DEFAULT


def request_language(request: Any) -> str:
    """`pick` over a web request's `spot-lang` cookie and Accept-Language header (None: English)."""
    cookies = getattr(request, "cookies", None)
    headers = getattr(request, "headers", None)
    choice = cookies.get(LANG_COOKIE) if hasattr(cookies, "get") else None
    header = headers.get("accept-language") if hasattr(headers, "get") else None
    return pick(choice, header)
