"""审核管理 through the API for reviewer accounts (issue 15): the queues of the reviewer's level,
a submitted record, decisions through the engine (two levels, opinions, version checks)."""
from __future__ import annotations

from app.extensions import db
from app.models import QualCertificate
from app.services import products
from tests.api.fixtures import manufacturer, pack, reviewers
from tests.api.helpers import auth, new_key
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_platform_user


def test_initial_then_final_reviewer_decide_through_the_api(app, client):
    maker, cert, _item = manufacturer()
    chu, fu = reviewers()
    chu_key, fu_key = new_key(chu, "初审系统"), new_key(fu, "复审系统")
    queue = client.get("/api/v1/review/certificate/initial/", headers=auth(chu_key))
    assert queue.status_code == 200 and [r["id"] for r in queue.json["items"]] == [cert.id]
    assert queue.json["items"][0]["unit_name"] == maker.unit.name
    assert client.get("/api/v1/review/certificate/final/", headers=auth(chu_key)).status_code == 403
    url = f"/api/v1/review/certificate/{cert.id}"
    got = client.get(url, headers=auth(chu_key)).json
    stale = client.post(f"{url}/decide", headers=auth(chu_key), json={"action": "approve", "version": got["version"] - 1})
    assert stale.status_code == 409 and stale.json["current_version"] == got["version"]
    no_opinion = client.post(f"{url}/decide", headers=auth(chu_key), json={"action": "reject"})
    assert no_opinion.status_code == 422 and "审核意见" in no_opinion.json["message"]
    bad = client.post(f"{url}/decide", headers=auth(chu_key), json={"action": "delete"})
    assert bad.status_code == 422 and "action" in bad.json["errors"]
    done = client.post(f"{url}/decide", headers=auth(chu_key), json={"action": "approve", "version": got["version"]})
    assert done.status_code == 200 and done.json["state"] == "pending_final"
    # the initial reviewer cannot take the final step: the engine refuses, nothing changes
    again = client.post(f"{url}/decide", headers=auth(chu_key), json={"action": "approve"})
    assert again.status_code == 422
    final = client.post(f"{url}/decide", headers=auth(fu_key), json={"action": "approve", "opinion": "同意"})
    assert final.status_code == 200 and final.json["state"] == "effective"
    db.session.expire_all()
    assert db.session.get(QualCertificate, cert.id).state == "effective"
    from sqlalchemy import select

    from app.models import AuditLog

    names = set(db.session.scalars(select(AuditLog.api_key).where(AuditLog.event == "wf_approve")))
    assert names == {"初审系统", "复审系统"}


def test_drafts_are_invisible_and_unit_keys_cannot_review(app, client):
    maker, _cert, item = manufacturer()
    draft = products.add_packaging(maker, item, pack(item))
    chu, _fu = reviewers()
    key = new_key(chu)
    assert client.get(f"/api/v1/review/product/{draft.id}", headers=auth(key)).status_code == 404
    assert client.post(f"/api/v1/review/product/{draft.id}/decide", headers=auth(key),
                       json={"action": "approve"}).status_code == 404
    assert client.get("/api/v1/review/nothing/initial/", headers=auth(key)).status_code == 404
    unit_key = new_key(maker)
    assert client.get("/api/v1/review/certificate/initial/", headers=auth(unit_key)).status_code == 403
    submitted = products.add_packaging(maker, item, pack(item, 2), submit=True)
    resp = client.post(f"/api/v1/review/product/{submitted.id}/decide", headers=auth(unit_key),
                       json={"action": "approve"})
    assert resp.status_code == 403  # no self-review: the unit's own key holds no review permission


def test_reviewers_have_the_key_page_admins_do_not(app, client):
    chu, _fu = reviewers()
    login(client, chu.username, PASSWORD)
    assert client.get("/hall/api-keys/").status_code == 200
    token = csrf_token(client, "/hall/api-keys/")
    import datetime as dt

    resp = client.post("/hall/api-keys/", data={"csrf_token": token, "name": "审核系统",
                                               "expires": (dt.date.today() + dt.timedelta(days=5)).isoformat()})
    assert "sst_" in resp.get_data(as_text=True)
    admin = make_platform_user("keyadmin2", "Admin")
    from app.services import api_keys

    assert not api_keys.may_hold_keys(admin)


def test_batch_approve_through_the_api(app, client):
    first, first_cert, _ = manufacturer()
    second, second_cert, _ = manufacturer()
    chu, fu = reviewers()
    key = new_key(chu, "批量初审")
    url = "/api/v1/review/certificate/initial/batch-approve"
    resp = client.post(url, headers=auth(key), json={"ids": [first_cert.id, second_cert.id]})
    assert resp.status_code == 200 and sorted(resp.json["ok"]) == sorted([first_cert.id, second_cert.id])
    db.session.expire_all()
    assert {db.session.get(QualCertificate, c.id).state for c in (first_cert, second_cert)} == {"pending_final"}
    # the initial reviewer's key cannot approve the final level: each record is refused, nothing changes
    again = client.post(url, headers=auth(key), json={"ids": [first_cert.id]})
    assert again.status_code == 200 and again.json["ok"] == [] and again.json["failed"][0]["id"] == first_cert.id
    assert client.post("/api/v1/review/certificate/final/batch-approve", headers=auth(key),
                       json={"ids": [first_cert.id]}).status_code == 403
    assert client.post(url, headers=auth(key), json={"ids": []}).status_code == 422
    assert client.post(url, headers=auth(key), json={"ids": [2**31 - 1]}).status_code == 404
    unit_key = new_key(first)
    assert client.post(url, headers=auth(unit_key), json={"ids": [first_cert.id]}).status_code == 403
