"""A manufacturer with more rows than a page finds one with the list's 查询 box and pages through
the rest (issue 13: every unit list pages and searches), in Chromium."""
from __future__ import annotations

from playwright.sync_api import expect

from app.extensions import db
from app.models import QualCertificate, UnitCategory, UnitRole
from tests.browser.helpers import login
from tests.factories import PASSWORD, make_certified


def test_certificate_list_searches_filters_and_pages(page, live_server):
    maker = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    for i in range(25):
        db.session.add(QualCertificate(unit_id=maker.unit_id, cert_no=f"国械注进2017240{i:04d}",
                                       state="draft" if i % 2 else "effective"))
    db.session.commit()
    login(page, live_server, maker.username, PASSWORD)
    page.goto(live_server + "/procurement/certificates/list/")
    rows = page.locator("#certificates tbody tr")
    expect(rows).to_have_count(20)
    page.locator(".pager-next").click()
    expect(rows).to_have_count(5)
    page.locator(".pager-first").click()
    expect(rows).to_have_count(20)
    page.get_by_label("查询").fill("国械注进20172400007")
    page.get_by_role("button", name="查询").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("国械注进20172400007")
    page.get_by_role("link", name="重置").click()
    page.get_by_label("审核状态").select_option("draft")
    page.get_by_role("button", name="查询").click()
    expect(rows).to_have_count(12)
    for text in rows.all_inner_texts():
        assert "待提交" in text
