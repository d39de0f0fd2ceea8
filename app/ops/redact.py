"""Masking of personal data in text that leaves the database (logs, audit details).

Mainland mobile numbers keep their first 3 and last 4 digits, ID numbers (身份证号)
their first 6 and last 4 characters: enough for support to tell people apart,
not enough to identify or reach anyone.
"""
from __future__ import annotations

import logging
import re

# An 18-character ID number (17 digits + digit or X) or an 11-digit mobile number,
# not part of a longer run of digits (27-character product codes, timestamps).
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


def mask_phone(phone: str | None) -> str:
    if phone and len(phone) == 11 and phone.isdigit():
        return phone[:3] + "****" + phone[-4:]
    return phone or ""


def mask_id_number(value: str | None) -> str:
    if value and len(value) == 18:
        return value[:6] + "********" + value[-4:]
    return "******" if value else ""


def redact(text: str | None) -> str | None:
    """Mask every ID number and mobile number found in ``text``."""
    if not text:
        return text
    text = _ID_NUMBER.sub(lambda m: m.group(1) + "********" + m.group(2), text)
    return _PHONE.sub(lambda m: m.group(1) + "****" + m.group(2), text)


class RedactingFilter(logging.Filter):
    """Last line of defence: no log record leaves with an ID number or a full phone."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logged as it is
            return True
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
