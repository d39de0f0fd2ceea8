"""CA绑定 (SPEC §1.4): parse an X.509 certificate and bind it to an enterprise."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from app.extensions import db
from app.models import CaBinding, Unit
from app.models.mixins import utcnow
from app.services import audit
from app.services.errors import DomainError

# Subject attributes that may carry the unit's credit code.
CODE_ATTRIBUTES = (
    NameOID.SERIAL_NUMBER,
    NameOID.ORGANIZATION_IDENTIFIER,
    NameOID.ORGANIZATIONAL_UNIT_NAME,
    NameOID.COMMON_NAME,
)
# Names for attributes RFC 4514 has no short name for (it would print "2.5.4.5=…").
READABLE_NAMES = {NameOID.SERIAL_NUMBER: "serialNumber", NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier"}


@dataclass
class CertificateInfo:
    subject: str
    issuer: str
    serial_number: str
    fingerprint_sha256: str
    not_before: dt.datetime
    not_after: dt.datetime
    subject_values: list[str]


def parse_certificate(data: bytes) -> CertificateInfo:
    if not data:
        raise DomainError("请选择证书文件", field="certificate")
    cert = None
    for loader in (x509.load_pem_x509_certificate, x509.load_der_x509_certificate):
        try:
            cert = loader(data)
            break
        except (ValueError, TypeError):
            continue
    if cert is None:
        raise DomainError("无法识别的证书文件：请上传X.509格式（PEM或DER，.cer/.crt/.pem）的CA证书", field="certificate")
    values = [
        str(attr.value).strip().upper()
        for oid in CODE_ATTRIBUTES
        for attr in cert.subject.get_attributes_for_oid(oid)
    ]
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(READABLE_NAMES),
        issuer=cert.issuer.rfc4514_string(READABLE_NAMES),
        serial_number=format(cert.serial_number, "X"),
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
        not_before=cert.not_valid_before_utc.replace(tzinfo=None),
        not_after=cert.not_valid_after_utc.replace(tzinfo=None),
        subject_values=values,
    )


def carries_code(info: CertificateInfo, credit_code: str) -> bool:
    code = credit_code.upper()
    return any(value == code or code in value for value in info.subject_values)


def active_binding(unit: Unit) -> CaBinding | None:
    return db.session.scalar(
        select(CaBinding).where(CaBinding.unit_id == unit.id, CaBinding.unbound_at.is_(None))
    )


def has_valid_certificate(unit: Unit) -> bool:
    binding = active_binding(unit)
    now = utcnow()
    return binding is not None and binding.not_before <= now <= binding.not_after


def bind(unit: Unit, data: bytes, user) -> CaBinding:
    if not unit.is_enterprise:
        raise DomainError("只有企业需要绑定CA证书")
    info = parse_certificate(data)
    now = utcnow()
    if info.not_after < now:
        raise DomainError(f"证书已过期（有效期至{info.not_after:%Y-%m-%d}），请使用有效证书", field="certificate")
    if info.not_before > now:
        raise DomainError(f"证书尚未生效（{info.not_before:%Y-%m-%d}起生效）", field="certificate")
    if not carries_code(info, unit.credit_code):
        raise DomainError("证书主题中未包含本单位统一社会信用代码，不能绑定他人证书", field="certificate")
    other = db.session.scalar(
        select(CaBinding).where(
            CaBinding.fingerprint_sha256 == info.fingerprint_sha256,
            CaBinding.unbound_at.is_(None),
        )
    )
    if other is not None:
        if other.unit_id == unit.id:
            raise DomainError("该证书已绑定本单位，无需重复绑定", field="certificate")
        raise DomainError("该证书已绑定其他单位", field="certificate")
    current = active_binding(unit)
    if current is not None:
        current.unbound_at = now
        audit.record("ca_unbound", user=user, unit=unit, detail=f"换绑，原证书序列号 {current.serial_number}")
    binding = CaBinding(
        unit_id=unit.id, subject=info.subject, issuer=info.issuer,
        serial_number=info.serial_number, fingerprint_sha256=info.fingerprint_sha256,
        not_before=info.not_before, not_after=info.not_after, bound_at=now,
    )
    db.session.add(binding)
    audit.record("ca_bound", user=user, unit=unit, detail=f"序列号 {info.serial_number} 指纹 {info.fingerprint_sha256[:16]}…")
    db.session.commit()
    return binding


def unbind(unit: Unit, user) -> None:
    current = active_binding(unit)
    if current is None:
        raise DomainError("本单位尚未绑定CA证书")
    current.unbound_at = utcnow()
    audit.record("ca_unbound", user=user, unit=unit, detail=f"序列号 {current.serial_number}")
    db.session.commit()
