"""Per-IP rate limit on login / recovery POSTs (FAB's limiter), audited."""
from sqlalchemy import select

from config import TestConfig
from tests.conftest import IsolatedClient, csrf_token


class LowLimitConfig(TestConfig):
    AUTH_RATE_LIMIT = "3 per minute"


def test_too_many_login_posts_from_one_ip_get_429_in_chinese():
    from app import create_app
    from app.extensions import db
    from app.models import AuditLog

    app = create_app(LowLimitConfig)
    with app.app_context():
        client = IsolatedClient(app, app.response_class, use_cookies=True)
        token = csrf_token(client)
        codes = [client.post("/login/", data={"csrf_token": token, "username": f"nobody{i}a",
                                               "password": "x"}).status_code for i in range(4)]
        assert codes[:3] == [200, 200, 200]
        assert codes[3] == 429
        for _ in range(3):
            client.post("/forgot-password/", data={"csrf_token": token, "identifier": "nobody1a"})
        resp = client.post("/forgot-password/", data={"csrf_token": token, "identifier": "nobody1a"})
        assert resp.status_code == 429 and "操作过于频繁" in resp.get_data(as_text=True)
        assert db.session.scalar(select(AuditLog).where(AuditLog.event == "rate_limited")) is not None
        db.session.remove()
