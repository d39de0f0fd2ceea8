"""Production refuses a SECRET_KEY anyone could know (issue 10 §5)."""
from __future__ import annotations

import secrets

import pytest

from app.security.secrets import UnsafeSecretKey, check_secret_key
from config import BASE_DIR, DevelopmentConfig, ProductionConfig, TestConfig


def production_with(key):
    class Configured(ProductionConfig):
        SECRET_KEY = key
    return Configured


@pytest.mark.parametrize("key", [None, "", "x", "a" * 31, DevelopmentConfig.SECRET_KEY, TestConfig.SECRET_KEY])
def test_production_does_not_start_with_a_short_missing_or_published_key(key):
    from app import create_app

    with pytest.raises(UnsafeSecretKey):
        create_app(production_with(key))


def test_a_long_key_that_appears_anywhere_in_the_repository_is_refused(tmp_path):
    published = "this-long-key-was-pasted-into-the-docs-0123456789"
    (tmp_path / "README.md").write_text(f"export SECRET_KEY='{published}'\n")
    with pytest.raises(UnsafeSecretKey) as exc:
        check_secret_key(published, str(tmp_path))
    assert "README.md" in str(exc.value)


def test_the_development_key_is_found_in_this_repository():
    with pytest.raises(UnsafeSecretKey) as exc:
        check_secret_key(DevelopmentConfig.SECRET_KEY, BASE_DIR)
    assert "config.py" in str(exc.value)


def test_a_generated_key_is_accepted():
    check_secret_key(secrets.token_urlsafe(48), BASE_DIR)


def test_production_does_not_trust_the_demo_root_ca():
    """Its private key is in the repository: anyone could issue a 'trusted' certificate."""
    from app import create_app
    from config import DEMO_ROOT_CA

    class Configured(ProductionConfig):
        SECRET_KEY = secrets.token_urlsafe(48)
        CA_TRUSTED_ROOTS = DEMO_ROOT_CA

    with pytest.raises(UnsafeSecretKey) as exc:
        create_app(Configured)
    assert "demo root CA" in str(exc.value)
