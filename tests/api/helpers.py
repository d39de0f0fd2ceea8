"""API test helpers: real keys through the real service, a client that sends them."""
from __future__ import annotations

import datetime as dt

from app.services import api_keys


def new_key(user, name: str = "ERP对接", days: int = 30) -> str:
    return api_keys.create(user, name, dt.date.today() + dt.timedelta(days=days))["key"]


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}
