"""/api/v1 reads (issue 15 §2): lists with keyset paging and the pages' filters, get,
耗材产品查询 for the unit roles that hold it, national code lookup; the same answers as
the pages for the same user; a per-key rate limit."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.models import UnitCategory, UnitRole
from app.services import product_query, products
from config import TestConfig
from tests.api.fixtures import approve, effective_products, manufacturer, pack
from tests.api.helpers import auth, new_key
from tests.conftest import IsolatedClient
from tests.factories import make_certified


def _all(client, url, key, **params):
    """Every row of a keyset-paged list, following next_after."""
    rows, after, pages = [], None, 0
    while True:
        query = {**params, **({"after": after} if after is not None else {})}
        resp = client.get(url, headers=auth(key), query_string=query)
        assert resp.status_code == 200, resp.json
        rows += resp.json["items"]
        pages += 1
        after = resp.json["next_after"]
        if after is None:
            return rows, pages


def test_product_list_pages_by_keyset_and_filters_like_the_page(app, client):
    user, _cert, item = manufacturer()
    made = [products.add_packaging(user, item, pack(item, n)) for n in range(1, 8)]
    products.update_packaging(user, made[0], pack(item, 1, pack_ratio=20), submit=True)
    key = new_key(user)
    rows, pages = _all(client, "/api/v1/products/", key, limit=3)
    assert [r["id"] for r in rows] == [p.id for p in made] and pages == 3
    assert rows[0]["pack_spec"] == "20支/盒" and rows[0]["state"] == "pending_initial"
    pending = client.get("/api/v1/products/", headers=auth(key), query_string={"state": "pending_initial"}).json
    assert [r["id"] for r in pending["items"]] == [made[0].id]
    by_item = client.get("/api/v1/products/", headers=auth(key), query_string={"item_id": item.id}).json
    assert len(by_item["items"]) == 7
    for bad in ({"state": "nope"}, {"limit": 0}, {"limit": 201}, {"after": "x"}, {"flag": "?"}, {"item_id": "-1"}):
        resp = client.get("/api/v1/products/", headers=auth(key), query_string=bad)
        assert resp.status_code == 400 and resp.json["message"], bad


def test_get_returns_the_record_and_the_page_shows_the_same(app, client):
    user, cert, item = manufacturer()
    key = new_key(user)
    got = client.get(f"/api/v1/certificates/{cert.id}", headers=auth(key)).json
    assert got["cert_no"] == cert.cert_no and got["state"] == "pending_initial" and got["version"] == cert.version
    assert got["contact_name"] == "张三" and got["change_id"] is None
    assert client.get(f"/api/v1/items/{item.id}", headers=auth(key)).json["code"] == item.code
    assert client.get("/api/v1/certificates/999999", headers=auth(key)).status_code == 404
    page = IsolatedClient(app, app.response_class, use_cookies=True)
    from tests.conftest import login
    from tests.factories import PASSWORD

    login(page, user.username, PASSWORD)
    html = page.get("/procurement/certificates/list/").get_data(as_text=True)
    assert cert.cert_no in html and got["state_label"] in html


def test_a_change_in_progress_is_linked_from_its_effective_record(app, client):
    user, items, made = effective_products(1)
    key = new_key(user)
    resp = client.post(f"/api/v1/products/{made[0].id}/change", headers=auth(key), json={})
    assert resp.status_code == 201 and resp.json["revision_of_id"] == made[0].id
    listed = client.get("/api/v1/products/", headers=auth(key)).json["items"]
    assert [r["change_id"] for r in listed] == [resp.json["id"]]  # the list holds roots, like the page


def test_product_query_gives_what_the_page_gives(app, client):
    _maker, _item, made = effective_products(5)
    hospital = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    key = new_key(hospital)
    rows, pages = _all(client, "/api/v1/product-query/", key, limit=2)
    assert [r["code"] for r in rows] == [p.code for p in made] and pages == 3
    service = [p.code for p, *_ in product_query.search({}).rows]
    assert [r["code"] for r in rows] == service
    one = client.get("/api/v1/product-query/", headers=auth(key), query_string={"code": made[2].code}).json
    assert [r["code"] for r in one["items"]] == [made[2].code] and one["items"][0]["pack_spec"] == "10支/盒"


def test_product_query_only_for_unit_roles_that_hold_it(app, client, restore_ceilings):
    """The unit role's ceiling decides, as for the page: taken out of the ceiling → 403."""
    from app.models import RoleCeiling
    from app.security.roles import sync_unit_role

    hospital = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    key = new_key(hospital)
    assert client.get("/api/v1/product-query/", headers=auth(key)).status_code == 200
    db.session.execute(RoleCeiling.__table__.delete().where(RoleCeiling.unit_role == "designated_hospital",
                                                            RoleCeiling.menu_key == "consumable_product_query"))
    db.session.commit()
    sync_unit_role(UnitRole.DESIGNATED_HOSPITAL)
    assert client.get("/api/v1/product-query/", headers=auth(key)).status_code == 403


def test_national_lookup_by_number_and_code_prefix(app, client):
    user, cert, item = manufacturer(specs=3)
    key = new_key(user)
    got = client.get("/api/v1/national/certificates", headers=auth(key), query_string={"number": cert.cert_no}).json
    assert [c["number"] for c in got["items"]] == [cert.cert_no]
    items = client.get("/api/v1/national/items", headers=auth(key), query_string={"code": item.code[:12]}).json
    assert item.code in [i["code"] for i in items["items"]]
    specs = client.get("/api/v1/national/specs", headers=auth(key), query_string={"code": item.code, "limit": 2}).json
    assert len(specs["items"]) == 2 and specs["next_after"] == specs["items"][-1]["code"]
    assert all(s["item_code"] == item.code for s in specs["items"])
    assert client.get("/api/v1/national/specs", headers=auth(key), query_string={"limit": "0"}).status_code == 400


class LowApiLimit(TestConfig):
    API_RATE_LIMIT = "3 per minute"


def test_each_key_has_its_own_rate_limit(app):
    from app import create_app

    low = create_app(LowApiLimit)
    with low.app_context():
        user, _cert, _item = manufacturer()
        first, second = new_key(user, "一"), new_key(user, "二")
        client = IsolatedClient(low, low.response_class, use_cookies=False)
        codes = [client.get("/api/v1/items/", headers=auth(first)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        resp = client.get("/api/v1/items/", headers=auth(first))
        assert resp.status_code == 429 and resp.is_json and resp.json["message"]
        assert client.get("/api/v1/items/", headers=auth(second)).status_code == 200
        db.session.remove()


def test_lists_search_like_the_pages_query_box(app, client):
    """?q= searches the record type's search fields, as the list page's 查询 box does."""
    from tests.api.fixtures import effective_products

    user, item, made = effective_products(3)
    key = new_key(user)
    code = made[1].code
    api = client.get("/api/v1/products/", headers=auth(key), query_string={"q": code}).json
    assert [r["code"] for r in api["items"]] == [code]
    assert client.get("/api/v1/products/", headers=auth(key), query_string={"q": "x" * 61}).status_code == 400
    items = client.get("/api/v1/items/", headers=auth(key), query_string={"name": "动脉"}).json
    assert [i["id"] for i in items["items"]] == [item.id]
    assert client.get("/api/v1/items/", headers=auth(key), query_string={"name": "不存在的名称"}).json["items"] == []
