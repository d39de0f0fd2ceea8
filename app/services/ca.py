"""CA绑定 (SPEC §1.4): an enterprise proves who it is with a certificate from a trusted CA.

A certificate is bound only when

* its chain leads to a root in ``CA_TRUSTED_ROOTS`` (a PEM bundle; the upload may
  carry intermediates after the leaf), every certificate of the chain is within
  its validity and, where ``CA_CRL_FILES`` lists CRLs, not revoked;
* the uploader holds its private key: the page shows a random challenge, the
  user signs it (``openssl dgst -sha256 -sign``) and uploads the signature, which
  is verified with the certificate's public key (RSA PKCS#1 v1.5 or ECDSA, SHA-256);
* the subject's organisation (O) equals the unit's name and the subject carries
  the unit's credit code; no other unit holds that verified name.

The unit then holds a **verified name** (``Unit.verified_name``): national
certificates are offered by registrant name only through it.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtensionOID, NameOID
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import violates_unique
from app.i18n import Msg, N_, translate
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
CHALLENGE_PREFIX = "YBCA"
MAX_CHAIN = 5


@dataclass
class CertificateInfo:
    subject: str
    issuer: str
    serial_number: str
    fingerprint_sha256: str
    not_before: dt.datetime
    not_after: dt.datetime
    subject_values: list[str]
    organization: str = ""
    cert: x509.Certificate | None = None
    chain: list[x509.Certificate] = field(default_factory=list)


def _load_all(data: bytes) -> list[x509.Certificate]:
    if b"-----BEGIN" in data:
        try:
            return x509.load_pem_x509_certificates(data)
        except ValueError:
            return []
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        return []


def parse_certificate(data: bytes) -> CertificateInfo:
    if not data:
        raise DomainError(N_("请选择证书文件"), field="certificate")
    certs = _load_all(data)
    if not certs:
        raise DomainError(N_("无法识别的证书文件：请上传X.509格式（PEM或DER，.cer/.crt/.pem）的CA证书"), field="certificate")
    cert = certs[0]
    values = [
        str(attr.value).strip().upper()
        for oid in CODE_ATTRIBUTES
        for attr in cert.subject.get_attributes_for_oid(oid)
    ]
    orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(READABLE_NAMES),
        issuer=cert.issuer.rfc4514_string(READABLE_NAMES),
        serial_number=format(cert.serial_number, "X"),
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
        not_before=cert.not_valid_before_utc.replace(tzinfo=None),
        not_after=cert.not_valid_after_utc.replace(tzinfo=None),
        subject_values=values,
        organization=str(orgs[0].value).strip() if orgs else "",
        cert=cert,
        chain=certs[1:MAX_CHAIN],
    )


def normalize_name(name: str) -> str:
    """Compare names as a person would: full-width/half-width alike, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or ""))


def carries_code(info: CertificateInfo, credit_code: str) -> bool:
    """The code is a whole attribute value, or an ETSI-style ``XXX-<code>`` identifier."""
    code = credit_code.upper()
    return any(value == code or value.endswith("-" + code) for value in info.subject_values)


# -- trust ---------------------------------------------------------------------
_TRUST_CACHE: dict[tuple, tuple[list[x509.Certificate], list[x509.CertificateRevocationList]]] = {}


def _stamp(path: str) -> tuple:
    try:
        return path, os.path.getmtime(path)
    except OSError:
        return path, None


def trust_store() -> tuple[list[x509.Certificate], list[x509.CertificateRevocationList]]:
    """The configured roots and CRLs (re-read when a file changes)."""
    cfg = current_app.config
    roots_path = cfg.get("CA_TRUSTED_ROOTS") or ""
    crl_paths = [p for p in (cfg.get("CA_CRL_FILES") or []) if p]
    key = (_stamp(roots_path),) + tuple(_stamp(p) for p in crl_paths)
    if key not in _TRUST_CACHE:
        roots: list[x509.Certificate] = []
        if roots_path:
            with open(roots_path, "rb") as fh:
                roots = x509.load_pem_x509_certificates(fh.read())
        crls = []
        for path in crl_paths:
            with open(path, "rb") as fh:
                raw = fh.read()
            crls.append(x509.load_pem_x509_crl(raw) if b"-----BEGIN" in raw else x509.load_der_x509_crl(raw))
        _TRUST_CACHE.clear()
        _TRUST_CACHE[key] = (roots, crls)
    return _TRUST_CACHE[key]


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca
    except x509.ExtensionNotFound:
        return False


def _in_validity(cert: x509.Certificate, now: dt.datetime) -> bool:
    return (cert.not_valid_before_utc.replace(tzinfo=None) <= now
            <= cert.not_valid_after_utc.replace(tzinfo=None))


def verify_chain(info: CertificateInfo, now: dt.datetime) -> x509.Certificate:
    """Return the trusted root the certificate leads to, or raise with the reason."""
    roots, crls = trust_store()
    if not roots:
        raise DomainError(N_("平台尚未配置受信任的CA根证书（CA_TRUSTED_ROOTS），暂不能绑定CA证书，请联系平台管理员"),
                          field="certificate")
    path = [info.cert]
    pool = list(info.chain)
    while True:
        current = path[-1]
        root = next((r for r in roots if _issued_by(current, r)), None)
        if root is not None:
            break
        parent = next((c for c in pool if _is_ca(c) and _issued_by(current, c)), None)
        if parent is None or len(path) >= MAX_CHAIN:
            raise DomainError(N_("证书不是由平台信任的CA签发（无法验证证书链），请使用受信任CA颁发的证书"),
                              field="certificate")
        pool.remove(parent)
        path.append(parent)
    if not _is_ca(root):
        raise DomainError(N_("证书不是由平台信任的CA签发（无法验证证书链），请使用受信任CA颁发的证书"),
                          field="certificate")
    for ca_cert in path[1:] + [root]:
        if not _in_validity(ca_cert, now):
            raise DomainError(N_("颁发该证书的CA证书已过期或尚未生效"), field="certificate")
    for cert, issuer in zip(path, path[1:] + [root]):
        for crl in crls:
            if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):
                continue
            if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
                raise DomainError(N_("证书已被CA吊销，不能绑定"), field="certificate")
    return root


# -- proof of possession ---------------------------------------------------------
def new_challenge(unit: Unit) -> str:
    """A random text the user signs with the certificate's private key."""
    return f"{CHALLENGE_PREFIX}-{unit.credit_code}-{secrets.token_hex(16)}"


def openssl_command(challenge: str) -> str:
    return f"printf '%s' '{challenge}' | openssl dgst -sha256 -sign enterprise.key -out challenge.sig"


def _signature_bytes(raw: bytes) -> bytes:
    """The signature as openssl writes it (binary), or the same in Base64 text."""
    text = raw.strip()
    if re.fullmatch(rb"[A-Za-z0-9+/=\s]+", text or b"-"):
        try:
            return base64.b64decode(b"".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            pass
    return raw


def verify_possession(info: CertificateInfo, challenge: str, signature: bytes) -> None:
    if not signature:
        raise DomainError(N_("请上传用证书私钥对挑战码的签名文件"), field="signature")
    key = info.cert.public_key()
    data = challenge.encode()
    sig = _signature_bytes(signature)
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(sig, data, ec.ECDSA(hashes.SHA256()))
        else:
            raise DomainError(N_("不支持该证书的密钥类型（支持RSA与ECDSA）"), field="certificate")
    except InvalidSignature:
        raise DomainError(N_("签名验证失败：请用该证书对应的私钥对页面显示的挑战码签名"), field="signature") from None


# -- binding -------------------------------------------------------------------
def active_binding(unit: Unit) -> CaBinding | None:
    return db.session.scalar(
        select(CaBinding).where(CaBinding.unit_id == unit.id, CaBinding.unbound_at.is_(None))
    )


def has_valid_certificate(unit: Unit) -> bool:
    binding = active_binding(unit)
    now = utcnow()
    return binding is not None and binding.not_before <= now <= binding.not_after


def verified_name(unit: Unit | None) -> str | None:
    """The unit's name as a trusted CA verified it, while its certificate is valid."""
    if unit is None or not unit.verified_name or not has_valid_certificate(unit):
        return None
    return unit.verified_name


def bind(unit: Unit, data: bytes, user, *, challenge: str | None, signature: bytes | None) -> CaBinding:
    if not unit.is_enterprise:
        raise DomainError(N_("只有企业需要绑定CA证书"))
    info = parse_certificate(data)
    now = utcnow()
    if info.not_after < now:
        raise DomainError(Msg("证书已过期（有效期至%(date)s），请使用有效证书", date=f"{info.not_after:%Y-%m-%d}"),
                          field="certificate")
    if info.not_before > now:
        raise DomainError(Msg("证书尚未生效（%(date)s起生效）", date=f"{info.not_before:%Y-%m-%d}"), field="certificate")
    verify_chain(info, now)
    if not challenge:
        raise DomainError(N_("挑战码已失效，请刷新页面后重新签名"), field="signature")
    verify_possession(info, challenge, signature or b"")
    if not carries_code(info, unit.credit_code):
        raise DomainError(N_("证书主题中未包含本单位统一社会信用代码，不能绑定他人证书"), field="certificate")
    if not info.organization or normalize_name(info.organization) != normalize_name(unit.name):
        raise DomainError(Msg("证书主题中的单位名称（O=%(subject)s）与本单位名称“%(unit)s”不一致",
                              subject=info.organization or translate(N_("无")), unit=unit.name), field="certificate")
    other = db.session.scalar(
        select(CaBinding).where(
            CaBinding.fingerprint_sha256 == info.fingerprint_sha256,
            CaBinding.unbound_at.is_(None),
        )
    )
    if other is not None:
        if other.unit_id == unit.id:
            raise DomainError(N_("该证书已绑定本单位，无需重复绑定"), field="certificate")
        raise DomainError(N_("该证书已绑定其他单位"), field="certificate")
    name = unit.name.strip()  # equal to O (compared normalised); national data match it as written
    holder = db.session.scalar(select(Unit).where(Unit.verified_name == name, Unit.id != unit.id))
    if holder is not None:
        raise DomainError(N_("该单位名称已由其他单位通过CA验证，同一名称不能由两个单位持有，请联系平台管理员"),
                          field="certificate")
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
    unit.verified_name = name
    unit.verified_at = now
    audit.record("ca_bound", user=user, unit=unit,
                 detail=f"序列号 {info.serial_number} 指纹 {info.fingerprint_sha256[:16]}… 颁发者 {info.issuer}")
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        if not violates_unique(exc, "uq_unit_verified_name", "unit.verified_name"):
            raise  # not the verified-name rule: the error handlers answer it, never as this field's message
        # a concurrent binding took the verified name first
        raise DomainError(N_("该单位名称已由其他单位通过CA验证，同一名称不能由两个单位持有，请联系平台管理员"),
                          field="certificate") from None
    return binding


def unbind(unit: Unit, user) -> None:
    current = active_binding(unit)
    if current is None:
        raise DomainError(N_("本单位尚未绑定CA证书"))
    current.unbound_at = utcnow()
    unit.verified_name = None
    audit.record("ca_unbound", user=user, unit=unit, detail=f"序列号 {current.serial_number}")
    db.session.commit()
