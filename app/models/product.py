"""耗材单件 and 耗材产品 (27-character codes with packaging) of manufacturers (SPEC §3.4, §3.5)."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder import Model
from sqlalchemy import DateTime, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.mixins import ImportLogColumns, utcnow
from app.models.unit import Unit
from app.models.workflow import WorkflowMixin, workflow_indexes


class QualItem(Model):
    """A national single item (20-character code) the unit maintains products under."""

    __tablename__ = "qual_item"
    __table_args__ = (UniqueConstraint("unit_id", "code", name="uq_qual_item_unit_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, ForeignKey("unit.id"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    unit: Mapped[Unit] = relationship(Unit)


class QualProduct(WorkflowMixin, Model):
    """One packaging of one 27-character code (规格型号) in one unit."""

    __tablename__ = "qual_product"
    __table_args__ = (Index("ix_qual_product_state_code", "state", "code"), *workflow_indexes("qual_product"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, ForeignKey("unit.id"), nullable=False, index=True)
    item_id: Mapped[int] = mapped_column(Integer, ForeignKey("qual_item.id"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(27), nullable=False, index=True)
    min_unit: Mapped[str] = mapped_column(String(20), nullable=False)  # 最小计量单位
    pack_unit: Mapped[str] = mapped_column(String(20), nullable=False)  # 最小包装单位
    pack_ratio: Mapped[int] = mapped_column(Integer, nullable=False)  # 最小包装转换比
    mid_unit: Mapped[Optional[str]] = mapped_column(String(20), nullable=True)  # 中包装单位
    mid_ratio: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)  # 中包装转换比
    source: Mapped[str] = mapped_column(String(10), nullable=False, default="manual")  # manual | import
    #: a change revision that asks to 停用 its effective record (None: an ordinary record or 变更)
    purpose: Mapped[Optional[str]] = mapped_column(String(12), nullable=True)
    #: None while its registration certificate (and 委托授权) is in force; else why not
    #: ("invalid" 证书失效 / "expired" 证书过期); kept by app.services.chain, read by 耗材产品查询
    cert_flag: Mapped[Optional[str]] = mapped_column(String(20), nullable=True)
    revision_of_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("qual_product.id"), nullable=True, index=True)

    unit: Mapped[Unit] = relationship(Unit)
    item: Mapped[QualItem] = relationship(QualItem)

    @property
    def pack_spec(self) -> str:
        """最小包装规格, generated: e.g. 10支/盒."""
        return f"{self.pack_ratio}{self.min_unit}/{self.pack_unit}" if self.pack_ratio else ""

    @property
    def mid_spec(self) -> str:
        """中包装规格, generated: e.g. 20盒/箱."""
        return f"{self.mid_ratio}{self.pack_unit}/{self.mid_unit}" if self.mid_unit and self.mid_ratio else ""

    @property
    def packaging_key(self) -> tuple:
        return (self.code, self.min_unit, self.pack_unit, self.pack_ratio, self.mid_unit or "", self.mid_ratio or 0)


class ProductImport(ImportLogColumns, Model):
    """One packaging import: counts and the rejected rows (for the 错误日志导出 download)."""

    __tablename__ = "product_import"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, ForeignKey("unit.id"), nullable=False, index=True)
    item_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("qual_item.id"), nullable=True)
    saved: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # how many of the rejected rows errors_json keeps (the first IMPORT_MAX_REJECTED_KEPT)
    rejected_kept: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    # 错误日志导出 (.xlsx), built once when the import ran
    error_log: Mapped[Optional[bytes]] = mapped_column(LargeBinary, nullable=True, deferred=True)
