"""Make X.509 certificates for demo data and tests (self-signed by a demo CA)."""
from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_certificate(credit_code: str, org_name: str = "示范企业", *, days: int = 365,
                     starts_in_days: int = -1, attribute=NameOID.SERIAL_NUMBER,
                     der: bool = False, also_code: str | None = None) -> bytes:
    """A certificate whose subject carries ``credit_code`` in ``attribute``."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_name),
        x509.NameAttribute(attribute, credit_code)
        if attribute != NameOID.COMMON_NAME else x509.NameAttribute(NameOID.COMMON_NAME, credit_code),
    ] + ([x509.NameAttribute(NameOID.COMMON_NAME, org_name)] if attribute != NameOID.COMMON_NAME else [])
      + ([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, also_code)] if also_code else []))
    issuer = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "演示数字证书认证中心"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Demo CA"),
    ])
    start = now + dt.timedelta(days=starts_in_days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER if der else serialization.Encoding.PEM)
