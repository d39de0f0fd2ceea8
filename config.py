"""Configuration classes, read from the environment (microblog style).

``create_app()`` picks one by ``APP_ENV`` (``development`` by default,
``production`` or ``test``); tests pass :class:`TestConfig` directly.
"""
from __future__ import annotations

import os
from datetime import timedelta

from flask_appbuilder.const import AUTH_DB

BASE_DIR = os.path.abspath(os.path.dirname(__file__))
INSTANCE_DIR = os.path.join(BASE_DIR, "instance")


def _sqlite_url(path: str) -> str:
    return "sqlite:///" + path


class Config:
    ENV_NAME = "development"
    APP_NAME = "广东医保服务平台"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or _sqlite_url(
        os.path.join(INSTANCE_DIR, "app.db")
    )
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    # FAB: the schema belongs to Alembic and permissions to `flask sync-roles`.
    FAB_CREATE_DB = False
    FAB_UPDATE_PERMS = False
    FAB_ADD_SECURITY_API = False  # FAB registers its SecurityApi anyway: the manager drops it
    # 我的API密钥 (FAB's API keys, ``Authorization: Bearer sst_…``) are the one credential of
    # /api/v1; FAB's token login API stays unregistered (README, Security model and API).
    FAB_API_KEY_ENABLED = True
    FAB_API_KEY_PREFIXES = ["sst_"]
    # 256 random bits need no slow hash; this keeps a key check cheap on every call
    FAB_API_KEY_HASH_METHOD = "pbkdf2:sha256:20000"
    # Per API key (Flask-Limiter, counters in RATELIMIT_STORAGE_URI: Redis with several servers)
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600 per minute")
    API_IDEMPOTENCY_DAYS = 7  # stored Idempotency-Key replies are kept this long (the daily run)
    API_PAGE_SIZE = 50
    API_PAGE_SIZE_MAX = 200
    # Swagger UI of /api/v1 for logged-in users (FAB's assets, served locally)
    FAB_API_SWAGGER_UI = False  # FAB's own SwaggerView has an inline script: ours replaces it
    FAB_INDEX_VIEW = "app.views.home.HomeView"
    FAB_SECURITY_MANAGER_CLASS = "app.security.manager.PlatformSecurityManager"
    AUTH_TYPE = AUTH_DB
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    AUTH_USER_REGISTRATION = False
    FAB_PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")
    LOGOUT_REDIRECT_URL = "/"

    # Babel: Chinese first, English selectable.
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_TRANSLATION_DIRECTORIES = os.path.join(BASE_DIR, "app", "translations")
    LANGUAGES = {
        "zh": {"flag": "cn", "name": "简体中文"},
        "en": {"flag": "gb", "name": "English"},
    }

    # Per-IP rate limit of login / password-recovery POSTs (FAB + Flask-Limiter).
    # Generous on purpose: a hospital's staff share one NAT address at 8:30; the
    # per-account lockout below carries the brute-force defence.
    # Use Redis when several app servers run: RATELIMIT_STORAGE_URI=redis://host:6379/0
    RATELIMIT_ENABLED = True
    AUTH_RATE_LIMITED = True
    AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "300 per minute")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    # 单位注册 POSTs per IP (app/security/credentials.py).
    REGISTRATION_RATE_LIMIT = os.environ.get("REGISTRATION_RATE_LIMIT", "10 per hour")

    # Account lockout: N failures within the window lock the account for a while.
    LOGIN_MAX_FAILURES = 5
    LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
    LOGIN_LOCKOUT = timedelta(minutes=15)

    # SMS verification codes.
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "database")  # database | http
    SMS_HTTP_URL = os.environ.get("SMS_HTTP_URL", "")
    SMS_CODE_TTL = timedelta(minutes=5)
    SMS_CODE_MAX_ATTEMPTS = 5
    SMS_RESEND_COOLDOWN = timedelta(seconds=60)
    # SMS pumping guard (app/services/sms_throttle.py): limits syntax, ';' between limits.
    SMS_LIMIT_PER_PHONE = os.environ.get("SMS_LIMIT_PER_PHONE", "5 per hour;10 per day")
    SMS_LIMIT_PER_UNIT = os.environ.get("SMS_LIMIT_PER_UNIT", "30 per hour;100 per day")
    SMS_LIMIT_PER_IDENTIFIER = os.environ.get("SMS_LIMIT_PER_IDENTIFIER", "5 per hour")
    # Delivery through the job queue (app/services/sms.py): attempts in all, and the
    # seconds waited before each retry; the gateway's own timeout per attempt.
    SMS_MAX_ATTEMPTS = int(os.environ.get("SMS_MAX_ATTEMPTS", "4"))
    SMS_RETRY_BACKOFF = [int(s) for s in os.environ.get("SMS_RETRY_BACKOFF", "5,30,120").split(",") if s.strip()]
    SMS_HTTP_TIMEOUT = float(os.environ.get("SMS_HTTP_TIMEOUT", "10"))
    # Development outbox: the full text of messages sent by this process, kept in its
    # memory for 短信发件箱 (how demo users read their SMS). Never in production.
    SMS_DEV_OUTBOX = False

    # Sensitive personal data (app/security/pii.py): Fernet keys (first encrypts, all
    # decrypt) and the HMAC key of the look-up hashes.  Production has no default.
    PII_KEYS = os.environ.get("PII_KEYS", "")
    PII_HASH_KEY = os.environ.get("PII_HASH_KEY", "")

    # Retention (`flask prune`, daily): days kept.  The audit log is kept at least 180
    # days (网络安全法: network logs ≥ 6 months); import error files go before the import log.
    AUDIT_RETENTION_DAYS = int(os.environ.get("AUDIT_RETENTION_DAYS", "1095"))
    SMS_RETENTION_DAYS = int(os.environ.get("SMS_RETENTION_DAYS", "180"))
    IMPORT_LOG_RETENTION_DAYS = int(os.environ.get("IMPORT_LOG_RETENTION_DAYS", "365"))
    IMPORT_ERROR_FILE_RETENTION_DAYS = int(os.environ.get("IMPORT_ERROR_FILE_RETENTION_DAYS", "30"))
    JOB_RETENTION_DAYS = int(os.environ.get("JOB_RETENTION_DAYS", "90"))

    # Review levels per record type: 1 = initial only, 2 = initial + final.
    REVIEW_LEVELS = {"entrustment": 2, "certificate": 2, "product": 2}
    ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024

    MAX_CONTENT_LENGTH = 20 * 1024 * 1024

    # Background jobs (app/jobs.py). JOB_QUEUE: rq | thread | sync; empty = rq when a Redis URL
    # is set (workers: `flask jobs worker`), else a thread in the web process (development).
    REDIS_URL = os.environ.get("REDIS_URL", "")
    JOB_REDIS_URL = os.environ.get("JOB_REDIS_URL", "")
    JOB_QUEUE = os.environ.get("JOB_QUEUE", "")
    JOB_QUEUE_NAME = os.environ.get("JOB_QUEUE_NAME", "default")
    JOB_TIMEOUT = int(os.environ.get("JOB_TIMEOUT", str(6 * 3600)))
    JOB_STALE_SECONDS = int(os.environ.get("JOB_STALE_SECONDS", "300"))

    # PostgreSQL limits per web request (ms), below gunicorn's 30 s worker timeout; a
    # request over them gets the 请求超时 page.  Imports through a page get their own
    # statement budget; the CLI has none.
    DB_STATEMENT_TIMEOUT_MS = int(os.environ.get("DB_STATEMENT_TIMEOUT_MS", "15000"))
    DB_LOCK_TIMEOUT_MS = int(os.environ.get("DB_LOCK_TIMEOUT_MS", "5000"))
    IMPORT_STATEMENT_TIMEOUT_MS = int(os.environ.get("IMPORT_STATEMENT_TIMEOUT_MS", "25000"))

    # Web uploads (product and national imports through a page): a file with more rows
    # per sheet is refused whole; at most this many unzipped bytes are read; only the
    # first IMPORT_MAX_REJECTED_KEPT rejected rows are kept (the rest are counted).
    # Large national releases go through `flask national import` (no such caps).
    IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "20000"))
    IMPORT_MAX_UNZIPPED_BYTES = int(os.environ.get("IMPORT_MAX_UNZIPPED_MB", "100")) * 1024 * 1024
    IMPORT_MAX_REJECTED_KEPT = int(os.environ.get("IMPORT_MAX_REJECTED_KEPT", "1000"))
    CA_MAX_BYTES = 64 * 1024
    # CA trust (app/services/ca.py): a PEM bundle of trusted roots, optional CRL files
    # (PEM or DER, comma-separated).  Production trusts only what the operator configures.
    CA_TRUSTED_ROOTS = os.environ.get("CA_TRUSTED_ROOTS", "")
    CA_CRL_FILES = [p for p in os.environ.get("CA_CRL_FILES", "").split(",") if p]
    CA_CHALLENGE_TTL = timedelta(minutes=15)
    # A registration that never certified frees its credit code after this many days.
    UNCERTIFIED_REGISTRATION_DAYS = int(os.environ.get("UNCERTIFIED_REGISTRATION_DAYS", "30"))
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    DEMO_DATA = False

    # Reverse proxies in front of the app that append X-Forwarded-For/-Proto (0 = none:
    # the headers are ignored). Behind one nginx: TRUSTED_PROXIES=1 (see README).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    TRUST_FORWARDED_HOST = os.environ.get("TRUST_FORWARDED_HOST", "0") == "1"
    # Security headers (Flask-Talisman): no inline script; scripts from our own static
    # files or with the request's nonce; the app is never framed.
    CONTENT_SECURITY_POLICY = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data:",
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    HSTS_ENABLED = False
    HSTS_MAX_AGE = 365 * 24 * 3600
    FORCE_HTTPS = False
    # Operations (README, 运维): logs, readiness, metrics.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")  # text | json
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    READYZ_CHECK_MIGRATIONS = True
    METRICS_PATH = os.environ.get("METRICS_PATH", "/metrics")  # empty: no metrics endpoint
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")  # Authorization: Bearer <token>
    METRICS_ALLOWED_IPS = os.environ.get("METRICS_ALLOWED_IPS", "127.0.0.1,::1")

    # Sessions end (README, Security model): idle and absolute lifetimes, checked on
    # every request with the user's session epoch (app/security/sessions.py).
    SESSION_IDLE_TIMEOUT = timedelta(minutes=int(os.environ.get("SESSION_IDLE_MINUTES", "120")))
    SESSION_ABSOLUTE_LIFETIME = timedelta(hours=int(os.environ.get("SESSION_ABSOLUTE_HOURS", "12")))
    PERMANENT_SESSION_LIFETIME = SESSION_ABSOLUTE_LIFETIME
    # Write the cookie only when the session changed: a stray late response (a 404 favicon)
    # must not put back an older session (it would erase the CSRF token or the CA challenge).
    SESSION_REFRESH_EACH_REQUEST = False

    @classmethod
    def check(cls) -> None:
        """Refuse to start with an unsafe configuration (production overrides)."""


DEMO_ROOT_CA = os.path.join(BASE_DIR, "seed", "ca", "demo-root.pem")


class DevelopmentConfig(Config):
    SECRET_KEY = os.environ.get("SECRET_KEY") or "dev-only-secret-key-not-for-production"
    SMS_DEV_OUTBOX = True
    PII_KEYS = os.environ.get("PII_KEYS") or "ZGV2LW9ubHktcGlpLWtleS1ub3QtZm9yLXByb2R1Y3Q="  # = pii.DEV_PII_KEY
    PII_HASH_KEY = os.environ.get("PII_HASH_KEY") or "dev-only-pii-hash-key-not-for-production"
    # the demo root CA that issues the demo enterprises' certificates (seed/certs.py)
    CA_TRUSTED_ROOTS = os.environ.get("CA_TRUSTED_ROOTS") or DEMO_ROOT_CA


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") == "1"
    HSTS_ENABLED = os.environ.get("HSTS", "1") == "1"

    @classmethod
    def check(cls) -> None:
        from app.security.secrets import check_demo_trust, check_secret_key

        from app.security.pii import check_keys

        check_secret_key(cls.SECRET_KEY, BASE_DIR)
        check_demo_trust(cls.CA_TRUSTED_ROOTS, DEMO_ROOT_CA)
        check_keys(cls.PII_KEYS, cls.PII_HASH_KEY, BASE_DIR)


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or _sqlite_url(
        os.path.join(INSTANCE_DIR, "test.db")
    )
    # A cheap hash keeps the suite fast; production keeps scrypt.
    FAB_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    AUTH_RATE_LIMIT = "1000 per minute"
    API_RATE_LIMIT = "10000 per minute"
    FAB_API_KEY_HASH_METHOD = "pbkdf2:sha256:1000"
    REGISTRATION_RATE_LIMIT = "1000 per minute"
    CA_TRUSTED_ROOTS = DEMO_ROOT_CA
    RATELIMIT_STORAGE_URI = "memory://"
    WTF_CSRF_ENABLED = True
    # Jobs run at once in tests; tests of the queue itself choose rq or thread.
    REDIS_URL = ""
    JOB_REDIS_URL = ""
    JOB_QUEUE = "sync"
    SMS_DEV_OUTBOX = True  # tests read the codes and passwords they send from it
    SMS_RETRY_BACKOFF = [0, 0, 0]
    PII_KEYS = "dGVzdC1vbmx5LXBpaS1rZXktbm90LWZvci1wcm9kdWM="
    PII_HASH_KEY = "test-only-pii-hash-key-not-for-production"


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "test": TestConfig,
}


def config_from_env() -> type[Config]:
    return CONFIGS.get(os.environ.get("APP_ENV", "development"), DevelopmentConfig)
