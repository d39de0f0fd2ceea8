"""The overview pages in Chromium: every chart draws on its canvas, and the numbers drawn, the numbers
in the table beside it and the database's own counts are the same."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect
from sqlalchemy import text as sql

from app.extensions import db
from app.models import Entrustment, QualCertificate, QualItem, QualProduct, UnitCategory, UnitRole, WorkflowHistory
from app.models.mixins import utcnow
from app.security.roles import REVIEWER_INITIAL
from tests.browser.helpers import login
from tests.browser.test_accessibility import run_axe
from tests.factories import PASSWORD, make_certified, make_platform_user

# Pixels of a canvas that are neither transparent nor white: ECharts drew something.
INKED = """el => {
  const c = el.querySelector('canvas');
  if (!c) return 0;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 0 && (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240)) n++;
  }
  return n;
}"""
DRAWN = """el => echarts.getInstanceByDom(el).getOption().series.map(s => s.data)"""
TABLE = """t => Array.from(t.querySelectorAll('tbody tr')).map(
  tr => Array.from(tr.querySelectorAll('td')).map(td => td.dataset.value === '' ? null : Number(td.dataset.value)))"""


def seed_records():
    maker = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    other = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    now = utcnow()
    for unit_id, n in ((maker.unit_id, 1), (other.unit_id, 3)):
        for i in range(n):
            db.session.add(Entrustment(unit_id=unit_id, kind="contract", principal_name="x", state="draft"))
        db.session.add(Entrustment(unit_id=unit_id, kind="contract", principal_name="x", state="effective",
                                   valid_to=dt.date.today() + dt.timedelta(days=40)))
        db.session.add(QualCertificate(unit_id=unit_id, cert_no="国械注准20153100011", state="pending_initial",
                                       submitted_at=now - dt.timedelta(days=2 * n)))
        item = QualItem(unit_id=unit_id, code="C0901010100000006626")
        db.session.add(item)
        db.session.flush()
        for k, state in enumerate(["draft"] * n + ["pending_final", "effective"], 1):
            db.session.add(QualProduct(unit_id=unit_id, item_id=item.id, code=f"C0901010100000006626{k:07d}",
                                       min_unit="支", pack_unit="盒", pack_ratio=10, state=state,
                                       submitted_at=now - dt.timedelta(days=5), reviewed_at=now - dt.timedelta(days=1)))
    db.session.commit()
    return maker, other


def db_state_counts(unit_id=None) -> dict[tuple[str, str], int]:
    """The database's own answer, in plain SQL (not the service under test)."""
    out = {}
    for key, table in (("entrustment", "entrustment"), ("certificate", "qual_certificate"), ("product", "qual_product")):
        where = "revision_of_id IS NULL" + (f" AND unit_id = {int(unit_id)}" if unit_id else "")
        for state, n in db.session.execute(sql(f"SELECT state, count(*) FROM {table} WHERE {where} GROUP BY state")):
            out[(key, state)] = n
    return out


def wait_for_charts(page) -> list:
    charts = page.locator(".ov-chart")
    n = charts.count()
    assert n > 0
    for i in range(n):
        expect(charts.nth(i)).to_have_attribute("data-rendered", "1")
        assert charts.nth(i).evaluate(INKED) > 200, f"chart {i} is blank"
    return [charts.nth(i) for i in range(n)]


def drawn_and_table(page, key):
    el = page.locator(f"#chart-{key}")
    drawn = el.evaluate(DRAWN)
    table = page.locator(f'table[data-chart-table="{key}"]').evaluate(TABLE)
    return drawn, table


STATES = ["draft", "pending_initial", "pending_final", "effective", "rejected"]


def test_qualification_overview_draws_the_units_own_numbers(page, live_server):
    maker, _other = seed_records()
    login(page, live_server, maker.username, PASSWORD)
    page.goto(live_server + "/procurement/")
    page.locator("#qualification-overview-link").click()
    expect(page.get_by_role("heading", name="资质概览")).to_be_visible()
    wait_for_charts(page)
    assert run_axe(page) == []  # WCAG 2 A/AA: no serious or critical violation
    drawn, table = drawn_and_table(page, "records_by_state")
    expected = db_state_counts(maker.unit_id)
    kinds = ["entrustment", "certificate", "product"]
    assert drawn == [[expected.get((k, s), 0) for k in kinds] for s in STATES]
    assert table == [[expected.get((k, s), 0) for s in STATES] for k in kinds]
    drawn, _ = drawn_and_table(page, "expiring")
    assert drawn[0] == [0, 0, 1, 0]  # one effective entrustment ending in 40 days
    # a number is a link to the filtered list, which shows exactly that many rows
    page.locator('table[data-chart-table="records_by_state"] td[data-series="0"][data-category="2"] a').click()
    expect(page.locator("#list-filter")).to_contain_text("待提交")
    expect(page.locator('[data-state="draft"]')).to_have_count(expected[("product", "draft")])


def test_platform_overview_and_my_queue_match_the_database(page, live_server):
    maker, other = seed_records()
    admin = make_platform_user("ovbrowser", "Admin")
    reviewer = make_platform_user("ovreviewer", REVIEWER_INITIAL)
    db.session.add(WorkflowHistory(record_type="product", record_id=1, unit_id=maker.unit_id, user_id=reviewer.id,
                                   action="approve", from_state="pending_initial", to_state="pending_final",
                                   created_at=utcnow()))
    db.session.commit()
    login(page, live_server, admin.username, PASSWORD)
    page.goto(live_server + "/overview/platform/")
    wait_for_charts(page)
    assert run_axe(page) == []
    drawn, table = drawn_and_table(page, "records_by_state")
    expected = db_state_counts()
    kinds = ["entrustment", "certificate", "product"]
    assert drawn == [[expected.get((k, s), 0) for k in kinds] for s in STATES]
    drawn, _ = drawn_and_table(page, "backlog")
    pending = {q: db.session.execute(sql(f"SELECT count(*) FROM {t} WHERE state = '{s}'")).scalar()
               for q, t, s in (("c_initial", "qual_certificate", "pending_initial"),
                               ("p_final", "qual_product", "pending_final"))}
    assert drawn[0][1] == pending["c_initial"] == 2  # 注册证·待初审
    assert drawn[0][5] == pending["p_final"] == 2  # 产品·待复审
    units = db.session.execute(sql("SELECT count(*) FROM unit")).scalar()
    drawn, table = drawn_and_table(page, "units_by_status")
    assert sum(sum(v) for v in drawn) == units
    assert page.locator("#oldest-items").get_by_text(other.unit.name).count() >= 1
    page.set_viewport_size({"width": 1280, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # no sideways scrolling at 1280 px

    login(page, live_server, reviewer.username, PASSWORD)
    page.locator(".navbar").get_by_text("审核管理").click()
    page.locator(".navbar").get_by_role("link", name="我的待办").click()
    page.wait_for_url("**/overview/review/")
    wait_for_charts(page)
    assert run_axe(page) == []
    drawn, table = drawn_and_table(page, "backlog")
    assert drawn == [[0, 2, 0]] and table == [[0], [2], [0]]
    drawn, _ = drawn_and_table(page, "decisions")
    assert sum(drawn[0]) == 1 and sum(drawn[1]) == 0
    oldest = page.locator("#oldest-items tbody tr")
    expect(oldest).to_have_count(2)
    oldest.first.get_by_role("link").click()
    page.wait_for_url("**/review/certificate/record/*")
    expect(page.locator("body")).to_contain_text("审核")
