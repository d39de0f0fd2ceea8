"""National code data (国家医保信息业务编码标准数据库), read-only reference data.

Registration certificates / filings (注册证/备案凭证), single items (单件, the
20-character code) and spec/models (规格型号, the 27-character code whose first
20 characters are its single item's code).  The platform imports them
(``app.services.national_import``); enterprises pick from them.

Every list over these tables pages by keyset on the natural key (number /
code), so each natural key carries a unique b-tree index; the other indexes
serve the picker filters (registrant name match, validity, item → certificate,
spec → item).
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder import Model
from sqlalchemy import (DDL, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint,
                        event, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.i18n import N_
from app.models.mixins import ImportLogColumns, utcnow

ORIGIN_DOMESTIC = "domestic"
ORIGIN_IMPORTED = "imported"
ORIGIN_LABELS = {ORIGIN_DOMESTIC: "境内", ORIGIN_IMPORTED: "进口"}
MANAGEMENT_CLASSES = ("I", "II", "III")

ITEM_CODE_LENGTH = 20
SPEC_CODE_LENGTH = 27

STATUS_ACTIVE = "active"
STATUS_DEACTIVATED = "deactivated"
STATUS_LABELS = {STATUS_ACTIVE: N_("有效"), STATUS_DEACTIVATED: N_("已停用")}


class ReleaseColumns:
    """What every national table carries about releases (issue 14).

    ``release_id``: the release that last added or changed the row (added when
    ``created_at == updated_at``).  ``status``: 已停用 once a release's 停用表 lists
    the key; the row stays visible but cannot be picked for new records.
    """

    status: Mapped[str] = mapped_column(String(12), nullable=False, default=STATUS_ACTIVE,
                                        server_default=STATUS_ACTIVE)
    deactivated_on: Mapped[Optional[dt.date]] = mapped_column(Date, nullable=True)
    deactivated_release_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    release_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def is_deactivated(self) -> bool:
        return self.status == STATUS_DEACTIVATED


def _deactivated_index(table: str) -> Index:
    """Only deactivated rows are indexed: nothing to maintain while loading active ones."""
    where = text("status = 'deactivated'")
    return Index(f"ix_{table}_deactivated", "deactivated_release_id", postgresql_where=where, sqlite_where=where)


def _trigram_index(table: str, column: str) -> Index:
    """PostgreSQL only: a pg_trgm GIN index, which serves ``column LIKE '%term%'`` for terms of three
    characters or more (Chinese too, under a locale that classes CJK as letters, e.g. C.UTF-8).
    SQLite gets none: its LIKE scans, fast enough at its sizes."""
    return Index(f"ix_{table}_{column}_trgm", column, postgresql_using="gin",
                 postgresql_ops={column: "gin_trgm_ops"}).ddl_if(dialect="postgresql")


class NationalCertificate(ReleaseColumns, Model):
    """注册证/备案凭证.

    On PostgreSQL the 注册备案号 / 产品名称 / 注册人 substring searches use trigram indexes, and
    (origin, number) serves 进口 / 境内 in number order — the pickers' order — so a 进口 page
    starts at the first imported certificate instead of walking past every domestic one
    (migration 0017).
    """

    __tablename__ = "national_certificate"
    __table_args__ = (
        _deactivated_index("national_certificate"),
        _trigram_index("national_certificate", "number"),
        _trigram_index("national_certificate", "product_name_fold"),
        _trigram_index("national_certificate", "registrant_fold"),
        Index("ix_national_certificate_origin_number", "origin", "number").ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(60), nullable=False, unique=True)
    product_name: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    registrant: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    address: Mapped[Optional[str]] = mapped_column(String(500), nullable=True)
    management_class: Mapped[str] = mapped_column(String(8), nullable=False)
    valid_from: Mapped[Optional[dt.date]] = mapped_column(Date, nullable=True)
    valid_to: Mapped[Optional[dt.date]] = mapped_column(Date, nullable=True, index=True)
    structure: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    scope: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    origin: Mapped[str] = mapped_column(String(10), nullable=False)
    # Lower-cased copies for case-insensitive search: a LIKE on them costs a fraction
    # of PostgreSQL's ILIKE, which case-folds every row it scans.
    registrant_fold: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    product_name_fold: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    @property
    def origin_label(self) -> str:
        return ORIGIN_LABELS.get(self.origin, self.origin)

    @property
    def is_imported(self) -> bool:
        return self.origin == ORIGIN_IMPORTED

    def is_valid_on(self, day: dt.date) -> bool:
        """Filings (备案) carry no end date and never expire."""
        if self.valid_from and day < self.valid_from:
            return False
        return self.valid_to is None or day <= self.valid_to

    def __repr__(self) -> str:
        return self.number


# The trigram indexes need pg_trgm (a trusted extension: the database owner may create it).  For
# ``create_all`` (tests, benchmarks); ``flask db upgrade`` creates it in migration 0017.
event.listen(NationalCertificate.__table__, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"))


def on_dialect(dialect: str):
    """An alembic ``include_object``: leave out the indexes declared for another dialect only
    (``Index.ddl_if(dialect=...)``), which ``create_all`` and the migrations do not build there."""

    def include(obj, name, type_, reflected, compare_to) -> bool:
        condition = getattr(obj, "_ddl_if", None) if type_ == "index" and not reflected else None
        wanted = getattr(condition, "dialect", None)
        if wanted is None:
            return True
        return dialect == wanted if isinstance(wanted, str) else dialect in wanted

    return include


def fold(text: str | None) -> str:
    """The search form of a name: lower-cased (Chinese is unchanged)."""
    return (text or "").lower()


@event.listens_for(NationalCertificate, "before_insert")
@event.listens_for(NationalCertificate, "before_update")
def _fold_names(mapper, connection, target: NationalCertificate) -> None:
    target.registrant_fold = fold(target.registrant)
    target.product_name_fold = fold(target.product_name)


class NationalItem(ReleaseColumns, Model):
    """单件: one 20-character code under one certificate."""

    __tablename__ = "national_item"
    __table_args__ = (_deactivated_index("national_item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(ITEM_CODE_LENGTH), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    level1: Mapped[Optional[str]] = mapped_column(String(100), nullable=True)
    level2: Mapped[Optional[str]] = mapped_column(String(100), nullable=True)
    level3: Mapped[Optional[str]] = mapped_column(String(100), nullable=True)
    generic_name: Mapped[Optional[str]] = mapped_column(String(100), nullable=True)
    material: Mapped[Optional[str]] = mapped_column(String(100), nullable=True)
    feature: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)
    enterprise: Mapped[Optional[str]] = mapped_column(String(255), nullable=True, index=True)
    certificate_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("national_certificate.id"), nullable=False, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    certificate: Mapped[NationalCertificate] = relationship(NationalCertificate)

    def __repr__(self) -> str:
        return self.code


class NationalSpec(ReleaseColumns, Model):
    """规格型号: a 27-character code = its single item's code + a 7-digit serial."""

    __tablename__ = "national_spec"
    __table_args__ = (_deactivated_index("national_spec"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(SPEC_CODE_LENGTH), nullable=False, unique=True)
    item_id: Mapped[int] = mapped_column(Integer, ForeignKey("national_item.id"), nullable=False, index=True)
    spec: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    model: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    item: Mapped[NationalItem] = relationship(NationalItem)

    def __repr__(self) -> str:
        return self.code


class NationalImport(ImportLogColumns, Model):
    """One run of the national data import: who, which file, the counts, the rejected rows.

    The report is kept in the database (like every file here) so any app server
    can serve its download; ``token`` names it in URLs.
    """

    __tablename__ = "national_import"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(10), nullable=False)  # cli | upload
    status: Mapped[str] = mapped_column(String(10), nullable=False)  # done | refused
    inserted: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    message: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    release_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("national_release.id"), nullable=True,
                                                      index=True)
    job_id: Mapped[Optional[str]] = mapped_column(String(36), nullable=True)


class NationalRelease(Model):
    """A national release (版本号, 发布日期) and what its imports did to the data."""

    __tablename__ = "national_release"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    published_on: Mapped[Optional[dt.date]] = mapped_column(Date, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    added: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    changed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    deactivated: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    transferred: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


TRANSFER_KINDS = ("变更", "映射")


class NationalTransfer(Model):
    """转码: a release maps an old 27-character code to a new one (类型 变更 / 映射)."""

    __tablename__ = "national_transfer"
    __table_args__ = (UniqueConstraint("old_code", "new_code", name="uq_national_transfer_old_new"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    old_code: Mapped[str] = mapped_column(String(SPEC_CODE_LENGTH), nullable=False, index=True)
    new_code: Mapped[str] = mapped_column(String(SPEC_CODE_LENGTH), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, default="变更")
    release_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("national_release.id"), nullable=True,
                                                      index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class NationalUpload(Model):
    """A file uploaded in 国家数据导入, kept in the database until its background job reads it
    (so a worker on any host can); the job deletes it."""

    __tablename__ = "national_upload"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    username: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
