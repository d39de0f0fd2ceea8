"""The qualification side's window on the national code data.

Qualification records refer to national certificates by number; these
functions are the only place that knows how the national tables look.
"""
from __future__ import annotations

from typing import Any, Mapping


def _model():
    from app.models.national import NationalCertificate  # noqa: WPS433 (national data module)

    return NationalCertificate


def certificate(number: str):
    raise NotImplementedError  # filled in against the national data model


def is_imported(cert) -> bool:
    raise NotImplementedError


def numbers_registered_to(unit_name: str) -> list[str]:
    raise NotImplementedError


def picker_filters(args: Mapping[str, Any]) -> dict[str, str]:
    return {k: (args.get(k) or "").strip() for k in ("number", "product_name", "registrant", "origin",
                                                     "valid_only") if (args.get(k) or "").strip()}


def search_certificates(filters: dict[str, str], after: str | None = None):
    raise NotImplementedError
