"""Sensitive personal data (身份证号) at rest: encrypted, with a keyed hash for look-ups.

- ``PII_KEYS``: Fernet keys (``cryptography``), comma-separated.  The first encrypts,
  every one decrypts (``MultiFernet``), so a key is rotated by putting a new key first,
  running ``flask pii rotate`` (re-encrypts every value with it) and then dropping the
  old key.
- ``PII_HASH_KEY``: the HMAC-SHA256 key of the ``*_hash`` columns that uniqueness and
  ``flask pii find`` rely on (the ciphertext differs every time, the hash does not).

Development and tests use the published keys below; production refuses them and
refuses to start without keys of its own (:func:`check_keys`).
"""
from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app, has_app_context
from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

# Published on purpose (development and tests only): production refuses both.
DEV_PII_KEY = "ZGV2LW9ubHktcGlpLWtleS1ub3QtZm9yLXByb2R1Y3Q="
DEV_PII_HASH_KEY = "dev-only-pii-hash-key-not-for-production"
MIN_HASH_KEY_BYTES = 32
KEY_HINT = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
HASH_KEY_HINT = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
# Room for a Fernet token of an 18-character ID number (120 characters) and a longer value.
CIPHERTEXT_LENGTH = 255

_cache: dict[tuple[str, ...], MultiFernet] = {}


class PiiKeyError(RuntimeError):
    """Missing, malformed or published keys, or a value no configured key can read."""


def split_keys(value) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [k.strip() for k in value if k and k.strip()]
    return [k.strip() for k in (value or "").split(",") if k.strip()]


def _config(config=None):
    if config is not None:
        return config
    if not has_app_context():
        raise PiiKeyError("personal data needs the application's PII_KEYS (no application context)")
    return current_app.config


def fernet(config=None) -> MultiFernet:
    keys = tuple(split_keys(_config(config).get("PII_KEYS")))
    if not keys:
        raise PiiKeyError(f"PII_KEYS is not configured; generate a key with: {KEY_HINT}")
    multi = _cache.get(keys)
    if multi is None:
        try:
            multi = MultiFernet([Fernet(k.encode()) for k in keys])
        except ValueError as exc:
            raise PiiKeyError(f"PII_KEYS holds a malformed key (Fernet keys are 32 url-safe base64 bytes): "
                              f"{exc}; generate one with: {KEY_HINT}") from None
        _cache[keys] = multi
    return multi


def normalise(value: str | None) -> str:
    return (value or "").strip().upper()


def encrypt(value: str, config=None) -> str:
    return fernet(config).encrypt(value.encode()).decode("ascii")


def decrypt(token: str, config=None) -> str:
    try:
        return fernet(config).decrypt(token.encode("ascii")).decode()
    except InvalidToken:
        raise PiiKeyError("an encrypted value cannot be read with any key in PII_KEYS "
                          "(a key was removed before `flask pii rotate` ran?)") from None


def rotate(token: str, config=None) -> str:
    """The same value encrypted with the first key (``MultiFernet.rotate``)."""
    try:
        return fernet(config).rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise PiiKeyError("an encrypted value cannot be read with any key in PII_KEYS") from None


def is_token(value: str | None) -> bool:
    """A Fernet token (version byte 0x80 → ``gAAAAA`` in base64), not a plain ID number."""
    return bool(value) and value.startswith("gAAAAA") and len(value) > 60


def keyed_hash(value: str | None, config=None) -> str | None:
    """HMAC-SHA256 of the normalised value (hex), None for an empty value."""
    value = normalise(value)
    if not value:
        return None
    key = _config(config).get("PII_HASH_KEY") or ""
    if not key:
        raise PiiKeyError(f"PII_HASH_KEY is not configured; generate one with: {HASH_KEY_HINT}")
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


class EncryptedString(TypeDecorator):
    """A string column stored as a Fernet token: plain text in Python, ciphertext in SQL.

    Equality in SQL cannot work on it (every encryption differs): look values up by
    their keyed hash column instead.
    """

    impl = String(CIPHERTEXT_LENGTH)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return encrypt(normalise(value))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return decrypt(value)


def check_keys(keys, hash_key: str | None, root: str) -> None:
    """Production: refuse to start without usable keys of the installation's own."""
    from app.security.secrets import UnsafeSecretKey, published_in

    keys = split_keys(keys)
    if not keys:
        raise UnsafeSecretKey(f"PII_KEYS must be set in production (ID numbers are encrypted with it); "
                              f"generate a key with: {KEY_HINT}")
    for key in keys:
        try:
            Fernet(key.encode())
        except ValueError:
            raise UnsafeSecretKey(f"PII_KEYS holds a malformed key; generate one with: {KEY_HINT}") from None
        if key == DEV_PII_KEY or published_in(key, root):
            raise UnsafeSecretKey(f"a key of PII_KEYS appears in the repository; generate a new one with: {KEY_HINT}")
    if not hash_key:
        raise UnsafeSecretKey(f"PII_HASH_KEY must be set in production; generate one with: {HASH_KEY_HINT}")
    if len(hash_key.encode()) < MIN_HASH_KEY_BYTES:
        raise UnsafeSecretKey(f"PII_HASH_KEY is shorter than {MIN_HASH_KEY_BYTES} bytes; "
                              f"generate one with: {HASH_KEY_HINT}")
    if hash_key == DEV_PII_HASH_KEY or published_in(hash_key, root):
        raise UnsafeSecretKey(f"PII_HASH_KEY appears in the repository; generate a new one with: {HASH_KEY_HINT}")
