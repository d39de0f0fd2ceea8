"""The unit's own lists page by keyset and search (issue 13): 委托授权, 注册证, 耗材产品."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import Entrustment, QualCertificate, QualItem, QualProduct, UnitCategory, UnitRole
from tests.conftest import login, text
from tests.factories import PASSWORD, make_certified

N = 25  # more than one page (20)


@pytest.fixture
def maker(app):
    return make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)


def _fill(maker, other):
    item = QualItem(unit_id=maker.unit_id, code="C0901010100000006626")
    db.session.add(item)
    db.session.flush()
    for i in range(N):
        state = "draft" if i % 2 else "effective"
        db.session.add(Entrustment(unit_id=maker.unit_id, number=f"WT{i:04d}", kind="agent",
                                   principal_name=f"委托方{i:02d}", state=state))
        db.session.add(QualCertificate(unit_id=maker.unit_id, cert_no=f"国械注进2017240{i:04d}", state=state))
        db.session.add(QualProduct(unit_id=maker.unit_id, item_id=item.id, code=f"C0901010100000006626{i:07d}",
                                   min_unit="支", pack_unit="盒", pack_ratio=10, state=state))
    db.session.add(QualCertificate(unit_id=other.unit_id, cert_no="国械注进20179999999", state="draft"))
    db.session.commit()


LISTS = [
    ("/procurement/entrustments/list/", "WT{:04d}", "WT0003"),
    ("/procurement/certificates/list/", "国械注进2017240{:04d}", "国械注进20172400003"),
    ("/procurement/products/list/", "C0901010100000006626{:07d}", "C09010101000000066260000003"),
]


def _shown(html: str, pattern: str) -> set[int]:
    """The row numbers of ``pattern`` (a prefix and a zero-padded number) on a page."""
    prefix, spec = pattern.split("{")
    width = int(spec.strip(":}d"))
    return {int(m) for m in re.findall(re.escape(prefix) + r"(\d{%d})(?!\d)" % width, html)}


@pytest.mark.parametrize("url,pattern,one", LISTS)
def test_a_unit_list_pages_by_keyset_newest_first(app, client, maker, url, pattern, one):
    other = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    _fill(maker, other)
    login(client, maker.username, PASSWORD)
    first = text(client.get(url))
    shown = _shown(first, pattern)
    assert shown == set(range(N - 20, N)), "page 1: the 20 newest"
    assert "国械注进20179999999" not in first  # another unit's rows never
    nxt = re.search(r'class="pager-next" href="\?([^"]+)"', first).group(1).replace("&amp;", "&")
    second = text(client.get(f"{url}?{nxt}"))
    assert _shown(second, pattern) == set(range(0, N - 20))
    assert 'class="pager-next"' not in second
    prev = re.search(r'class="pager-prev" href="\?([^"]+)"', second).group(1).replace("&amp;", "&")
    assert _shown(text(client.get(f"{url}?{prev}")), pattern) == set(range(N - 20, N))


@pytest.mark.parametrize("url,pattern,one", LISTS)
def test_a_unit_list_searches_and_filters_by_state(app, client, maker, url, pattern, one):
    other = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    _fill(maker, other)
    login(client, maker.username, PASSWORD)
    found = text(client.get(url, query_string={"q": one}))
    assert _shown(found, pattern) == {3}
    drafts = text(client.get(url, query_string={"state": "draft"}))
    assert _shown(drafts, pattern) == {i for i in range(N) if i % 2}
    # the pager keeps the search: page 2 of the effective ones
    effective = text(client.get(url, query_string={"state": "effective"}))
    assert _shown(effective, pattern) == {i for i in range(N) if not i % 2}
    assert 'class="pager-next"' not in effective  # 13 rows: one page


@pytest.mark.parametrize("url,pattern,one", LISTS)
def test_junk_page_keys_start_from_the_top(app, client, maker, url, pattern, one):
    other = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    _fill(maker, other)
    login(client, maker.username, PASSWORD)
    assert client.get(url, query_string={"after": "1\x00"}).status_code == 400  # control characters: refused
    for junk in ("abc", "-1", "9" * 40, "１２", "1 OR 1=1"):
        resp = client.get(url, query_string={"after": junk, "before": junk})
        assert resp.status_code == 200, junk
        assert _shown(text(resp), pattern) == set(range(N - 20, N)), junk
    resp = client.get(url, query_string={"q": "%_\\" + "长" * 200})
    assert resp.status_code == 200 and _shown(text(resp), pattern) == set()


def test_the_pager_carries_the_search(app, client, maker):
    other = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    _fill(maker, other)
    login(client, maker.username, PASSWORD)
    html = text(client.get("/procurement/certificates/list/", query_string={"q": "国械注进2017240"}))
    nxt = re.search(r'class="pager-next" href="\?([^"]+)"', html).group(1)
    assert "q=" in nxt and "after=" in nxt


def test_operators_and_roles_page_and_search(app, client, maker):
    from app.services import account_roles
    from tests.factories import make_operator

    for i in range(N):
        op = make_operator(maker)
        op.first_name = f"经办人{i:04d}"
        account_roles.create_role(maker, f"角色{i:04d}", ["consumable_certificate"])
    db.session.commit()
    login(client, maker.username, PASSWORD)
    for url, pattern in (("/unit/operators/list/", "经办人{:04d}"), ("/procurement/account-roles/list/", "角色{:04d}")):
        first = text(client.get(url))
        assert _shown(first, pattern) == set(range(20)), url  # oldest first, as before
        nxt = re.search(r'class="pager-next" href="\?([^"]+)"', first).group(1).replace("&amp;", "&")
        assert _shown(text(client.get(f"{url}?{nxt}")), pattern) == set(range(20, N)), url
        assert _shown(text(client.get(url, query_string={"q": pattern.format(7)})), pattern) == {7}, url


def test_single_items_page_by_code_and_search_by_prefix_and_name(app, client, maker):
    from tests.factories import make_national_cert, make_national_item

    cert = make_national_cert("粤械注准20152660001", maker.unit.name, product_name="医用导管")
    for i in range(N):
        code = f"C09010101{i:011d}"
        make_national_item(cert, code, name="球囊导管" if i == 4 else f"单件{i:02d}", specs=0)
        db.session.add(QualItem(unit_id=maker.unit_id, code=code))
    db.session.commit()
    login(client, maker.username, PASSWORD)
    url, pattern = "/procurement/items/list/", "C09010101{:011d}"
    first = text(client.get(url))
    assert _shown(first, pattern) == set(range(20))
    nxt = re.search(r'class="pager-next" href="\?([^"]+)"', first).group(1).replace("&amp;", "&")
    assert _shown(text(client.get(f"{url}?{nxt}")), pattern) == set(range(20, N))
    assert _shown(text(client.get(url, query_string={"q": "C090101010000000000"})), pattern) == set(range(10))
    assert _shown(text(client.get(url, query_string={"name": "球囊"})), pattern) == {4}
    assert client.get(url, query_string={"q": "%_", "after": "zzz"}).status_code == 200
