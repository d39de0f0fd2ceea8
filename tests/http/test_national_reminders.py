"""停用提醒 / 转码提醒 on the manufacturer's own 耗材注册证列表 and 耗材单件列表 (issue 14 §2):
a row whose national certificate or single item code is deactivated, or under which the unit's
spec/models were deactivated or transferred, is flagged with the reason."""
from __future__ import annotations

import io
import re

from app.services import national_import as ni, products
from tests.conftest import IsolatedClient, login, text
from tests.factories import PASSWORD, make_certified
from tests.http.test_product_pages import ITEM, maker_client  # noqa: F401  (maker_client: a fixture)
from tests.unit.test_national_import import workbook
from app.models import UnitCategory, UnitRole

CERT_NO = "粤械注准20152660001"  # the maker_client's certificate
OLD, NEW = ITEM + "0000001", ITEM + "0000002"
CERTS, ITEMS = "/procurement/certificates/list/", "/procurement/items/list/"


def cert_row(client) -> str:
    m = re.search(r'<tr data-number="%s"[^>]*>(.*?)</tr>' % CERT_NO, text(client.get(CERTS)), re.S)
    assert m, "no certificate row"
    return m.group(1)


def item_row(client) -> str:
    m = re.search(r'<tr data-code="%s"[^>]*>(.*?)</tr>' % ITEM, text(client.get(ITEMS)), re.S)
    assert m, "no item row"
    return m.group(1)


def release(*sheets, version="V1"):
    return ni.import_file(io.BytesIO(workbook(*sheets)), "r.xlsx", version=version)


def stop(code: str, day: str = "2026-03-20", version="V1"):
    return release(("停用", [["停用编码", "原码状态", "停用日期"], [code, "停用", day]]), version=version)


def test_rows_are_not_flagged_while_their_codes_are_in_force(maker_client):
    products.add_items(maker_client.user, [ITEM])
    assert "deactivated-flag" not in cert_row(maker_client)
    row = item_row(maker_client)
    assert "deactivated-flag" not in row and "transfer-flag" not in row


def test_a_deactivated_certificate_flags_its_row_and_its_single_items(maker_client):
    products.add_items(maker_client.user, [ITEM])
    assert stop(CERT_NO).counts["deactivation"].updated == 1
    row = cert_row(maker_client)
    assert "停用提醒" in row and "deactivated-flag" in row and "国家平台已停用该注册证（2026-03-20）" in row
    row = item_row(maker_client)
    assert "停用提醒" in row and "该单件的注册证已被国家平台停用" in row
    assert "国家平台已停用该20位码" not in row


def test_a_deactivated_single_item_code_flags_its_row_only(maker_client):
    products.add_items(maker_client.user, [ITEM])
    stop(ITEM, "2026-04-01")
    row = item_row(maker_client)
    assert "deactivated-flag" in row and "国家平台已停用该20位码（2026-04-01）" in row
    assert "deactivated-flag" not in cert_row(maker_client)


def test_spec_models_of_the_unit_deactivated_or_transferred_flag_their_single_item(maker_client):
    item = products.add_items(maker_client.user, [ITEM])[0]
    products.add_packaging(maker_client.user, item, products.Packaging(OLD, "支", "盒", 10))
    other_spec = ITEM + "0000003"  # a national spec the unit never used: not the unit's concern
    release(("停用", [["27位码", "原码状态"], [OLD, "停用"], [other_spec, "停用"]]),
            ("转码", [["原27位码", "27位码"], [OLD, NEW]]))
    row = item_row(maker_client)
    assert "deactivated-flag" in row and "1个规格型号的27位码已停用" in row
    assert "transfer-flag" in row and "转码提醒" in row and "1个规格型号的27位码已转码" in row
    assert "国家平台已停用该20位码" not in row
    assert "deactivated-flag" not in cert_row(maker_client)


def test_another_units_lists_show_nothing_of_it(app, maker_client):
    products.add_items(maker_client.user, [ITEM])
    stop(CERT_NO)
    other = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    c = IsolatedClient(app, app.response_class, use_cookies=True)
    login(c, other.username, PASSWORD)
    for url in (CERTS, ITEMS):
        resp = c.get(url)
        assert resp.status_code == 200 and "停用提醒" not in text(resp) and CERT_NO not in text(resp)


def test_the_flags_read_in_english(maker_client):
    item = products.add_items(maker_client.user, [ITEM])[0]
    products.add_packaging(maker_client.user, item, products.Packaging(OLD, "支", "盒", 10))
    stop(CERT_NO)
    release(("转码", [["原27位码", "27位码"], [OLD, NEW]]), version="V2")
    maker_client.get("/lang/en")
    html = text(maker_client.get(ITEMS)) + text(maker_client.get(CERTS))
    assert "停用提醒" not in html and "转码提醒" not in html
    assert "Deactivated" in html and "Code transferred" in html
    assert "The national platform deactivated this certificate" in html
    assert "The national platform deactivated this item&#39;s certificate" in html
    assert "1 spec/model code(s) transferred" in html
