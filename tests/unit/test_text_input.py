"""Text input hygiene (issue 11 §3): control characters, lengths, Unicode digits."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, DictionaryEntry
from app.services import audit
from app.services.errors import ValidationFailed
from app.services.text import has_control, plain_digits, scrub, text_error, to_int


@pytest.mark.parametrize("value", ["a\x00b", "\x07", "x\x1by", "a\x7f", "\x85", "\u202etxt.exe", "\u2066x",
                                   "\ud800", "\ufeffx", "line\nbreak", "tab\there"])
def test_control_characters_are_refused_in_a_line(value):
    assert has_control(value)
    assert text_error(value) == "不能包含控制字符等不可见字符"


@pytest.mark.parametrize("value", ["广东示范医疗器械有限公司", "Medtronic Inc.", "Ａ１２", "😀", "x-y_z (1)", "",
                                   "\u200f阿拉伯"])
def test_ordinary_text_passes(value):
    assert text_error(value) is None


def test_multiline_text_keeps_newlines_and_tabs_but_not_nul():
    assert not has_control("第一行\n第二行\r\n\t缩进", multiline=True)
    assert has_control("a\x00", multiline=True)


def test_length_is_a_field_message():
    assert text_error("x" * 20, 20) is None
    assert str(text_error("x" * 21, 20)) == "不能超过20个字符"


@pytest.mark.parametrize("value, expected", [("12", 12), ("１２", 12), (" 7 ", 7), ("-3", -3), ("－3", -3),
                                             (5, 5), ("²", 2), ("①", 1), ("٣", None), ("१२", None),
                                             ("1.5", None), ("", None), ("1e3", None), (True, None),
                                             ("9" * 40, None), (None, None)])
def test_numbers_are_what_nfkc_makes_plain(value, expected):
    assert to_int(value) == expected


def test_plain_digits():
    assert plain_digits("０１２") == "012"
    assert plain_digits("¹²") == "12"  # NFKC makes superscripts plain
    assert plain_digits("٣") is None  # Arabic-Indic digits stay what they are


def test_audit_scrubs_untrusted_text():
    assert scrub("a\x00b") == "a\ufffdb"
    audit.record("login_failed", username="x\x00" * 100, detail="y\x00")
    db.session.commit()
    entry = db.session.scalar(select(AuditLog))
    assert "\x00" not in entry.username and len(entry.username) <= 128 and entry.detail == "y\ufffd"


def test_the_column_guard_refuses_what_either_database_would_store_differently():
    """Same rule on SQLite and PostgreSQL: too long or NUL never reaches the database."""
    entry = DictionaryEntry(category="measure_unit", name="x" * 200, sort_order=99, active=True)
    db.session.add(entry)
    with pytest.raises(ValidationFailed) as caught:
        db.session.flush()
    assert "name" in caught.value.errors and "不能超过" in str(caught.value.errors["name"])
    db.session.rollback()
    db.session.add(DictionaryEntry(category="measure_unit", name="a\x00b", sort_order=99, active=True))
    with pytest.raises(ValidationFailed) as caught:
        db.session.flush()
    assert caught.value.errors["name"] == "不能包含控制字符等不可见字符"
    db.session.rollback()
    assert db.session.scalar(select(func.count(DictionaryEntry.id)).where(DictionaryEntry.sort_order == 99)) == 0
