"""Import of the national code data from .xlsx / .csv (SPEC §2).

Rules, in the order a file meets them:

1. A release is one file or several (a folder, a list, a .zip: see
   :func:`expand_paths`).  Each file must be under the size limit
   (``NATIONAL_IMPORT_MAX_BYTES`` for uploads; the CLI has none), be a real .xlsx
   (opened in openpyxl's read-only mode) or a .csv in UTF-8 or GBK.
2. Every sheet's first non-empty row is its header.  The headers say which kind
   the sheet holds (注册证 / 单件 / 规格型号); a sheet named 填写说明 is skipped.
   Unknown headers, missing required columns or a duplicated column refuse the
   whole file before any row is read.
3. Rows stream; each row is checked on its own in Python (formats, lengths,
   code parts) and valid rows go to a staging table (COPY on PostgreSQL).  The
   checks that need the database run set-based on the staging table: a key
   repeated in the release (the first row wins), the 27-character code's single
   item, the single item's certificate.  Every row is loaded completely or
   rejected with its sheet, row number and reason.  Empty rows are skipped.
4. Loading is an upsert on the natural key (注册备案号 / 20位码 / 27位码):
   new keys are inserted, changed rows updated, identical rows left alone, so
   importing a file twice changes nothing the second time.
5. The whole release is one transaction: a file that turns out broken half-way
   (truncated zip, bad XML), a killed process or a failed job changes nothing.

Kinds load in dependency order (certificates, then single items, then
spec/models) whatever the sheet order, so one workbook can carry all three.
The package: :mod:`.schema` (the kinds, their headers and templates), :mod:`.checks`
(the row rules, in Python and in SQL), :mod:`.files` (folders, archives, headers, rows),
:mod:`.loader` (staging, COPY, set-based merge), :mod:`.results` and :mod:`.reports`
(what an import did, releases, the error report); this module runs a release and its
background job.
"""
from __future__ import annotations

import datetime as dt
import os
import uuid
from typing import IO, Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import ImportRefused
from app.excel import ExcelError, cell_text, check_size, open_table
from app.excel.reader import TableFile
from app.extensions import db
from app.i18n import Msg, N_
from app.models.mixins import utcnow
from app.models.national import NationalImport, NationalRelease, NationalUpload
from app.ops import metrics
from app.services import audit, import_log
from app.services.text import scrub
from app.services.national_import import checks, loader
from app.services.national_import.checks import CHECKS, RowRejected, parse_date
from app.services.national_import.files import (PROGRESS_EVERY, PlannedSheet, Progress, Source, estimate_rows,
                                                expand_paths, plan_sheets, sheet_rows)
from app.services.national_import.reports import (RELEASE_KINDS, RELEASE_VIEWS, error_report, find_import,
                                                  recent_imports, release_rows, releases, report_rows)
from app.services.national_import.results import Counts, ImportResult, RejectedRow
from app.services.national_import.schema import (DATA_KINDS, KINDS, KINDS_BY_KEY, Kind, detect_kind,
                                                 template_csv, template_workbook)

__all__ = [
    "CHECKS", "Counts", "DATA_KINDS", "ImportRefused", "ImportResult", "KINDS", "KINDS_BY_KEY", "Kind",
    "RELEASE_KINDS", "RELEASE_VIEWS", "RejectedRow", "RowRejected", "cell_text", "clean_version", "detect_kind",
    "error_report", "estimate_rows", "expand_paths", "find_import", "import_file", "import_of_job",
    "import_release", "max_bytes", "parse_date", "queue_upload", "recent_imports", "recent_upload_jobs",
    "release_rows", "releases", "report_rows", "run_uploaded_import", "template_csv", "template_workbook",
]

DEFAULT_MAX_BYTES = 100 * 1024 * 1024


def max_bytes() -> int:
    return int(current_app.config.get("NATIONAL_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def import_file(source: str | os.PathLike | IO[bytes], filename: str | None = None, *, user=None,
                origin: str = "cli", limit: int | None = None, progress: Progress | None = None,
                version: str | None = None, published_on: dt.date | None = None,
                job_id: str | None = None) -> ImportResult:
    """Import one .xlsx / .csv file (a path or a binary stream); see :func:`import_release`."""
    filename = os.path.basename(filename or (os.fspath(source) if isinstance(source, (str, os.PathLike))
                                             else "upload"))
    return import_release([(source, filename)], user=user, origin=origin, limit=limit, progress=progress,
                          version=version, published_on=published_on, job_id=job_id)


VERSION_MAX = 40


def clean_version(version: str | None, published_on: dt.date | None = None) -> str:
    """The release's 版本号: given, else the publication date, else today (UTC)."""
    version = (version or "").strip()
    if not version:
        version = (published_on or utcnow().date()).isoformat()
    if len(version) > VERSION_MAX or any(c in version for c in "\r\n\t"):
        raise ImportRefused(Msg("版本号不能超过%(n)s个字符", n=VERSION_MAX))
    return version


def _release(version: str, published_on: dt.date | None) -> NationalRelease:
    release = db.session.scalar(select(NationalRelease).where(NationalRelease.version == version))
    if release is None:
        release = NationalRelease(version=version, published_on=published_on, created_at=utcnow())
        db.session.add(release)
        db.session.flush()
    elif published_on and release.published_on != published_on:
        if release.published_on:
            raise ImportRefused(Msg("版本“%(version)s”已登记的发布日期为%(registered)s，与本次填写的%(given)s不一致",
                                     version=version, registered=release.published_on.isoformat(),
                                     given=published_on.isoformat()))
        release.published_on = published_on
    return release


TEMP_BUFFERS = "256MB"


def _session_buffers() -> None:
    """On PostgreSQL, room for the staging tables in memory (``temp_buffers``, 8 MB by default).

    The setting can only change before the session first touches a temporary table, so a
    pooled connection that already imported keeps what it had; memory is taken only as used.
    """
    conn = db.session.connection()
    if conn.dialect.name != "postgresql":
        return
    import psycopg

    cur = conn.connection.driver_connection.cursor()
    cur.execute("SAVEPOINT national_buffers")
    try:
        cur.execute(f"SET temp_buffers = '{TEMP_BUFFERS}'")
    except psycopg.Error:  # temporary tables already used in this session
        cur.execute("ROLLBACK TO SAVEPOINT national_buffers")
    cur.execute("RELEASE SAVEPOINT national_buffers")


def import_release(sources: list[Source], *, label: str | None = None, user=None, origin: str = "cli",
                   limit: int | None = None, progress: Progress | None = None, version: str | None = None,
                   published_on: dt.date | None = None, job_id: str | None = None) -> ImportResult:
    """Import the files of one release in one transaction; see the module docstring.

    ``limit`` caps each file's size (default ``NATIONAL_IMPORT_MAX_BYTES``; 0 = no cap).
    ``progress(done_rows, estimated_total, note)`` is called every few thousand rows.
    The import belongs to the release ``version`` (published on ``published_on``;
    see :func:`clean_version`), which counts what it added, changed, deactivated
    and transferred.
    Returns the result (counts and rejected rows); raises :class:`ImportRefused` when a
    file as a whole is refused.  Either way the run is logged (``national_import``) and audited.
    """
    if label is None:
        label = sources[0][1] if len(sources) == 1 else Msg("%(name)s 等 %(n)s 个文件", name=sources[0][1], n=len(sources))
    result = ImportResult(filename=label)
    limit = max_bytes() if limit is None else limit
    report = progress or (lambda done, total, note: None)
    total_rows = estimate_rows(sources) if progress else None
    tables: list[TableFile] = []
    try:
        plans: list[tuple[str, PlannedSheet]] = []
        try:
            for source, name in sources:
                check_size(source, limit, name if len(sources) > 1 else None)
            for source, name in sources:
                table = open_table(source, name)
                tables.append(table)
                if result.encoding is None:
                    result.encoding = table.encoding
                file_plans = plan_sheets(table, result)
                for plan in file_plans:
                    plans.append((plan.sheet.name if len(sources) == 1 else f"{name}：{plan.sheet.name}", plan))
            order = {k.key: i for i, k in enumerate(KINDS)}
            plans.sort(key=lambda p: order[p[1].kind.key])  # parents first; files and sheets keep their order
            result.sheets = [(label_, p.kind.label) for label_, p in plans]
            _session_buffers()
            release = _release(clean_version(version, published_on), published_on)
            result.release = release
            now = utcnow()
            sheet_names: list[str] = []
            stage: loader.Stage | None = None
            done = 0
            report(0, total_rows, "")
            for sheet_label, plan in plans:
                if stage is None or stage.kind is not plan.kind:
                    if stage is not None:
                        report(done, total_rows, Msg("合并%(kind)s", kind=Msg(stage.kind.label)))
                        stage.merge()  # parents are in the database before their children
                    stage = loader.STAGES.get(plan.kind.key, loader.Stage)(plan.kind, result, now, sheet_names, release)
                sheet_names.append(sheet_label)
                sheet_index = len(sheet_names) - 1
                if stage.pg and plan.kind.key in checks.SQL_CHECKS and plan.sheet.csv_source and plan.sheet.max_rows is None:
                    stage.flush()
                    label_ = Msg("读取%(kind)s", kind=Msg(plan.kind.label))
                    copied = stage.copy_csv(sheet_index, plan, (lambda n, base=done, note=label_: report(
                        base + max(n - plan.header_row, 0), total_rows, note)) if progress else None)
                    if copied is not None:
                        done += copied
                        report(done, total_rows, label_)
                        continue
                check = CHECKS[plan.kind.key]
                key_field = plan.kind.key_field
                for number, values in sheet_rows(plan):
                    try:
                        row = check(values)
                    except RowRejected as exc:
                        result.reject(sheet_label, number, cell_text(values.get(key_field)), exc.reason, plan.kind,
                                      values)
                    else:
                        stage.add(sheet_index, number, row)
                    done += 1
                    if done % PROGRESS_EVERY == 0:
                        report(done, total_rows, Msg("读取%(kind)s", kind=Msg(plan.kind.label)))
            if stage is not None:
                report(done, total_rows, Msg("合并%(kind)s", kind=Msg(stage.kind.label)))
                stage.merge()
            c = result.counts
            release.added += sum(c[k].inserted for k in DATA_KINDS)
            release.changed += sum(c[k].updated for k in DATA_KINDS)
            release.deactivated += c["deactivation"].updated
            release.transferred += c["transfer"].inserted + c["transfer"].updated
            report(done, done, N_("完成"))
        except ExcelError as exc:
            raise ImportRefused(exc.message) from exc
        except IntegrityError as exc:
            raise ImportRefused(N_("导入时数据已被其他导入修改，请稍后重新导入")) from exc
    except ImportRefused as exc:
        db.session.rollback()
        result.release = None
        _log(result, user, origin, "refused", exc.message, job_id)
        raise
    except BaseException:
        db.session.rollback()
        raise
    finally:
        for table in tables:
            table.close()
    order = {name: i for i, name in enumerate(n for n, _ in result.sheets)}
    result.errors.sort(key=lambda e: (order.get(e.sheet, len(order)), e.row))
    db.session.flush()
    _log(result, user, origin, "done", result.summary(), job_id)
    return result


def _log(result: ImportResult, user, origin: str, status: str, message: str, job_id: str | None = None) -> None:
    """The import log row and the audit entry, committed with the import (or after its rollback)."""
    t = result.total
    token = uuid.uuid4().hex
    result.token = token
    db.session.add(NationalImport(
        token=token, username=getattr(user, "username", None) or ("命令行" if origin == "cli" else None),
        source=origin, filename=scrub(result.filename, 255), status=status, inserted=t.inserted, updated=t.updated,
        unchanged=t.unchanged, rejected=t.rejected, message=scrub(message),
        errors_json=import_log.dumps(result.errors),
        release_id=result.release.id if result.release else None, job_id=job_id,
    ))
    audit.record("national_import", user=user, username=None if user else "cli",
                 detail=f"{result.filename}: {message}"[:2000])
    db.session.commit()
    metrics.import_done("national", inserted=t.inserted, updated=t.updated, unchanged=t.unchanged,
                        rejected=t.rejected)


# -- uploads as background jobs, releases -------------------------------------------
def queue_upload(stream: IO[bytes], filename: str, user, version: str | None = None,
                 published_on: dt.date | None = None) -> str:
    """Keep an uploaded file and import it as a background job (``app.jobs``); the job id."""
    from app import jobs

    limit = max_bytes()
    try:
        check_size(stream, limit)
    except ExcelError as exc:
        raise ImportRefused(exc.message) from None
    clean_version(version, published_on)  # refuse a bad 版本号 now, not in the job
    username = getattr(user, "username", None)
    upload = NationalUpload(filename=os.path.basename(filename or "upload")[:255], username=username,
                            data=stream.read(), created_at=utcnow())
    db.session.add(upload)
    db.session.commit()
    return jobs.enqueue(run_uploaded_import, upload.id, username, version,
                        published_on.isoformat() if published_on else None,
                        job_title=f"国家数据导入：{upload.filename}", job_user=username)


def run_uploaded_import(upload_id: int, username: str | None, version: str | None,
                        published_on: str | None) -> dict[str, Any]:
    """The background job of an upload: import the kept file, then forget it."""
    import io

    from app import jobs
    from app.models import AppUser

    upload = db.session.get(NationalUpload, upload_id)
    if upload is None:
        raise ImportRefused(N_("上传的文件已不存在，请重新上传"))
    data, filename = upload.data, upload.filename
    db.session.delete(upload)
    db.session.commit()
    user = db.session.scalar(select(AppUser).where(AppUser.username == username)) if username else None
    result = import_file(io.BytesIO(data), filename, user=user, origin="upload",
                         progress=lambda done, total, note: jobs.progress(done, total, note), version=version,
                         published_on=dt.date.fromisoformat(published_on) if published_on else None,
                         job_id=jobs.current_job_id())
    return {"token": result.token, "summary": result.summary()}


def import_of_job(job_id: str) -> NationalImport | None:
    return db.session.scalar(select(NationalImport).where(NationalImport.job_id == job_id)) if job_id else None


def recent_upload_jobs(limit: int = 10):
    from app import jobs

    return jobs.recent(run_uploaded_import, limit)
