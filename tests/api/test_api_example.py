"""docs/api-example.py, run as a separate program against a live server (issue 15 §5): the
manufacturer's CSV becomes packaging rows submitted in one batch (twice run, never duplicated);
the hospital pages through 耗材产品查询 and gets every row."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.extensions import db
from app.models import QualProduct, UnitCategory, UnitRole
from tests.api.fixtures import effective_products, manufacturer
from tests.api.helpers import new_key
from tests.factories import make_certified

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "docs", "api-example.py")


@pytest.fixture(scope="module")
def server(app):
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def run(*args: str) -> list[dict]:
    done = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_manufacturer_creates_rows_from_csv_and_submits_them_in_one_batch(server, tmp_path):
    user, _cert, item = manufacturer(specs=5)
    key = new_key(user)
    db.session.commit()
    sheet = tmp_path / "packaging.csv"
    sheet.write_text("code,min_unit,pack_unit,pack_ratio,mid_unit,mid_ratio\n"
                     f"{item.code}0000001,支,盒,10,箱,20\n"
                     f"{item.code}0000002,支,盒,5,,\n"
                     f"{item.code}0000003,吨,盒,5,,\n", encoding="utf-8")
    result = run("manufacturer", "--base-url", server, "--key", key, "--csv", str(sheet))[0]
    assert len(result["created"]) == 2 and result["submitted"] == result["created"]
    assert [r["line"] for r in result["refused"]] == [4] and "min_unit" in result["refused"][0]["errors"]
    db.session.expire_all()
    states = db.session.scalars(select(QualProduct.state).where(QualProduct.unit_id == user.unit_id)).all()
    assert sorted(states) == ["pending_initial", "pending_initial"]
    again = run("manufacturer", "--base-url", server, "--key", key, "--csv", str(sheet))[0]
    assert again["created"] == result["created"]  # replayed, never duplicated
    assert db.session.scalar(select(func.count(QualProduct.id))) == 2


def test_hospital_pages_through_the_product_query(server):
    _maker, _item, made = effective_products(5)
    hospital = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    key = new_key(hospital)
    db.session.commit()
    lines = run("hospital", "--base-url", server, "--key", key, "--limit", "2")
    assert lines[-1] == {"rows": 5}
    assert [row["code"] for row in lines[:-1]] == [p.code for p in made]
