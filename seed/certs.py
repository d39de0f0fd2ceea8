"""Certificates for demo data and tests, issued by the demo root CA in ``seed/ca/``.

The demo root (``seed/ca/demo-root.pem``, its private key beside it) is what
development and tests trust (``CA_TRUSTED_ROOTS``); production never does.  An
enterprise certificate made here carries the unit's name in O and its credit
code in serialNumber (or another attribute), and comes with its private key so
the CA绑定 challenge can be signed like ``openssl dgst -sha256 -sign`` does.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

CA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ca")
DEMO_ROOT_PEM = os.path.join(CA_DIR, "demo-root.pem")
DEMO_ROOT_KEY = os.path.join(CA_DIR, "demo-root.key")


@dataclass
class Issued:
    """An enterprise certificate and its private key."""

    cert: x509.Certificate
    key: object

    def cert_bytes(self, der: bool = False) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER if der else serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    def sign(self, challenge: str) -> bytes:
        return sign_challenge(self.key, challenge)


def demo_root() -> tuple[x509.Certificate, object]:
    with open(DEMO_ROOT_PEM, "rb") as fh:
        cert = x509.load_pem_x509_certificate(fh.read())
    with open(DEMO_ROOT_KEY, "rb") as fh:
        key = serialization.load_pem_private_key(fh.read(), password=None)
    return cert, key


def sign_challenge(key, challenge: str) -> bytes:
    """What ``printf '%s' CHALLENGE | openssl dgst -sha256 -sign key.pem`` writes (DER)."""
    data = challenge.encode()
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def issue(credit_code: str, org_name: str = "示范企业", *, days: int = 365, starts_in_days: int = -1,
          attribute=NameOID.SERIAL_NUMBER, also_code: str | None = None, issuer: str = "demo",
          rsa_key: bool = False) -> Issued:
    """An enterprise certificate; ``issuer="self"`` makes a self-signed one (the audit's
    "Demo CA" attack), ``issuer="other"`` one from an unknown CA."""
    key = rsa.generate_private_key(65537, 2048) if rsa_key else ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_name)]
    if attribute == NameOID.COMMON_NAME:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, credit_code))
    else:
        attrs += [x509.NameAttribute(attribute, credit_code), x509.NameAttribute(NameOID.COMMON_NAME, org_name)]
    if also_code:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, also_code))
    subject = x509.Name(attrs)
    if issuer == "demo":
        ca_cert, ca_key = demo_root()
        issuer_name = ca_cert.subject
    elif issuer == "self":
        ca_key, issuer_name = key, x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "演示数字证书认证中心"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Demo CA"),
        ])
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        issuer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Unknown CA")])
    start = now + dt.timedelta(days=starts_in_days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return Issued(cert, key)


def make_certificate(credit_code: str, org_name: str = "示范企业", *, der: bool = False, **kwargs) -> bytes:
    """Only the certificate's bytes (PEM, or DER)."""
    return issue(credit_code, org_name, **kwargs).cert_bytes(der)


def make_crl(revoked: list[x509.Certificate], *, days: int = 7) -> bytes:
    """A CRL of the demo root revoking ``revoked`` (PEM)."""
    ca_cert, ca_key = demo_root()
    now = dt.datetime.now(dt.timezone.utc)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
               .last_update(now - dt.timedelta(minutes=1)).next_update(now + dt.timedelta(days=days)))
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(cert.serial_number).revocation_date(now).build())
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def main(argv: list[str] | None = None) -> None:
    """``python -m seed.certs CREDIT_CODE UNIT_NAME [OUT_DIR]``: a demo enterprise certificate
    (enterprise.pem) and its private key (enterprise.key) for trying CA绑定 by hand."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        raise SystemExit(main.__doc__)
    out = args[2] if len(args) > 2 else "."
    os.makedirs(out, exist_ok=True)
    issued = issue(args[0], args[1], days=3650)
    with open(os.path.join(out, "enterprise.pem"), "wb") as fh:
        fh.write(issued.cert_bytes())
    with open(os.path.join(out, "enterprise.key"), "wb") as fh:
        fh.write(issued.key_pem())
    print(f"wrote {out}/enterprise.pem and {out}/enterprise.key (issued by the demo root CA)")


if __name__ == "__main__":
    main()
