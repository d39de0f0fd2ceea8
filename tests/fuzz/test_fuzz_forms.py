"""Property-based fuzz of every form and every import column (issue 11 §9).

Nothing here is a hand-kept list of forms: the pages are found from the URL map (every
GET route without arguments, plus the same-origin links those pages show), each page's
``<form method="post">`` definitions are parsed from the rendered templates, and each
form is posted with generated values by the role that was shown it.  Import columns
come from the import templates' own header definitions.

Properties: no request answers 500 (in tests an unhandled exception fails the test),
nothing is saved when the page refuses the input, and reflected values are escaped.
Example counts are bounded (``FUZZ_EXAMPLES``, default 8 per form) so `.ci/run` stays
fast on SQLite and PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from openpyxl import Workbook
from sqlalchemy import func, select, text as sql_text

import app.models.national  # noqa: F401
from app.extensions import db
from app.models import UnitCategory, UnitRole
from app.security.roles import REVIEWER_INITIAL
from tests.conftest import IsolatedClient, login
from tests.factories import (PASSWORD, make_certified, make_dictionary, make_national_cert, make_national_item,
                             make_operator, make_platform_user)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
ITEM = "C0901010100000006626"
XSS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "<svg/onload=alert(1)>"]
# Tables that log attempts (not business data): they may grow on a refused request.
LOG_TABLES = {"audit_log", "sms_message", "sms_code", "product_import", "national_import", "background_job"}
SKIP_ACTIONS = ("/logout", "/lang/")

FIXED = [
    "", " ", "\x00", "a\x00b", "\x07\x1b[31m", "\r\n", "\u202egnp.exe", "\u200f\u200e", "\ufeff",
    "x" * 300, "长" * 5000, "１２３", "²", "①②", "٣", "१२", "-1", "0", "99999999999999999999999",
    "1e309", "NaN", "😀" * 20, "=1+2", "=HYPERLINK(\"http://evil\")", "@SUM(A1)", "+cmd|' /C calc'!A0",
    "' OR 1=1 --", "%s%n%(x)s", "{{7*7}}", "../../etc/passwd", "C09010101000000066260000001",
    "2024-02-30", "13800138000", *XSS,
]
HOSTILE = st.one_of(
    st.sampled_from(FIXED),
    st.text(max_size=80),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Nd", "No", "Zs", "So"]), max_size=40),
    st.builds(lambda a, b: a + b, st.sampled_from(XSS), st.text(max_size=20)),
)


class Forms(HTMLParser):
    """``<form method=post>`` definitions and same-origin links of one page."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.links: set[str] = set()
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and (a.get("href") or "").startswith("/"):
            self.links.add(a["href"])
        if tag == "form":
            self._form = {"action": a.get("action") or "", "method": (a.get("method") or "get").lower(),
                          "fields": []} if not a.get("id", "").startswith("lang") else None
            if self._form is not None:
                self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select") and a.get("name"):
            kind = a.get("type", "text") if tag == "input" else tag
            self._form["fields"].append({"name": a["name"], "type": kind.lower(), "value": a.get("value") or ""})
            if tag == "select":
                self._select = a["name"]
        elif tag == "option" and self._form is not None and self._select:
            for f in self._form["fields"]:
                if f["name"] == self._select and not f["value"]:
                    f["value"] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        if tag == "select":
            self._select = None


def _shape(path: str) -> str:
    """A path with its ids replaced: /roles/edit/3 and /roles/edit/4 are one page (and one form)."""
    return re.sub(r"/\d+(?=/|$)", "/<id>", urlsplit(path).path)


def _pages(app, client, hops=2):
    """GET routes without arguments, then the same-origin links those pages show (``hops`` deep).

    Pages are visited once per shape (the first id of each), so the crawl stays bounded.
    """
    roots = sorted({r.rule for r in app.url_map.iter_rules()
                    if "GET" in r.methods and not r.arguments and not r.rule.startswith(("/static", "/appbuilder"))
                    and not r.rule.endswith(("/logout/", ".xlsx", ".csv", "/export", "/template", "/api/v1/_openapi"))
                    and "download" not in r.rule and "/api/" not in r.rule})
    seen: dict[str, Forms] = {}
    shapes: set[str] = set()
    queue = [(url, 0) for url in roots]
    while queue:
        url, depth = queue.pop(0)
        if url in seen or (depth and _shape(url) in shapes):
            continue
        shapes.add(_shape(url))
        resp = client.get(url)
        if resp.status_code != 200 or "text/html" not in resp.content_type:
            continue
        parser = Forms()
        parser.feed(resp.get_data(as_text=True))
        seen[url] = parser
        if depth < hops:
            for link in sorted(parser.links):
                path = urlsplit(link).path
                if _shape(link) not in shapes and not path.endswith(("/logout/", ".xlsx", "/export")) \
                        and "download" not in path and "/file/" not in path and "lang" not in path \
                        and not path.startswith(("/static", "/api/")):
                    queue.append((link, depth + 1))
    return seen


def _post_forms(pages) -> list[tuple[str, dict]]:
    out, keys = [], set()
    for url, parser in pages.items():
        for form in parser.forms:
            if form["method"] != "post":
                continue
            action = form["action"] or url
            if not action.startswith("/") or action.startswith(SKIP_ACTIONS):
                continue
            names = tuple(sorted(f["name"] for f in form["fields"]))
            key = (_shape(action), names)
            if key in keys:
                continue
            keys.add(key)
            out.append((action, form))
    return out


def _counts() -> dict[str, int]:
    from flask_appbuilder import Model

    return {t.name: db.session.execute(select(func.count()).select_from(t)).scalar()
            for t in Model.metadata.sorted_tables if t.name not in LOG_TABLES}


def _refused(resp) -> bool:
    if resp.status_code >= 400:
        return True
    html = resp.get_data(as_text=True)
    return resp.status_code == 200 and any(m in html for m in ("field-error", "has-error", "alert-danger",
                                                              "import-error"))


def _fill(form, value: str) -> dict:
    data: dict = {}
    for f in form["fields"]:
        kind, name = f["type"], f["name"]
        if name == "csrf_token" or kind == "hidden" and name in ("version", "back", "category", "action"):
            data[name] = f["value"]
        elif kind in ("checkbox", "radio", "submit", "button"):
            data.setdefault(name, f["value"])
        elif kind == "file":
            data[name] = (io.BytesIO(value.encode("utf-8", "surrogatepass")[:2000] or b"x"), (value[:60] or "f") + ".pdf")
        else:
            data[name] = value
    return data


def _fuzz(app, client, forms, value, role):
    for action, form in forms:
        before = _counts()
        data = _fill(form, value)
        resp = client.post(action, data=data, content_type="multipart/form-data")
        assert resp.status_code != 500, (role, action)
        body = resp.get_data(as_text=True)
        for payload in XSS:
            if payload in value:
                assert payload not in body, (role, action, "reflected unescaped")
        if _refused(resp):
            db.session.rollback()
            assert _counts() == before, (role, action, "saved although refused")
        db.session.rollback()


@pytest.fixture
def people(app):
    """One user of each role, with enough data that their forms show."""
    maker = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    make_dictionary()
    cert = make_national_cert("粤械注准20152660001", maker.unit.name, product_name="医用导管")
    make_national_cert("国械注进20172400054", "Medtronic Inc.", product_name="心脏起搏器")
    make_national_item(cert, ITEM, name="动脉灌注管", specs=3)
    from app.services import products, qualification as q

    record = q.add_certificates(maker, ["粤械注准20152660001"])[0]
    q.save_certificate(maker, record, "张三", "13800138000", "", ("scan.pdf", b"%PDF-1.4\n%%EOF\n"), submit=True)
    products.add_items(maker, [ITEM])
    # drafts of every record type, so their edit forms are on the pages too
    make_national_cert("粤械注准20152660002", maker.unit.name, product_name="医用导丝")
    q.add_certificates(maker, ["粤械注准20152660002"])
    pdf = b"%PDF-1.4\n%%EOF\n"
    q.save_entrustment(maker, None, q.EntrustmentInput(
        kind="agent", principal_name="Medtronic Inc.", valid_from=dt.date.today(),
        valid_to=dt.date.today() + dt.timedelta(days=365), cert_nos=["国械注进20172400054"],
        uploads={"letter_en": ("en.pdf", pdf), "letter_zh": ("zh.pdf", pdf)}))
    make_operator(maker)
    hospital = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    make_platform_user("fuzzadmin", "Admin")
    make_platform_user("fuzzreview", REVIEWER_INITIAL)
    return {"anonymous": None, "manufacturer": maker.username, "hospital": hospital.username,
            "admin": "fuzzadmin", "reviewer": "fuzzreview"}


def _client(app, username):
    client = IsolatedClient(app, app.response_class, use_cookies=True)
    if username:
        login(client, username, PASSWORD)
        client.get("/")
    return client


ROLES = ["anonymous", "hospital", "manufacturer", "reviewer", "admin"]


@pytest.mark.parametrize("role", ROLES)
def test_every_form_survives_hostile_values(app, people, role):
    client = _client(app, people[role])
    forms = _post_forms(_pages(app, client))
    assert forms, f"no forms found for {role}"

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(value=HOSTILE)
    def run(value):
        _fuzz(app, client, forms, value, role)

    run()


def _xlsx(title: str, headers, value) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(list(headers))
    safe = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "?", value)  # openpyxl cannot even write these
    ws.append([safe for _ in headers])
    ws.append([value if i % 2 else "C09010101000000066260000001" for i, _ in enumerate(headers)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_every_import_column_survives_hostile_cells(app, people):
    """Columns from the import templates' definitions, each filled with generated values."""
    from app.services import national_import as ni, product_import as pi

    maker = _client(app, people["manufacturer"])
    admin = _client(app, people["admin"])
    targets = [(maker, "/procurement/products/list/", pi.SHEET_TITLE, pi.HEADERS)]
    for kind in ni.KINDS:
        targets.append((admin, "/admin/national/import/upload", kind.label, [f.header for f in kind.fields]))

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(value=HOSTILE)
    def run(value):
        for client, url, title, headers in targets:
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                              client.get(url if "upload" not in url else "/admin/national/import/")
                              .get_data(as_text=True)).group(1)
            try:
                data = _xlsx(title, headers, value)
            except Exception:  # a value openpyxl refuses to write cannot come from Excel either
                continue
            resp = client.post(url, data={"csrf_token": token, "file": (io.BytesIO(data), "fuzz.xlsx")},
                               content_type="multipart/form-data")
            assert resp.status_code in (200, 302, 400, 413), (url, resp.status_code)
            body = resp.get_data(as_text=True)
            for payload in XSS:
                if payload in value:
                    assert payload not in body, (url, "reflected unescaped")
            db.session.rollback()

    run()
