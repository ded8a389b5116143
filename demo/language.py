"""The main page's language: which one a visitor sees, and how the page changes it.

One mechanism, three parts:

- The browser decides. Gradio shows its own texts and every `lab(key)` label in the language of the
  browser (`navigator.language`) or the one picked in its Settings panel or in our switch; `LOAD_JS`
  re-applies the switch's last choice (localStorage, shared with the classroom page) and writes
  the language the page shows into the `spot-lang` cookie, which travels with every event.
- The server follows. `localized` wraps a handler so that, for that call, `demo.i18n.t` speaks the
  request's language (`demo.i18n.request_language`: the cookie, else Accept-Language, so API
  clients choose with that header). Handlers stay as they were; the service's messages follow too.
- A change redraws. When the page's language changes, a hidden button is clicked, and its event
  re-sends every translated label (Gradio translates them when they arrive) and redraws the texts
  the server made.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr
from gradio.i18n import I18nData

from .i18n import ALIASES, LANG_COOKIE, LANGUAGES, request_language, using

# Every language the page offers, and the tags a browser may say for them (for navigator.languages).
_CODES = json.dumps({**{c.lower(): c for c in LANGUAGES}, **ALIASES})

# Runs before the page's first event is sent. `__spotSetLang` changes Gradio's own locale (its core
# module, already loaded, exports changeLocale), remembers the choice, and sets the cookie at once,
# so the event that follows already speaks the new language.
LOAD_JS = """async (...args) => {
  const codes = __CODES__;
  const cookie = (lang) => {
    const https = window.location.protocol === 'https:';
    document.cookie = '__COOKIE__=' + encodeURIComponent(lang) + '; path=/; max-age=31536000; '
      + (https ? 'SameSite=None; Secure; Partitioned' : 'SameSite=Lax');
  };
  const core = async () => {
    const url = performance.getEntriesByType('resource').map((e) => e.name)
      .find((n) => /\\/core-[^/]+\\.js$/.test(n));
    return url ? await import(url) : null;
  };
  window.__spotSetLang = async (want) => {
    cookie(want);
    try { localStorage.setItem('spot-lang', want); } catch (e) {}
    try { const m = await core(); if (m && m.changeLocale) m.changeLocale(want); } catch (e) { console.warn(e); }
  };
  const known = (tag) => {
    const low = String(tag || '').toLowerCase();
    return codes[low] || codes[low.split('-')[0]] || null;
  };
  let want = null;
  try { want = known(localStorage.getItem('spot-lang')); } catch (e) {}
  // first visit: the browser's most wanted language we have (Gradio matches only exact tags)
  if (!want) want = (navigator.languages || [navigator.language]).map(known).find(Boolean) || null;
  const shown = document.documentElement.lang || 'en';
  if (want && want !== shown) await window.__spotSetLang(want); else cookie(known(shown) || 'en');
  if (!window.__spotPageLangObserver) {
    window.__spotPageLangObserver = new MutationObserver(() => {
      cookie(known(document.documentElement.lang) || 'en');
      const b = document.querySelector('#spot-lang-refresh');
      if (b) b.click();
    });
    window.__spotPageLangObserver.observe(document.documentElement, {attributes: true, attributeFilter: ['lang']});
  }
  return args;
}""".replace("__CODES__", _CODES).replace("__COOKIE__", LANG_COOKIE)

SWITCH_JS = "(want) => { if (want && window.__spotSetLang) window.__spotSetLang(want); return want; }"


def switch() -> gr.Radio:
    """The visible switch: each language named in itself."""
    return gr.Radio([(name, code) for code, (name, _) in LANGUAGES.items()], value=None, show_label=False,
                    container=False, elem_id="spot-lang-switch", elem_classes=["spot-lang-switch"],
                    scale=0, min_width=200)


def localized(fn: Callable) -> Callable:
    """Run a handler (plain or generator) in the language of its `request` argument.

    A generator is resumed in a fresh copy of the event loop's context at every step (Gradio runs
    each step in a worker thread), so the language is set again around each step."""
    sig = inspect.signature(fn)

    def lang_of(args: tuple, kwargs: dict) -> str:
        try:
            bound = sig.bind_partial(*args, **kwargs)
        except TypeError:
            return request_language(None)
        return request_language(bound.arguments.get("request"))

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*args: Any, **kwargs: Any) -> Iterator[Any]:
            lang = lang_of(args, kwargs)
            with using(lang):
                inner = fn(*args, **kwargs)
            while True:
                with using(lang):
                    try:
                        item = next(inner)
                    except StopIteration:
                        return
                yield item
        return gen

    @functools.wraps(fn)
    def plain(*args: Any, **kwargs: Any) -> Any:
        with using(lang_of(args, kwargs)):
            return fn(*args, **kwargs)
    return plain


_I18N_PROPS = ("label", "info", "placeholder", "value", "choices", "main_page_name")


def _is_i18n(v: Any) -> bool:
    return isinstance(v, I18nData) or (isinstance(v, str) and v.startswith("__i18n__"))


def i18n_props(block: Any) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(component, {prop: i18n value}) for every component under `block` with translated props.

    Gradio translates i18n props when it receives them; after the page's language changes at run
    time, sending them again is what makes the browser show them in the new language."""
    props = {}
    for name in _I18N_PROPS:
        v = getattr(block, name, None)
        if _is_i18n(v) or (name == "choices" and isinstance(v, list) and any(
                _is_i18n(c[0] if isinstance(c, tuple) else c) for c in v)):
            props[name] = v
    if props and not isinstance(block, (gr.State, gr.BrowserState)):
        yield block, props
    for child in getattr(block, "children", None) or ():
        yield from i18n_props(child)
