"""Untrusted values from the page or the API, checked before any work is done.

Anyone can call the named endpoints with any JSON: a string where a flag belongs, 2**63 as an id,
"x" or 1e308 as an opacity, a list where text belongs. Each function here either returns a value of
the right type and range or raises `UserError` with a sentence naming the field, never an empty
error and never a server fault.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..i18n import t
from .errors import UserError

MAX_ID = 2**63 - 1  # the largest id the databases store (BIGINT); beyond it SQLite raises OverflowError
MAX_INDEX = 10_000  # phrase numbers: an answer has at most a few dozen phrases
_TRUE = {"true", "yes", "on", "1", "y", "t"}
_FALSE = {"false", "no", "off", "0", "n", "f", ""}


def _refuse(field: str, value: Any) -> UserError:
    shown = repr(value) if not isinstance(value, str) else value
    return UserError(t("err_bad_value", field=field, value=shown[:60]))


def flag(value: Any, field: str) -> bool:
    """A yes/no answer: a boolean, 0/1, or the words true/false (yes/no); anything else is refused,
    so that a "false" sent as text never reads as consent."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise _refuse(field, value)


def record_id(value: Any, missing: str) -> int:
    """A stored record's number (a "#" in front is fine); `missing` is the catalog key said when
    there is none."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict, tuple)):
        raise UserError(t(missing))
    if isinstance(value, float):
        if not value.is_integer():
            raise UserError(t(missing))
        value = int(value)
    try:
        number = int(str(value).strip().lstrip("#"))
    except (TypeError, ValueError):
        raise UserError(t(missing)) from None
    if not 0 < number <= MAX_ID:
        raise UserError(t(missing))
    return number


def fraction(value: Any, field: str, default: float) -> float:
    """A number from 0 to 1 (opacity); empty means the default."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise _refuse(field, value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _refuse(field, value) from None
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise _refuse(field, value)
    return number


def text(value: Any, field: str) -> str | None:
    """Free text or nothing (its length is checked by the store, which knows each field's limit)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _refuse(field, value)
    return value


def choice(value: Any, allowed: Sequence[str], field: str) -> str | None:
    """One of `allowed`, or nothing."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value not in allowed:
        raise UserError(t("fb_bad_choice", value=str(value)[:60], field=field))
    return value


def indices(values: Any) -> list[int]:
    """Phrase numbers: a list of whole numbers from 0."""
    if values is None or values == "":
        return []
    if not isinstance(values, (list, tuple)):
        raise UserError(t("fb_bad_phrase", index=str(values)[:60]))
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, str)):
            raise UserError(t("fb_bad_phrase", index=str(v)[:60]))
        try:
            i = int(v)
        except (TypeError, ValueError):
            raise UserError(t("fb_bad_phrase", index=str(v)[:60])) from None
        if not 0 <= i <= MAX_INDEX:
            raise UserError(t("fb_bad_phrase", index=v))
        out.append(i)
    return out
