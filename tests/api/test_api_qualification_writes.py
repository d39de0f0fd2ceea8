"""委托授权 and 注册证 written through the API (issue 15): the pages' services decide, files go
up as multipart and come back down, every field error is named, nothing half-saved."""
from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import func, select

from app.extensions import db
from app.models import Entrustment, QualCertificate
from tests.api.helpers import auth, new_key
from tests.factories import make_certified, make_national_cert
from app.models import UnitCategory, UnitRole

PDF = b"%PDF-1.4\n%%EOF\n"
TODAY = dt.date.today()


def _maker():
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    own = make_national_cert("粤械注准20152669001", user.unit.name)
    other = make_national_cert("国械注准20153109002", "别的企业")
    return user, own, other


def test_certificates_are_added_edited_with_a_scan_and_submitted(app, client):
    user, own, other = _maker()
    key = new_key(user)
    refused = client.post("/api/v1/certificates/", headers=auth(key), json={"cert_nos": [own.number, other.number]})
    assert refused.status_code == 422 and other.number in refused.json["errors"]["certificates"]
    assert db.session.scalar(select(func.count(QualCertificate.id))) == 0  # all or nothing, as on the page
    made = client.post("/api/v1/certificates/", headers=auth(key), json={"cert_nos": [own.number]})
    assert made.status_code == 201
    record = made.json["items"][0]
    url = f"/api/v1/certificates/{record['id']}"
    bad = client.put(url, headers=auth(key), json={"contact_phone": "123", "version": record["version"],
                                                   "submit": True})
    assert bad.status_code == 422 and {"contact_phone", "contact_name", "scan"} <= set(bad.json["errors"])
    saved = client.put(url, headers=auth(key), data={
        "contact_name": "张三", "contact_phone": "13800138000", "version": str(record["version"]),
        "scan": (io.BytesIO(PDF), "注册证.pdf")}, content_type="multipart/form-data")
    assert saved.status_code == 200, saved.json
    files = client.get(f"{url}/files", headers=auth(key)).json["items"]
    assert [f["slot"] for f in files] == ["scan"] and files[0]["filename"] == "注册证.pdf"
    body = client.get(f"{url}/files/{files[0]['id']}", headers=auth(key))
    assert body.status_code == 200 and body.data == PDF
    stale = client.put(url, headers=auth(key), json={"remark": "x", "version": record["version"]})
    assert stale.status_code == 409 and stale.json["current_version"] == saved.json["version"]
    done = client.put(url, headers=auth(key), json={"version": saved.json["version"], "submit": True})
    assert done.status_code == 200 and done.json["state"] == "pending_initial" and done.json["contact_name"] == "张三"


def test_an_entrustment_is_created_from_a_multipart_form_and_submitted(app, client):
    user, _own, other = _maker()
    imported = make_national_cert("国械注进20172409003", "Medtronic Inc.")
    key = new_key(user)
    form = {"kind": "agent", "principal_name": "Medtronic Inc.", "valid_from": TODAY.isoformat(),
            "valid_to": (TODAY + dt.timedelta(days=365)).isoformat(), "cert_nos": [imported.number]}
    missing = client.post("/api/v1/entrustments/", headers=auth(key), data=form, content_type="multipart/form-data")
    assert missing.status_code == 422 and {"letter_en", "letter_zh"} <= set(missing.json["errors"])
    assert db.session.scalar(select(func.count(Entrustment.id))) == 0
    made = client.post("/api/v1/entrustments/", headers={**auth(key), "Idempotency-Key": "wt-1"},
                       data={**form, "letter_en": (io.BytesIO(PDF), "en.pdf"), "zh_same_as_en": "1"},
                       content_type="multipart/form-data")
    assert made.status_code == 201, made.json
    assert made.json["cert_numbers"] == [imported.number] and made.json["number"].startswith("WT")
    files = client.get(f"/api/v1/entrustments/{made.json['id']}/files", headers=auth(key)).json["items"]
    assert sorted(f["slot"] for f in files) == ["letter_en", "letter_zh"]
    domestic = client.put(f"/api/v1/entrustments/{made.json['id']}", headers=auth(key),
                          json={"cert_nos": [other.number], "version": made.json["version"]})
    assert domestic.status_code == 422 and "进口注册证" in domestic.json["errors"]["certificates"]
    dates = client.put(f"/api/v1/entrustments/{made.json['id']}", headers=auth(key),
                       json={"valid_to": "2026-13-40", "version": made.json["version"]})
    assert dates.status_code == 422 and "valid_to" in dates.json["errors"]
    done = client.post(f"/api/v1/entrustments/{made.json['id']}/submit", headers=auth(key), json={})
    assert done.status_code == 200 and done.json["state"] == "pending_initial"
    assert db.session.scalar(select(func.count(Entrustment.id))) == 1


def test_a_retried_multipart_create_is_replayed_and_another_file_is_refused(app, client):
    user, own, _other = _maker()
    key = new_key(user)
    form = {"kind": "contract", "principal_name": "委托方", "valid_from": TODAY.isoformat(),
            "valid_to": (TODAY + dt.timedelta(days=30)).isoformat(), "cert_nos": [own.number]}
    headers = {**auth(key), "Idempotency-Key": "wt-contract-1"}
    first = client.post("/api/v1/entrustments/", headers=headers, content_type="multipart/form-data",
                        data={**form, "proof": (io.BytesIO(PDF), "p.pdf")})
    again = client.post("/api/v1/entrustments/", headers=headers, content_type="multipart/form-data",
                        data={**form, "proof": (io.BytesIO(PDF), "p.pdf")})
    assert first.status_code == again.status_code == 201 and again.json == first.json
    other = client.post("/api/v1/entrustments/", headers=headers, content_type="multipart/form-data",
                        data={**form, "proof": (io.BytesIO(PDF + b"x"), "p.pdf")})
    assert other.status_code == 422
    assert db.session.scalar(select(func.count(Entrustment.id))) == 1
