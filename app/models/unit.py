"""The unit (单位): the tenant every business record belongs to."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Optional

from flask_appbuilder import Model
from sqlalchemy import Boolean, DateTime, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, validates

from app.models.mixins import utcnow
from app.ops.redact import mask_id_number
from app.security.pii import EncryptedString, keyed_hash


class UnitCategory(str, enum.Enum):
    DESIGNATED = "designated"
    NON_DESIGNATED = "non_designated"
    ENTERPRISE = "enterprise"


class UnitRole(str, enum.Enum):
    DESIGNATED_HOSPITAL = "designated_hospital"
    DESIGNATED_PHARMACY = "designated_pharmacy"
    NON_DESIGNATED_HOSPITAL = "non_designated_hospital"
    NON_DESIGNATED_PHARMACY = "non_designated_pharmacy"
    MANUFACTURER = "manufacturer"
    DISTRIBUTOR = "distributor"


CATEGORY_LABELS = {
    UnitCategory.DESIGNATED: "定点医疗机构/定点药店",
    UnitCategory.NON_DESIGNATED: "非定点医疗机构/非定点药店",
    UnitCategory.ENTERPRISE: "企业",
}

UNIT_ROLE_LABELS = {
    UnitRole.DESIGNATED_HOSPITAL: "定点医疗机构",
    UnitRole.DESIGNATED_PHARMACY: "定点药店",
    UnitRole.NON_DESIGNATED_HOSPITAL: "非定点医疗机构",
    UnitRole.NON_DESIGNATED_PHARMACY: "非定点药店",
    UnitRole.MANUFACTURER: "生产企业",
    UnitRole.DISTRIBUTOR: "配送企业",
}

CATEGORY_ROLES = {
    UnitCategory.DESIGNATED: (UnitRole.DESIGNATED_HOSPITAL, UnitRole.DESIGNATED_PHARMACY),
    UnitCategory.NON_DESIGNATED: (
        UnitRole.NON_DESIGNATED_HOSPITAL,
        UnitRole.NON_DESIGNATED_PHARMACY,
    ),
    UnitCategory.ENTERPRISE: (UnitRole.MANUFACTURER, UnitRole.DISTRIBUTOR),
}


class Unit(Model):
    __tablename__ = "unit"
    # two units cannot hold the same CA-verified name (NULLs are not compared)
    __table_args__ = (UniqueConstraint("verified_name", name="uq_unit_verified_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    credit_code: Mapped[str] = mapped_column(String(18), nullable=False, unique=True)
    contact_name: Mapped[str] = mapped_column(String(50), nullable=False)
    # 经办人身份证号: encrypted at rest (app/security/pii.py), found by its keyed hash.
    contact_id_number: Mapped[str] = mapped_column(EncryptedString(), nullable=False)
    contact_id_number_hash: Mapped[Optional[str]] = mapped_column(String(64), nullable=True, index=True)
    contact_phone: Mapped[str] = mapped_column(String(11), nullable=False)
    unit_role: Mapped[Optional[str]] = mapped_column(String(30), nullable=True)
    certified_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # The organisation name (O) a trusted CA certified for this unit (app/services/ca.py):
    # national certificates are offered by registrant name only through it.
    verified_name: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)
    verified_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, nullable=True)
    # A never-certified registration whose credit code was released (by the platform admin
    # or on expiry): the code it held, and when.
    released_credit_code: Mapped[Optional[str]] = mapped_column(String(18), nullable=True, index=True)
    released_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime, nullable=False, default=utcnow, server_default=func.now(), index=True
    )

    @validates("contact_id_number")
    def _hash_contact_id_number(self, key, value):
        self.contact_id_number_hash = keyed_hash(value)
        return value

    @property
    def masked_contact_id_number(self) -> str:
        return mask_id_number(self.contact_id_number)

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[UnitCategory(self.category)]

    @property
    def unit_role_label(self) -> str:
        return UNIT_ROLE_LABELS[UnitRole(self.unit_role)] if self.unit_role else "未认证"

    @property
    def shown_credit_code(self) -> str:
        """The code to show: a released registration shows the code it held."""
        return self.released_credit_code or self.credit_code

    @property
    def is_enterprise(self) -> bool:
        return self.category == UnitCategory.ENTERPRISE.value

    def __repr__(self) -> str:
        return self.name
