"""Interface languages (demo/i18n, the one catalog of the main page, classroom and glossary): every
catalog complete, placeholders intact, every key the classroom code uses
present, Chinese really Chinese, language tags read the way browsers send them."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from demo.i18n import EN, LANGUAGES, normalize, tr
from demo.i18n.zh_cn import ZH_CN
from demo.labels import i18n, lab

CODE = Path(__file__).resolve().parents[3] / "demo" / "classroom"
# Values that may stay the same in Chinese: symbols, and names that are not translated.
SAME_OK = {"cls_col_fake"}
VOCAB = {"verdict": ("real", "fake", "undecided", "none"), "guess": ("real", "fake"),
         "truth": ("real", "fake", "unknown"), "source": ("upload", "example", "fakeclue")}


class _Probe(str):
    """A placeholder value that takes any format spec (the main page has e.g. {seconds:.1f})."""

    def __format__(self, spec: str) -> str:
        return "x"


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


def _used_keys() -> tuple[set[str], set[str]]:
    """Keys passed to tr()/lab() in the classroom code (literal ones; f-string families apart)."""
    literal, families = set(), set()
    for path in CODE.glob("*.py"):
        src = path.read_text(encoding="utf-8")
        for m in re.finditer(r"\b(?:tr|lab)\(\s*(f?)([\"'])([^\"']+)\2", src):
            (families if m.group(1) else literal).add(m.group(3))
        literal |= set(re.findall(r"\"(cls_col_[a-z0-9_]+)\"", src))
    return literal, families


@pytest.mark.parametrize("code", sorted(LANGUAGES))
def test_every_catalog_has_every_key_and_placeholder(code):
    _, catalog = LANGUAGES[code]
    assert set(catalog) == set(EN), sorted(set(EN) ^ set(catalog))
    for key, text in catalog.items():
        assert isinstance(text, str) and text.strip(), key
        assert _fields(text) == _fields(EN[key]), key
        text.format(**{f: _Probe("x") for f in _fields(text)})  # well-formed braces


def test_chinese_is_chinese():
    for key, text in ZH_CN.items():
        if key in SAME_OK:
            continue
        assert text != EN[key], f"{key} is not translated"
        assert re.search(r"[\u4e00-\u9fff]", text), f"{key}: {text!r} has no Chinese characters"


def test_every_key_the_code_uses_exists():
    literal, families = _used_keys()
    assert len(literal) > 80
    missing = sorted(k for k in literal if k not in EN)
    assert not missing, missing
    for fam in families:
        prefix = fam.split("{")[0].rstrip("_")
        assert prefix in VOCAB, f"f-string key family {fam!r} has no known vocabulary"
        for value in VOCAB[prefix]:
            assert f"{prefix}_{value}" in EN


def test_browser_side_labels_have_no_placeholders():
    """lab() texts are translated in the browser as they are: a {field} would show literally."""
    for path in CODE.glob("*.py"):
        for key in re.findall(r"\blab\(\s*\"([^\"]+)\"", path.read_text(encoding="utf-8")):
            for code, (_, catalog) in LANGUAGES.items():
                assert not _fields(catalog[key]), (code, key)


@pytest.mark.parametrize("tag,code", [
    ("zh-CN", "zh-CN"), ("zh", "zh-CN"), ("zh-cn", "zh-CN"), ("zh-Hans-CN", "zh-CN"), ("zh-SG", "zh-CN"),
    ("en", "en"), ("en-US", "en"), ("en-GB,en;q=0.9", "en"), ("fr-FR", "en"), ("", "en"), (None, "en"),
    (42, "en"), ("<script>", "en"),
])
def test_language_tags(tag, code):
    assert normalize(tag) == code


def test_tr_formats_falls_back_and_refuses_unknown_keys():
    assert tr("cls_count", "zh-CN", answered=3, joined=5) == "5 名学生中已有 3 名回答了这张图片。"
    assert tr("cls_count", "fr", answered=3, joined=5) == EN["cls_count"].format(answered=3, joined=5)
    assert tr("cls_present_answered", "zh-CN", answered=3, joined=5) == "5 人中已有 3 人作答"
    for lang in LANGUAGES:  # the notice of a new teacher key never prints the key
        assert "tk_x" not in tr("cls_key_new", lang, key="tk_x")
    with pytest.raises(KeyError):
        tr("no_such_key", "en")


def test_gradio_i18n_holds_every_language():
    table = i18n().translations_dict
    assert set(table) == set(LANGUAGES)
    assert table["zh-CN"]["cls_join"] == ZH_CN["cls_join"]
    assert lab("cls_join").key == "cls_join"
    with pytest.raises(KeyError):
        lab("no_such_key")
