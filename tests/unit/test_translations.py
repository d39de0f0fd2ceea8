"""English catalog: complete, in sync with the UI strings, and compilable.

Plain file checks (no app fixture).  When a UI string is added or changed, run
``make translations-update`` and translate the new entries in
``app/translations/en/LC_MESSAGES/messages.po``.
"""
from __future__ import annotations

import io
import os
import re

import pytest
from babel.messages import frontend
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PO_PATH = os.path.join(ROOT, "app", "translations", "en", "LC_MESSAGES", "messages.po")
BABEL_CFG = os.path.join(ROOT, "babel.cfg")

# Same keywords as the Makefile's `pybabel extract -k N_ -k _l -k lazy_gettext`.
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "Msg": None, "_l": None, "lazy_gettext": None}

PLACEHOLDER = re.compile(r"%\([^)]+\)[a-z]|\{[^{}]*\}")


def _load_catalog():
    with open(PO_PATH, "rb") as f:
        return read_po(f, locale="en")


def _msgid(message_id):
    return message_id[0] if isinstance(message_id, (tuple, list)) else message_id


def _entries(catalog):
    return [m for m in catalog if m.id]


def _mapping():
    with open(BABEL_CFG, encoding="utf-8") as f:
        if hasattr(frontend, "parse_mapping_cfg"):  # Babel >= 2.15
            return frontend.parse_mapping_cfg(f, filename=BABEL_CFG)
        return frontend.parse_mapping(f)


def _marked_strings():
    """(msgid, context) -> ["file:line", ...] for every string marked in the source."""
    method_map, options_map = _mapping()
    found: dict[tuple[str, str | None], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS):
        msgid = _msgid(message)
        if msgid:
            found.setdefault((msgid, context), []).append(f"{filename}:{lineno}")
    return found


def test_catalog_exists():
    assert os.path.isfile(PO_PATH), f"missing English catalog {PO_PATH}"


def test_every_entry_is_translated_and_not_fuzzy():
    catalog = _load_catalog()
    entries = _entries(catalog)
    assert entries, "the English catalog has no entries"
    untranslated = [_msgid(m.id) for m in entries
                    if not (all(s.strip() for s in m.string)
                            if isinstance(m.string, (tuple, list)) else m.string.strip())]
    fuzzy = [_msgid(m.id) for m in entries if m.fuzzy]
    assert not untranslated, (
        f"{len(untranslated)} entries without English translation:\n  " + "\n  ".join(untranslated))
    assert not fuzzy, f"{len(fuzzy)} fuzzy entries:\n  " + "\n  ".join(fuzzy)


def test_placeholders_are_kept():
    catalog = _load_catalog()
    broken = []
    for m in _entries(catalog):
        strings = m.string if isinstance(m.string, (tuple, list)) else [m.string]
        expected = sorted(PLACEHOLDER.findall(_msgid(m.id)))
        for s in strings:
            if s and sorted(PLACEHOLDER.findall(s)) != expected:
                broken.append(f"{_msgid(m.id)!r} -> {s!r}")
    assert not broken, "placeholders changed in translation:\n  " + "\n  ".join(broken)


def test_every_marked_ui_string_is_in_catalog():
    catalog = _load_catalog()
    marked = _marked_strings()
    assert marked, "no translatable strings extracted; is babel.cfg correct?"
    missing = [f"{msgid!r} ({', '.join(where[:3])})"
               for (msgid, context), where in sorted(marked.items(), key=lambda kv: kv[1][0])
               if catalog.get(msgid, context=context) is None]
    assert not missing, (
        f"{len(missing)} UI strings are missing from the English catalog; run "
        "`make translations-update` and translate them in "
        "app/translations/en/LC_MESSAGES/messages.po:\n  " + "\n  ".join(missing))


def test_catalog_compiles():
    catalog = _load_catalog()
    buf = io.BytesIO()
    write_mo(buf, catalog)
    assert buf.getvalue()[:4] in (b"\xde\x12\x04\x95", b"\x95\x04\x12\xde")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(pytest.main([__file__, "-q"]))
