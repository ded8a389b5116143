"""The one message catalog of the UI: every text of the main page, the classroom and the clue
glossary, in every language, used three ways.

- In the browser: demo/labels.py hands every catalog to Gradio (`launch(i18n=i18n())`), and static
  labels are written as `lab("key")`; Gradio translates them in the page, following the browser's
  language or the one picked in the page (or in Gradio's Settings panel).
- On the server: `tr("key", lang, **values)` for text that handlers make (messages, cards), in the
  language the page reports with each event.
- `t("key", **values)`: the English text, for the main page (English only for now).

Files: en.py + en_glossary.py hold `EN`, the reference catalog; zh_cn.py + zh_cn_glossary.py hold
`ZH_CN`. Nothing here imports gradio: the catalog serves the Gradio-free application layer too.

To add a language: write `demo/i18n/<code>.py` with a dict holding every key of `en.EN` (same
placeholders; the glossary's `gl_` keys included), and add it to `LANGUAGES` with its BCP 47 code as
Gradio spells it (e.g. "fr", "pt-BR", "zh-TW"). tests/demo/classroom/test_i18n.py checks that every
catalog is complete.
"""

from __future__ import annotations

from typing import Any

from .en import EN
from .zh_cn import ZH_CN

DEFAULT = "en"
# code -> (name shown in the switch, catalog); codes as Gradio's frontend names its locales
LANGUAGES: dict[str, tuple[str, dict[str, str]]] = {
    "en": ("English", EN),
    "zh-CN": ("简体中文", ZH_CN),
}
_ALIASES = {"zh": "zh-CN", "zh-cn": "zh-CN", "zh-hans": "zh-CN", "zh-sg": "zh-CN", "zh-hans-cn": "zh-CN"}


def normalize(lang: Any) -> str:
    """A language tag as browsers send it ("zh-CN", "zh", "en-US", "zh-Hans-CN") -> a code of LANGUAGES."""
    if not isinstance(lang, str) or not lang.strip():
        return DEFAULT
    tag = lang.strip().split(",")[0].split(";")[0].strip()
    if tag in LANGUAGES:
        return tag
    low = tag.lower()
    if low in _ALIASES:
        return _ALIASES[low]
    for code in LANGUAGES:
        if code.lower() == low:
            return code
    base = low.split("-")[0]
    if base in LANGUAGES:
        return base
    return _ALIASES.get(base, DEFAULT)


def tr(key: str, lang: Any = DEFAULT, /, **values: Any) -> str:
    """The text for `key` in `lang` (English when the language lacks it), formatted with `values`."""
    table = LANGUAGES.get(normalize(lang), LANGUAGES[DEFAULT])[1]
    text = table.get(key)
    if text is None:
        text = EN[key]  # a KeyError here is a bug: every key must be in the English catalog
    return text.format(**values) if values else text


def t(key: str, /, **values: Any) -> str:
    """The English text for `key`, formatted with `values` (the main page's texts)."""
    return tr(key, DEFAULT, **values)
