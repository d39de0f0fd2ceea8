"""Text input hygiene in one place (issue 11 §3).

* Control characters (C0/C1, NUL included), bidirectional overrides and lone
  surrogates are refused with a field message: PostgreSQL refuses NUL outright and
  the others make names look like something they are not.
* Every string column's length is enforced before the database sees the value
  (:func:`install_column_guard`), so SQLite and PostgreSQL refuse the same values with
  the same message instead of PostgreSQL answering 500.
* Numbers: what Unicode NFKC turns into plain ASCII digits (full-width ``１２``,
  superscript ``²``, circled ``①``) is a number; anything else (Arabic-Indic or
  Devanagari digits, ``1e3``, ``1.5`` …) is refused with the field's message.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import String, event, inspect as sa_inspect
from sqlalchemy.orm import Session

from app.i18n import Msg, N_
from app.services.errors import ValidationFailed

# C0 except TAB/LF/CR, DEL, C1, bidi embeddings/overrides/isolates, lone surrogates,
# the BOM and the two non-characters every plane ends with.
_BAD_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
                            "\ud800-\udfff\ufeff\ufffe\uffff]")
_BAD_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                       "\ud800-\udfff\ufeff\ufffe\uffff]")

# What no database column can hold (PostgreSQL refuses NUL; UTF-8 has no lone surrogates).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

CONTROL_MESSAGE = N_("不能包含控制字符等不可见字符")


def has_control(value: Any, multiline: bool = False) -> bool:
    """True when ``value`` is text holding a character no form field accepts."""
    if not isinstance(value, str):
        return False
    return bool((_BAD_MULTILINE if multiline else _BAD_LINE).search(value))


def text_error(value: Any, max_len: int | None = None, multiline: bool = False) -> str | None:
    """The field message for ``value``, or None when it is acceptable text."""
    if not isinstance(value, str):
        return None
    if has_control(value, multiline):
        return CONTROL_MESSAGE
    if max_len is not None and len(value) > max_len:
        return Msg("不能超过%(n)s个字符", n=max_len)
    return None


def scrub(value: Any, max_len: int | None = None) -> Any:
    """Untrusted text made storable as-is (audit entries): bad characters become U+FFFD."""
    if not isinstance(value, str):
        return value
    value = _BAD_MULTILINE.sub("\ufffd", value)
    return value[:max_len] if max_len else value


def plain_digits(value: Any) -> str | None:
    """The ASCII digit string NFKC makes of ``value`` (``"１２"`` → ``"12"``), else None."""
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    if text and text.isascii() and text.isdigit():
        return text
    return None


def to_int(value: Any) -> int | None:
    """An int from text NFKC makes plain (leading ``-`` allowed), else None; never raises."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    negative = text.startswith("-")
    digits = plain_digits(text[1:] if negative else text)
    if digits is None or len(digits) > 18:
        return None
    return -int(digits) if negative else int(digits)


def string_columns(obj) -> list[tuple[str, int | None]]:
    """(attribute key, max length) of the mapped object's string columns."""
    mapper = sa_inspect(type(obj))
    out = []
    for attr in mapper.column_attrs:
        for column in attr.columns:
            if isinstance(column.type, String):
                out.append((attr.key, column.type.length))
                break
    return out


def column_errors(obj) -> dict[str, str]:
    """Field messages for an object about to be written (control characters, lengths)."""
    errors: dict[str, str] = {}
    state = sa_inspect(obj)
    for key, length in string_columns(obj):
        if key in state.unloaded:
            continue
        value = state.dict.get(key)
        if not isinstance(value, str):
            continue
        if length is None or length > 255:
            # long text (remarks, JSON, logs): only what cannot be stored at all
            if _UNSTORABLE.search(value):
                errors[key] = CONTROL_MESSAGE
            elif length is not None and len(value) > length:
                errors[key] = Msg("不能超过%(n)s个字符", n=length)
            continue
        message = text_error(value, length)
        if message:
            errors[key] = message
    return errors


_installed = False


def install_column_guard() -> None:
    """Check every new or changed row's strings before each flush (both databases)."""
    global _installed
    if _installed:
        return
    _installed = True

    @event.listens_for(Session, "before_flush")
    def _guard(session, flush_context, instances):
        errors: dict[str, str] = {}
        for obj in list(session.new) + list(session.dirty):
            try:
                errors.update(column_errors(obj))
            except Exception:  # an unmapped or odd object: leave it to the database
                continue
        if errors:
            raise ValidationFailed(errors)
