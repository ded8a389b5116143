"""The clue glossary's entries as the UI shows them, in a language (Gradio-free).

Which clues exist, their group and the patterns that find them in a text are explain.glossary's
(`CLUES`, `clues_in`, `clue_spans`, `TOY_KIND_CLUES`); their texts are in the message catalog
(demo/i18n): `gl_<key>_title`, `gl_<key>_look_for`, `gl_<key>_why`, and `gl_group_<group>` for the
two groups. A new language translates those keys in its catalog like any other; nothing to add here.
"""

from __future__ import annotations

from dataclasses import dataclass

from explain.glossary import CLUES, Group, clue_spans, clues_in  # noqa: F401 - handed on to the pages

from . import DEFAULT, EN, LANGUAGES, normalize, tr

_FIELDS = ("title", "look_for", "why")


@dataclass(frozen=True)
class Clue:
    """One glossary entry, in English. `patterns` are case-insensitive regular expressions."""

    key: str
    group: Group  # "pixels": seen in the picture; "file": read from the file's data
    title: str
    look_for: str
    why: str
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class ClueText:
    """An entry's text in one language."""

    key: str
    title: str
    look_for: str
    why: str
    lang: str


def _key(clue: str, field: str) -> str:
    return f"gl_{clue}_{field}"


GLOSSARY: dict[str, Clue] = {
    key: Clue(key, c.group, *(EN[_key(key, f)] for f in _FIELDS), c.patterns) for key, c in CLUES.items()
}

# Every other language's (title, look for, why) of each entry its catalog translates (a view of the
# catalogs, for checks).
TRANSLATIONS: dict[str, dict[str, tuple[str, str, str]]] = {
    code: {key: (catalog[_key(key, "title")], catalog[_key(key, "look_for")], catalog[_key(key, "why")])
           for key in GLOSSARY if all(_key(key, f) in catalog for f in _FIELDS)}
    for code, (_, catalog) in LANGUAGES.items() if code != DEFAULT
}


def entry(key: str, lang: str = DEFAULT) -> ClueText:
    """The text of glossary entry `key` in `lang` (English when not translated). KeyError if unknown."""
    if key not in GLOSSARY:
        raise KeyError(key)
    code = normalize(lang)
    if _key(key, "title") not in LANGUAGES[code][1]:
        code = DEFAULT
    return ClueText(key, *(tr(_key(key, f), code) for f in _FIELDS), code)


def group_title(group: str, lang: str = DEFAULT) -> str:
    """The heading of a group of entries ("pixels" or "file") in `lang`."""
    return tr(f"gl_group_{group}", lang)
