"""Production refuses a SECRET_KEY anyone could know.

The key signs session cookies: whoever knows it can forge a 平台管理员 session.
A key is refused when it is shorter than 32 bytes or when it appears anywhere in
the repository (the development and test keys, README examples, a key someone
committed by mistake).
"""
from __future__ import annotations

import os

MIN_SECRET_KEY_BYTES = 32
GENERATE_HINT = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'

# Files that can hold a published key; data (seed CSVs, workbooks) cannot.
_TEXT_SUFFIXES = (".py", ".md", ".txt", ".cfg", ".ini", ".toml", ".env", ".sh", ".yml", ".yaml",
                  ".json", ".html", ".example", "Makefile", ".pot", ".po")
_SKIP_DIRS = {".venv", ".git", "instance", "node_modules", "__pycache__", "test-artifacts",
              ".pytest_cache"}
_MAX_FILE_BYTES = 2 * 1024 * 1024


class UnsafeSecretKey(RuntimeError):
    pass


def published_in(key: str, root: str) -> str | None:
    """The repository file (relative path) that contains ``key``, or None."""
    needle = key.encode()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".")]
        for name in filenames:
            if not (name.endswith(_TEXT_SUFFIXES) or name.startswith(".env")):
                continue
            path = os.path.join(dirpath, name)
            try:
                if os.path.getsize(path) > _MAX_FILE_BYTES:
                    continue
                with open(path, "rb") as fh:
                    if needle in fh.read():
                        return os.path.relpath(path, root)
            except OSError:
                continue
    return None


def check_secret_key(key: str | None, root: str) -> None:
    """Raise :class:`UnsafeSecretKey` unless ``key`` is long and unpublished."""
    if not key:
        raise UnsafeSecretKey(f"SECRET_KEY must be set in production; generate one with: {GENERATE_HINT}")
    if len(key.encode()) < MIN_SECRET_KEY_BYTES:
        raise UnsafeSecretKey(
            f"SECRET_KEY is shorter than {MIN_SECRET_KEY_BYTES} bytes; generate one with: {GENERATE_HINT}")
    where = published_in(key, root)
    if where is not None:
        raise UnsafeSecretKey(
            f"SECRET_KEY appears in the repository ({where}); generate a new one with: {GENERATE_HINT}")


def check_demo_trust(roots_path: str | None, demo_root_path: str) -> None:
    """Production must not trust the demo root CA: its private key is in the repository."""
    if not roots_path or not os.path.exists(roots_path) or not os.path.exists(demo_root_path):
        return
    with open(demo_root_path, "rb") as fh:
        demo = fh.read().strip()
    with open(roots_path, "rb") as fh:
        if demo in fh.read():
            raise UnsafeSecretKey("CA_TRUSTED_ROOTS contains the demo root CA (seed/ca), whose private key is "
                                  "published; configure only the CAs the platform really trusts")
