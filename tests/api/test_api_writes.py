"""/api/v1 writes (issue 15 §3): create / update (409 on a stale version), 提交 / 撤回 /
变更 / 批量提交 through the same services and workflow engine as the pages, and
``Idempotency-Key`` so a retried create or submit never duplicates."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiIdempotency, QualProduct, WorkflowHistory
from app.services import products
from tests.api.fixtures import effective_products, manufacturer, pack
from tests.api.helpers import auth, new_key


def _count(model=QualProduct) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(model.id)))


def _body(item, n=1, **kw):
    data = {"code": f"{item.code}{n:07d}", "min_unit": "支", "pack_unit": "盒", "pack_ratio": 10}
    data.update(kw)
    return data


def test_create_saves_a_draft_through_the_service(app, client):
    user, _cert, item = manufacturer()
    key = new_key(user)
    resp = client.post("/api/v1/products/", headers=auth(key), json=_body(item, mid_unit="箱", mid_ratio=20))
    assert resp.status_code == 201, resp.json
    assert resp.json["state"] == "draft" and resp.json["mid_spec"] == "20盒/箱" and resp.json["item_id"] == item.id
    history = db.session.scalars(select(WorkflowHistory).where(WorkflowHistory.record_type == "product", WorkflowHistory.record_id == resp.json["id"])).all()
    assert [h.action for h in history] == ["create"] and history[0].username == user.username


def test_bad_input_gets_field_errors_in_chinese_and_nothing_is_saved(app, client):
    user, _cert, item = manufacturer()
    key = new_key(user)
    cases = [
        ({"pack_ratio": 0}, "pack_ratio", "大于等于1的整数"),
        ({"pack_ratio": 2.5}, "pack_ratio", "整数"),
        ({"min_unit": "吨"}, "min_unit", "不在数据字典中"),
        ({"mid_unit": "箱"}, "mid_ratio", "同时填写或同时不填"),
        ({"code": "C09"}, "code", "格式错误"),
        ({"code": "C0901010100000099999" + "0000001"}, "code", "不属于本单位"),
        ({"code": 12}, "code", "应为文本"),
        ({"min_unit": "支\x00"}, "min_unit", ""),
    ]
    for change, field, fragment in cases:
        resp = client.post("/api/v1/products/", headers=auth(key), json=_body(item, **change))
        assert resp.status_code == 422, (change, resp.status_code, resp.get_data(as_text=True))
        assert fragment in resp.json["errors"][field], (change, resp.json)
    for raw in ("not json", "[1, 2]", ""):
        resp = client.post("/api/v1/products/", headers={**auth(key), "Content-Type": "application/json"}, data=raw)
        assert resp.status_code == 400 and resp.json["message"]
    assert _count() == 0


def test_update_with_a_stale_version_gets_409_and_the_current_version(app, client):
    user, _cert, item = manufacturer()
    record = products.add_packaging(user, item, pack(item))
    key = new_key(user)
    url = f"/api/v1/products/{record.id}"
    v1 = client.get(url, headers=auth(key)).json["version"]
    ok = client.put(url, headers=auth(key), json={**_body(item), "pack_ratio": 20, "version": v1})
    assert ok.status_code == 200 and ok.json["pack_ratio"] == 20 and ok.json["version"] == v1 + 1
    stale = client.put(url, headers=auth(key), json={**_body(item), "pack_ratio": 30, "version": v1})
    assert stale.status_code == 409 and stale.json["current_version"] == v1 + 1
    db.session.expire_all()
    assert db.session.get(QualProduct, record.id).pack_ratio == 20
    missing = client.put(url, headers=auth(key), json={**_body(item), "pack_ratio": 30})
    assert missing.status_code == 422 and "version" in missing.json["errors"]
    # the code never changes, as on the page
    same = client.put(url, headers=auth(key), json={**_body(item, 2), "version": v1 + 1})
    assert same.status_code == 200 and same.json["code"] == record.code


def test_submit_withdraw_and_the_engines_refusals(app, client):
    user, _cert, item = manufacturer()
    record = products.add_packaging(user, item, pack(item))
    key = new_key(user)
    base = f"/api/v1/products/{record.id}"
    stale = client.post(f"{base}/submit", headers=auth(key), json={"version": record.version + 5})
    assert stale.status_code == 409 and stale.json["current_version"] == record.version
    done = client.post(f"{base}/submit", headers=auth(key), json={"version": record.version})
    assert done.status_code == 200 and done.json["state"] == "pending_initial"
    again = client.post(f"{base}/submit", headers=auth(key))
    assert again.status_code == 422 and "不能提交" in again.json["message"]
    edit = client.put(base, headers=auth(key), json={**_body(item), "version": done.json["version"]})
    assert edit.status_code == 422 and "不能编辑" in edit.json["message"]
    back = client.post(f"{base}/withdraw", headers=auth(key), json={})
    assert back.status_code == 200 and back.json["state"] == "draft"
    assert client.post(f"{base}/change", headers=auth(key)).status_code == 422  # only effective records


def test_a_retried_create_with_the_same_idempotency_key_never_duplicates(app, client):
    user, _cert, item = manufacturer()
    key = new_key(user)
    headers = {**auth(key), "Idempotency-Key": "erp-row-42"}
    first = client.post("/api/v1/products/", headers=headers, json=_body(item, submit=True))
    retry = client.post("/api/v1/products/", headers=headers, json=_body(item, submit=True))
    assert first.status_code == retry.status_code == 201
    assert retry.json == first.json and retry.headers["Idempotent-Replayed"] == "true"
    assert first.json["state"] == "pending_initial"
    assert _count() == 1
    other = client.post("/api/v1/products/", headers=headers, json=_body(item, 2))
    assert other.status_code == 422 and "Idempotency-Key" in other.json["message"] and _count() == 1
    # a refused call leaves the key free: fixed and sent again, it is done once
    fresh = {**auth(key), "Idempotency-Key": "erp-row-43"}
    assert client.post("/api/v1/products/", headers=fresh, json=_body(item, 3, pack_ratio=0)).status_code == 422
    assert client.post("/api/v1/products/", headers=fresh, json=_body(item, 3)).status_code == 201
    assert client.post("/api/v1/products/", headers=fresh, json=_body(item, 3)).status_code == 201
    assert _count() == 2
    bad = client.post("/api/v1/products/", headers={**auth(key), "Idempotency-Key": "x" * 129}, json=_body(item, 4))
    assert bad.status_code == 400 and _count() == 2


def test_idempotency_keys_belong_to_their_user(app, client):
    one, _c1, item_one = manufacturer()
    two, _c2, item_two = manufacturer()
    for user, item in ((one, item_one), (two, item_two)):
        headers = {**auth(new_key(user)), "Idempotency-Key": "same-key"}
        assert client.post("/api/v1/products/", headers=headers, json=_body(item)).status_code == 201
    assert _count() == 2 and _count(ApiIdempotency) == 2


def test_a_retried_submit_is_not_submitted_twice(app, client):
    user, _cert, item = manufacturer()
    record = products.add_packaging(user, item, pack(item))
    key = new_key(user)
    headers = {**auth(key), "Idempotency-Key": "submit-1"}
    first = client.post(f"/api/v1/products/{record.id}/submit", headers=headers, json={})
    retry = client.post(f"/api/v1/products/{record.id}/submit", headers=headers, json={})
    assert first.status_code == retry.status_code == 200 and retry.json == first.json
    actions = db.session.scalars(select(WorkflowHistory.action).where(WorkflowHistory.record_type == "product", WorkflowHistory.record_id == record.id)).all()
    assert actions.count("submit") == 1


def test_batch_submit_reports_each_record_and_refuses_foreign_ids(app, client):
    user, _cert, item = manufacturer()
    good = [products.add_packaging(user, item, pack(item, n)) for n in (1, 2)]
    done = products.add_packaging(user, item, pack(item, 3), submit=True)
    key = new_key(user)
    ids = [r.id for r in good] + [done.id]
    headers = {**auth(key), "Idempotency-Key": "batch-1"}
    resp = client.post("/api/v1/products/batch-submit", headers=headers, json={"ids": ids})
    assert resp.status_code == 200
    assert resp.json["ok"] == [r.id for r in good]
    assert [f["id"] for f in resp.json["failed"]] == [done.id] and resp.json["failed"][0]["message"]
    assert client.post("/api/v1/products/batch-submit", headers=headers, json={"ids": ids}).json == resp.json
    for bad in ({"ids": []}, {"ids": ["1"]}, {"ids": list(range(1, 502))}, {}):
        assert client.post("/api/v1/products/batch-submit", headers=auth(key), json=bad).status_code == 422


def test_change_of_an_effective_product_goes_through_review(app, client):
    user, _item, made = effective_products(1)
    key = new_key(user)
    record = made[0]
    change = client.post(f"/api/v1/products/{record.id}/change", headers=auth(key), json={"version": record.version})
    assert change.status_code == 201 and change.json["state"] == "draft"
    rev = change.json
    edited = client.put(f"/api/v1/products/{rev['id']}", headers=auth(key),
                        json={"min_unit": "支", "pack_unit": "盒", "pack_ratio": 50, "version": rev["version"]})
    assert edited.status_code == 200, edited.json
    assert client.post(f"/api/v1/products/{rev['id']}/submit", headers=auth(key)).status_code == 200
    db.session.expire_all()
    assert db.session.get(QualProduct, record.id).pack_ratio == 10  # in force until approved
    again = client.post(f"/api/v1/products/{record.id}/change", headers=auth(key))
    assert again.status_code == 422 and "进行中的变更" in again.json["message"]


def test_a_role_without_the_item_menu_cannot_create_packaging(app, client):
    """新增包装 needs what the page needs: 耗材单件列表 (维护产品信息)."""
    from app.services import account_roles
    from tests.factories import make_operator

    user, _cert, item = manufacturer()
    operator = make_operator(user)
    role = account_roles.create_role(user, "只管产品", ["consumable_product"])
    account_roles.assign(user, role, operator)
    key = new_key(operator)
    resp = client.post("/api/v1/products/", headers=auth(key), json=_body(item))
    assert resp.status_code == 403 and _count() == 0
    assert client.get("/api/v1/products/", headers=auth(key)).status_code == 200


def test_the_daily_run_forgets_old_idempotency_replies(app, client):
    import datetime as dt

    from app.models.mixins import utcnow
    from app.services import expiry

    user, _cert, item = manufacturer()
    key = new_key(user)
    client.post("/api/v1/products/", headers={**auth(key), "Idempotency-Key": "old"}, json=_body(item))
    client.post("/api/v1/products/", headers={**auth(key), "Idempotency-Key": "new"}, json=_body(item, 2))
    old = db.session.scalar(select(ApiIdempotency).where(ApiIdempotency.key == "old"))
    old.created_at = utcnow() - dt.timedelta(days=8)
    db.session.commit()
    expiry.run()
    assert db.session.scalars(select(ApiIdempotency.key)).all() == ["new"]


def test_a_never_submitted_draft_is_deleted_and_a_submitted_one_is_not(app, client):
    user, _cert, item = manufacturer()
    key = new_key(user)
    draft = client.post("/api/v1/products/", headers=auth(key), json=_body(item)).json
    sent = client.post("/api/v1/products/", headers=auth(key), json=_body(item, n=2)).json
    assert client.post(f"/api/v1/products/{sent['id']}/submit", headers=auth(key)).status_code == 200
    refused = client.delete(f"/api/v1/products/{sent['id']}", headers=auth(key))
    assert refused.status_code == 422 and "从未提交" in refused.json["message"]
    resp = client.delete(f"/api/v1/products/{draft['id']}", headers=auth(key))
    assert resp.status_code == 204 and not resp.data
    assert db.session.get(QualProduct, draft["id"]) is None and _count() == 1
    history = [h.action for h in db.session.scalars(select(WorkflowHistory).where(
        WorkflowHistory.record_type == "product", WorkflowHistory.record_id == draft["id"]).order_by(WorkflowHistory.id))]
    assert history == ["create", "delete"]


def test_a_change_not_yet_approved_is_cancelled_and_the_effective_version_stays(app, client):
    user, _item, made = effective_products(1)
    key = new_key(user)
    effective = made[0]
    change = client.post(f"/api/v1/products/{effective.id}/change", headers=auth(key))
    assert change.status_code == 201
    revision_id = change.json["id"]
    resp = client.post(f"/api/v1/products/{revision_id}/cancel-change", headers=auth(key))
    assert resp.status_code == 200 and resp.json["id"] == effective.id and resp.json["state"] == "effective"
    assert resp.json["change_id"] is None
    assert db.session.get(QualProduct, revision_id) is None
    # the effective record itself has no change to cancel
    again = client.post(f"/api/v1/products/{effective.id}/cancel-change", headers=auth(key))
    assert again.status_code == 422


def test_deactivation_and_transfer_requests_go_through_review(app, client):
    from app.models.national import NationalTransfer

    user, item, made = effective_products(2)
    key = new_key(user)
    stop = client.post(f"/api/v1/products/{made[0].id}/deactivate", headers=auth(key))
    assert stop.status_code == 201, stop.json
    assert stop.json["state"] == "pending_initial" and stop.json["id"] != made[0].id
    again = client.post(f"/api/v1/products/{made[0].id}/deactivate", headers=auth(key))
    assert again.status_code == 422  # one change at a time
    old, new = made[1].code, f"{item.code}0000009"
    refused = client.post(f"/api/v1/products/{made[1].id}/transfer", headers=auth(key), json={"new_code": new})
    assert refused.status_code == 422 and "转码记录" in refused.json["message"]
    assert client.post(f"/api/v1/products/{made[1].id}/transfer", headers=auth(key),
                       json={"new_code": 9}).status_code == 422
    assert client.post(f"/api/v1/products/{made[1].id}/transfer", headers=auth(key), data="x").status_code == 400
    db.session.add(NationalTransfer(old_code=old, new_code=new))
    db.session.commit()
    moved = client.post(f"/api/v1/products/{made[1].id}/transfer", headers=auth(key), json={"new_code": new})
    assert moved.status_code == 201, moved.json
    assert moved.json["code"] == new and moved.json["state"] == "draft"
    db.session.expire_all()
    assert db.session.get(QualProduct, made[1].id).code == old  # in force until the change is approved
    other = new_key(manufacturer()[0])
    assert client.post(f"/api/v1/products/{made[0].id}/deactivate", headers=auth(other)).status_code == 404


def test_single_items_are_added_and_removed_as_on_the_page(app, client):
    from app.models import QualItem
    from tests.factories import make_national_item

    user, cert, item = manufacturer()
    key = new_key(user)
    from app.models.national import NationalCertificate

    national_cert = db.session.scalar(select(NationalCertificate).where(NationalCertificate.number == cert.cert_no))
    new_code = item.code[:-1] + ("8" if item.code[-1] != "8" else "7")
    make_national_item(national_cert, new_code, specs=1)
    headers = {**auth(key), "Idempotency-Key": "items-1"}
    resp = client.post("/api/v1/items/", headers=headers, json={"codes": [new_code]})
    assert resp.status_code == 201, resp.json
    assert [i["code"] for i in resp.json["items"]] == [new_code]
    replay = client.post("/api/v1/items/", headers=headers, json={"codes": [new_code]})
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    again = client.post("/api/v1/items/", headers=auth(key), json={"codes": [new_code]})
    assert again.status_code == 201 and again.json["items"] == []  # already there: nothing added twice
    foreign = client.post("/api/v1/items/", headers=auth(key), json={"codes": ["C0901010199999999999"]})
    assert foreign.status_code == 422 and "不属于本单位" in foreign.json["errors"]["codes"]
    assert client.post("/api/v1/items/", headers=auth(key), json={"codes": "x"}).status_code == 422
    added = resp.json["items"][0]["id"]
    products.add_packaging(user, db.session.get(QualItem, item.id), pack(item))
    used = client.delete(f"/api/v1/items/{item.id}", headers=auth(key))
    assert used.status_code == 422 and "不能删除" in used.json["message"]
    assert client.delete(f"/api/v1/items/{added}", headers=auth(key)).status_code == 204
    assert db.session.get(QualItem, added) is None
