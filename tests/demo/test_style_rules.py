"""The page's own CSS and scripts, read as files: rules that a browser check would only catch in one
theme or at one size."""

from __future__ import annotations

import re

from demo.service import AppConfig
from demo.ui import KEYBOARD, STYLE, launch_options


def _rules(css: str) -> list[tuple[str, str]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return [(sel.strip(), body) for sel, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css)]


def test_dark_rules_have_one_selector_each():
    # Gradio scopes custom CSS by rewriting each selector, and mangles the second of `.dark A, .dark B`
    # into `... .contain .dark B`, which matches nothing: the dark colours silently stay light
    lists = [sel for sel, _ in _rules(STYLE.read_text()) if ".dark" in sel and "," in sel]
    assert not lists, f"split these into one rule per selector: {lists}"


def test_phrase_chips_stay_reachable_by_keyboard():
    # display:none (or visibility:hidden) takes the radio out of the Tab order and away from screen readers
    for sel, body in _rules(STYLE.read_text()):
        if "spot-chips" in sel and "radio" in sel:
            assert not re.search(r"display\s*:\s*none|visibility\s*:\s*hidden", body), (sel, body)


def test_the_page_loads_the_keyboard_script():
    head = launch_options(AppConfig())["head"]
    assert KEYBOARD.read_text(encoding="utf-8").strip() in head and head.startswith("<script>")
