"""Releases and import logs as the admin pages show them: what a release did, the error report."""
from __future__ import annotations

from sqlalchemy import select

from app.excel import ErrorSheet, build_error_logs
from app.extensions import db
from app.services import import_log
from app.services.import_log import RejectedRow
from app.models.national import NationalCertificate, NationalImport, NationalItem, NationalRelease, NationalSpec, NationalTransfer
from app.services.national_import.schema import KINDS, KINDS_BY_KEY

def releases(limit: int = 100) -> list[NationalRelease]:
    return list(db.session.scalars(select(NationalRelease).order_by(NationalRelease.id.desc()).limit(limit)))


RELEASE_VIEWS = {  # what → label
    "added": "新增", "changed": "变更", "deactivated": "停用", "transferred": "转码"}
RELEASE_KINDS = {"spec": (NationalSpec, "code"), "item": (NationalItem, "code"),
                 "certificate": (NationalCertificate, "number")}


def release_rows(release: NationalRelease, what: str, kind: str, after: str | None = None,
                 limit: int = 50) -> tuple[list, str | None]:
    """One page (keyset on the key) of what ``release`` added / changed / deactivated / transferred."""
    if what == "transferred":
        stmt = select(NationalTransfer).where(NationalTransfer.release_id == release.id)
        if after:
            stmt = stmt.where(NationalTransfer.old_code > after)
        rows = list(db.session.scalars(stmt.order_by(NationalTransfer.old_code, NationalTransfer.new_code)
                                       .limit(limit + 1)))
        return rows[:limit], (rows[limit - 1].old_code if len(rows) > limit else None)
    model, key = RELEASE_KINDS[kind]
    column = getattr(model, key)
    if what == "deactivated":
        conds = [model.status == "deactivated", model.deactivated_release_id == release.id]
    elif what == "added":
        conds = [model.release_id == release.id, model.created_at == model.updated_at]
    else:
        conds = [model.release_id == release.id, model.created_at != model.updated_at]
    stmt = select(model).where(*conds)
    if after:
        stmt = stmt.where(column > after)
    rows = list(db.session.scalars(stmt.order_by(column).limit(limit + 1)))
    return rows[:limit], (getattr(rows[limit - 1], key) if len(rows) > limit else None)


def recent_imports(limit: int = 20) -> list[NationalImport]:
    return list(db.session.scalars(select(NationalImport).order_by(NationalImport.id.desc()).limit(limit)))


def find_import(token: str) -> NationalImport | None:
    return db.session.scalar(select(NationalImport).where(NationalImport.token == token)) if token else None


def report_rows(log: NationalImport) -> list[RejectedRow]:
    return import_log.loads(log.errors_json)


def error_report(log: NationalImport) -> bytes:
    """The rejected rows of one import as .xlsx, in row order.

    Each kind's rows go on a sheet named like its template sheet, under the template's columns
    with the row's values as the file had them, 工作表 and 行号 first and 错误原因 last: a person
    corrects the cells and imports the sheet again.  Logs kept before the values were recorded
    (and refusals without a row) come as 工作表, 行号, 注册备案号/编码, 错误原因."""
    by_kind: dict[str, list[RejectedRow]] = {}
    plain: list[RejectedRow] = []
    for r in report_rows(log):
        kind = KINDS_BY_KEY.get(r.kind)
        if kind is not None and len(r.values) == len(kind.fields):
            by_kind.setdefault(kind.key, []).append(r)
        else:
            plain.append(r)
    sheets = []
    for kind in KINDS:
        rows = by_kind.get(kind.key)
        if rows:
            sheets.append(ErrorSheet(
                kind.sheet_names[0], ["工作表", "行号", *(f.header for f in kind.fields), "错误原因"],
                ([r.sheet, r.row, *r.values, r.reason] for r in rows),
                text_columns=range(2, 2 + len(kind.fields))))
    if plain or not sheets:
        sheets.append(ErrorSheet("错误日志", ["工作表", "行号", "注册备案号/编码", "错误原因"],
                                 ([r.sheet, r.row, r.key, r.reason] for r in plain), text_columns=(2,)))
    return build_error_logs(sheets)

