"""平台概览, 我的待办 and 资质概览 through the test client: who may open them, what they show, exports."""
from __future__ import annotations

import csv
import datetime as dt
import html as htmllib
import io
import json
import re

import openpyxl
import pytest

from app.extensions import db
from app.models import (Entrustment, NationalImport, QualCertificate, QualItem, QualProduct, UnitCategory, UnitRole,
                        WorkflowHistory)
from app.models.mixins import utcnow
from app.security.roles import REVIEWER_FINAL, REVIEWER_INITIAL, sync_roles
from app.services import account_roles
from tests.conftest import IsolatedClient, login, text
from tests.factories import PASSWORD, make_certified, make_operator, make_platform_user

CHART_RE = re.compile(r"data-chart='([^']*)'")


def charts_of(html: str) -> dict[str, dict]:
    """Every chart's data as the browser gets it (the data-chart attribute), by key."""
    out = {}
    for raw in CHART_RE.findall(html):
        data = json.loads(htmllib.unescape(raw))
        out[data["key"]] = data
    return out


def table_cell(html: str, chart_key: str, series: int, category: int) -> str:
    table = html.split(f'data-chart-table="{chart_key}"', 1)[1].split("</table>", 1)[0]
    m = re.search(r'data-series="%d" data-category="%d" data-value="([^"]*)"' % (series, category), table)
    assert m, (chart_key, series, category)
    return m.group(1)


def new_client(app):
    return IsolatedClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def maker(app):
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    unit_id = user.unit_id
    db.session.add_all([
        Entrustment(unit_id=unit_id, kind="contract", principal_name="x", state="draft"),
        Entrustment(unit_id=unit_id, kind="contract", principal_name="x", state="effective",
                    valid_to=dt.date.today() + dt.timedelta(days=20)),
        QualCertificate(unit_id=unit_id, cert_no="国械注准20153100011", state="pending_initial",
                        submitted_at=utcnow() - dt.timedelta(days=3)),
    ])
    item = QualItem(unit_id=unit_id, code="C0901010100000006626")
    db.session.add(item)
    db.session.flush()
    for n, state in enumerate(("draft", "draft", "effective"), 1):
        db.session.add(QualProduct(unit_id=unit_id, item_id=item.id, code=f"C0901010100000006626{n:07d}",
                                   min_unit="支", pack_unit="盒", pack_ratio=10, state=state))
    db.session.commit()
    return user


def test_manufacturer_sees_its_own_numbers_linked_to_filtered_lists(app, maker):
    other = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    db.session.add(Entrustment(unit_id=other.unit_id, kind="contract", principal_name="x", state="draft"))
    db.session.commit()
    client = new_client(app)
    login(client, maker.username, PASSWORD)
    assert 'id="qualification-overview-link"' in text(client.get("/procurement/"))
    html = text(client.get("/procurement/overview/"))
    charts = charts_of(html)
    assert set(charts) == {"records_by_state", "expiring", "product_flags"}
    states = charts["records_by_state"]
    assert states["categories"] == ["委托授权", "注册证", "产品"]
    by_name = {s["name"]: s["values"] for s in states["series"]}
    assert by_name["待提交"] == [1, 0, 2]  # the other unit's draft entrustment is not counted
    assert by_name["待初审"] == [0, 1, 0]
    assert by_name["已生效"] == [1, 0, 1]
    assert table_cell(html, "records_by_state", 0, 2) == "2"
    assert charts["expiring"]["series"][0]["values"] == [0, 1, 0, 0]
    # each number links to its filtered list, which lists exactly those rows
    link = states["series"][0]["links"][2]
    assert link == "/procurement/products/list/?state=draft"
    assert f'href="{link}"' in html
    listed = text(client.get(link))
    assert 'id="list-filter"' in listed and "待提交" in listed
    assert listed.count('data-state="draft"') == 2 and 'data-state="effective"' not in listed
    expiring = text(client.get(charts["expiring"]["series"][0]["links"][1]))
    assert "30天内" in expiring and expiring.count('data-state="effective"') == 1


def test_operator_with_the_product_menu_sees_products_only(app, maker):
    op = make_operator(maker)
    role = account_roles.create_role(maker, "产品维护", ["consumable_product"])
    account_roles.assign(maker, role, op)
    client = new_client(app)
    login(client, op.username, PASSWORD)
    charts = charts_of(text(client.get("/procurement/overview/")))
    assert charts["records_by_state"]["categories"] == ["产品"]
    assert "expiring" not in charts and "product_flags" in charts
    role_none = account_roles.create_role(maker, "仅查询", ["consumable_product_query"])
    account_roles.assign(maker, role_none, op)
    assert new_client(app).get("/procurement/overview/").status_code == 302  # anonymous → login
    client2 = new_client(app)
    login(client2, op.username, PASSWORD)
    assert client2.get("/procurement/overview/").status_code in (302, 403)


def test_units_without_the_qualification_menus_and_platform_pages_refuse_units(app, maker):
    hospital = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    client = new_client(app)
    login(client, hospital.username, PASSWORD)
    assert client.get("/procurement/overview/").status_code in (302, 403)
    for url in ("/overview/platform/", "/overview/review/", "/overview/platform/export/backlog/csv",
                "/overview/review/export/decisions/xlsx"):
        resp = client.get(url)
        assert resp.status_code in (302, 403), url
        assert maker.unit.name not in text(resp)


def test_platform_overview_counts_everything_and_exports_the_same_numbers(app, maker):
    admin = make_platform_user("ovadmin", "Admin")
    db.session.add(NationalImport(token="t1", source="upload", filename="=HYPERLINK(1).xlsx", status="done",
                                  inserted=5, updated=2, unchanged=0, rejected=1))
    db.session.commit()
    client = new_client(app)
    login(client, admin.username, PASSWORD)
    html = text(client.get("/overview/platform/"))
    charts = charts_of(html)
    assert set(charts) == {"units_by_role", "units_by_status", "registrations", "records_by_state", "backlog",
                           "waits", "national_imports"}
    assert sum(sum(s["values"]) for s in charts["units_by_status"]["series"]) == 1
    backlog = charts["backlog"]
    i = backlog["categories"].index("注册证·待初审")
    assert backlog["series"][0]["values"][i] == 1
    assert backlog["series"][0]["links"][i] == "/review/certificate/initial/"
    assert 'id="oldest-items"' in html and maker.unit.name in html
    assert charts["national_imports"]["series"][0]["values"] == [5]
    resp = client.get("/overview/platform/export/national_imports/csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["导入（时间 文件）", "新增", "变更", "拒绝"]
    assert rows[1][0].startswith(("'", "2")) and rows[1][1:] == ["5", "2", "1"]
    resp = client.get("/overview/platform/export/backlog/xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    values = {r[0]: r[1] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert values["注册证·待初审"] == 1
    assert client.get("/overview/platform/export/nope/csv").status_code == 404
    assert client.get("/overview/platform/export/backlog/pdf").status_code == 404


def test_export_never_writes_a_formula(app):
    from app.views.overview import export_chart
    from app.services.overview import Chart, Series

    chart = Chart("k", "t", "bar", ["=1+1", "@SUM(A1)", "正常"], [Series("n", [1, 2, 3])], category_title="类")
    with app.test_request_context():
        body = export_chart(chart, "csv").get_data(as_text=True)
        data = export_chart(chart, "xlsx").data
    assert "'=1+1" in body and "\n=1+1" not in body and "'@SUM(A1)" in body
    cells = [row[0] for row in openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)]
    assert cells == ["类", "=1+1", "@SUM(A1)", "正常"]
    raw = openpyxl.load_workbook(io.BytesIO(data)).active
    assert raw["A2"].data_type == "s" and raw["A3"].data_type == "s"


def test_reviewers_see_their_own_queues_and_decisions(app, maker):
    initial = make_platform_user("ovchushen", REVIEWER_INITIAL)
    final = make_platform_user("ovfushen", REVIEWER_FINAL)
    db.session.add(WorkflowHistory(record_type="certificate", record_id=1, unit_id=maker.unit_id, user_id=initial.id,
                                   action="approve", from_state="pending_initial", to_state="pending_final",
                                   created_at=utcnow()))
    db.session.commit()
    client = new_client(app)
    login(client, initial.username, PASSWORD)
    html = text(client.get("/overview/review/"))
    charts = charts_of(html)
    assert charts["backlog"]["categories"] == ["委托授权·待初审", "注册证·待初审", "产品·待初审"]
    assert charts["backlog"]["series"][0]["values"] == [0, 1, 0]
    assert sum(charts["decisions"]["series"][0]["values"]) == 1
    record = db.session.query(QualCertificate).one()
    assert f'href="/review/certificate/record/{record.id}"' in html
    client = new_client(app)
    login(client, final.username, PASSWORD)
    charts = charts_of(text(client.get("/overview/review/")))
    assert charts["backlog"]["categories"] == ["委托授权·待复审", "注册证·待复审", "产品·待复审"]
    assert sum(charts["decisions"]["series"][0]["values"]) == 0
    assert "我的待办" in text(client.get("/overview/review/"))


def test_english_labels(app, maker):
    client = new_client(app)
    login(client, maker.username, PASSWORD)
    client.get("/lang/en")
    html = text(client.get("/procurement/overview/"))
    charts = charts_of(html)
    assert charts["records_by_state"]["categories"] == ["Entrustments", "Certificates", "Products"]
    assert "Qualification overview" in html


def test_sync_roles_stays_idempotent_and_grants_the_overviews(app):
    sm = app.appbuilder.sm

    def perms(name):
        return sorted((p.permission.name, p.view_menu.name) for p in sm.find_role(name).permissions)

    before = {n: perms(n) for n in (REVIEWER_INITIAL, REVIEWER_FINAL, "单位角色:manufacturer")}
    sync_roles()
    sync_roles()
    after = {n: perms(n) for n in before}
    assert before == after
    assert ("can_index", "ReviewOverviewView") in after[REVIEWER_INITIAL]
    assert ("menu_access", "我的待办") in after[REVIEWER_FINAL]
    assert ("can_index", "QualificationOverviewView") in after["单位角色:manufacturer"]
