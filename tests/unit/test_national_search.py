"""Searches over national data: filters, code-prefix ranges, keyset pages without COUNT(*)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.models import NationalCertificate, NationalItem, NationalSpec
from app.services import national


@pytest.fixture
def data(app):
    today = dt.date.today()
    certs = []
    for n in range(30):
        imported = n % 3 == 0
        certs.append(NationalCertificate(
            number=(f"国械注进2017{n:07d}" if imported else f"粤械注准2019{n:07d}"),
            product_name=f"一次性使用导管{n}" if n % 2 else f"Balloon Catheter {n}",
            registrant="广东示范医疗器械有限公司" if n % 5 == 0 else f"企业{n}有限公司",
            management_class="II", origin="imported" if imported else "domestic",
            valid_from=today - dt.timedelta(days=400),
            valid_to=(today - dt.timedelta(days=1)) if n % 7 == 0 else (None if n == 1 else today + dt.timedelta(days=900)),
        ))
    db.session.add_all(certs)
    db.session.flush()
    items = []
    for n, cert in enumerate(certs[:10]):
        items.append(NationalItem(code=f"C0901{n:02d}0100000006626", name=f"动脉插管{n}", certificate_id=cert.id,
                                  enterprise="广东示范医疗器械有限公司"))
    db.session.add_all(items)
    db.session.flush()
    for item in items:
        for s in range(1, 6):
            db.session.add(NationalSpec(code=f"{item.code}{s:07d}", item_id=item.id, spec=f"{10 + s}Fr",
                                        model=f"AC-{s}"))
    db.session.commit()
    return certs


@pytest.mark.parametrize("prefix,upper", [("C0109", "C011"), ("C099", "C1"), ("C", "D"), ("C19", "C2"),
                                          ("C0901010100000006626", "C0901010100000006627")])
def test_code_prefix_becomes_an_index_range(prefix, upper):
    cond = national.code_range(NationalSpec.code, prefix)
    compiled = cond.compile(compile_kwargs={"literal_binds": True})
    assert f"'{prefix}'" in str(compiled) and f"'{upper}'" in str(compiled)
    assert "LIKE" not in str(compiled).upper()


def test_filters_combine(data):
    numbers = lambda f: [c.number for c in national.search_certificates(f, limit=100).rows]  # noqa: E731
    assert numbers({"number": "2017"}) == sorted(c.number for c in data if c.origin == "imported")
    assert numbers({"registrant": "广东示范"}) == sorted(c.number for c in data if c.registrant.startswith("广东示范"))
    assert numbers({"product_name": "balloon"}) == sorted(c.number for c in data if "Balloon" in c.product_name)
    assert set(numbers({"origin": "imported"})) == {c.number for c in data if c.origin == "imported"}
    expired = {c.number for c in data if c.valid_to and c.valid_to < dt.date.today()}
    assert set(numbers({"validity": "expired"})) == expired
    assert set(numbers({"valid_only": "1"})) == {c.number for c in data} - expired  # no end date counts as valid
    assert numbers({"registrant": "广东示范", "origin": "imported"}) == sorted(
        c.number for c in data if c.registrant.startswith("广东示范") and c.origin == "imported")
    assert numbers({"number": "%"}) == []  # wildcards are escaped
    assert numbers({"origin": "bogus"}) == sorted(c.number for c in data)  # an unknown value is ignored


def test_restrict_is_applied_on_the_server(data):
    page = national.search_certificates({"origin": "domestic"}, restrict=[NationalCertificate.origin == "imported"])
    assert page.rows == []


def test_keyset_pages_walk_forward_and_back_without_gaps(data):
    seen, page = [], national.search_certificates({}, limit=7)
    pages = [page]
    while True:
        seen += [c.number for c in page.rows]
        if not page.next_after:
            break
        page = national.search_certificates({}, after=page.next_after, limit=7)
        pages.append(page)
    assert seen == sorted(c.number for c in data) and len(pages) == 5
    assert pages[0].prev_before is None and pages[0].is_first
    back = national.search_certificates({}, before=pages[2].prev_before, limit=7)
    assert [c.number for c in back.rows] == [c.number for c in pages[1].rows]
    assert back.next_after == pages[1].rows[-1].number and back.prev_before == pages[1].rows[0].number
    first = national.search_certificates({}, before=pages[1].prev_before, limit=7)
    assert [c.number for c in first.rows] == [c.number for c in pages[0].rows] and first.prev_before is None


def test_a_page_never_counts(data, app):
    statements = []

    def spy(conn, cursor, statement, parameters, *args):
        statements.append((statement.lower(), parameters))

    event.listen(db.engine, "before_cursor_execute", spy)
    try:
        national.search_certificates({"registrant": "企业"}, after="粤械注准2019", limit=5)
        national.search_specs({"code": "C0901"}, limit=5)
        national.search_items({"name": "插管"}, limit=5)
    finally:
        event.remove(db.engine, "before_cursor_execute", spy)
    assert statements and not any("count(" in s for s, _ in statements)
    # SQLite renders LIMIT ? OFFSET ? with an offset of 0: nothing is ever skipped
    assert all(p[-1] == 0 for s, p in statements if " offset " in s)


def test_item_and_spec_searches(data):
    items = national.search_items({"code": "C090103"}).rows
    assert [i.code for i in items] == ["C0901030100000006626"]
    assert items[0].certificate.number == data[3].number
    assert len(national.search_items({"certificate": data[2].number}).rows) == 1
    assert len(national.search_items({"enterprise": "示范", "name": "插管1"}).rows) == 1
    specs = national.search_specs({"item": "C0901040100000006626"}).rows
    assert [s.code[-7:] for s in specs] == [f"{n:07d}" for n in range(1, 6)]
    assert len(national.search_specs({"code": "C09010", "text": "13fr"}, limit=100).rows) == 10
    assert len(national.search_specs({"name": "动脉插管7"}).rows) == 5
    assert len(national.search_specs({"certificate": data[0].number}).rows) == 5
    assert national.search_specs({"code": "C0901040100000006626" + "0000003"}).rows[0].model == "AC-3"


def test_lookups(data):
    assert national.certificate(data[4].number).product_name == data[4].product_name
    assert national.certificate("  ") is None
    own = national.numbers_registered_to("广东示范医疗器械有限公司")
    assert own == sorted(c.number for c in data if c.registrant == "广东示范医疗器械有限公司")
    assert national.numbers_registered_to("广东示范") == []  # exact name only
    assert national.is_imported(national.certificate(data[0].number))
    assert national.item("c0901000100000006626").name == "动脉插管0"
    assert set(national.certificates([data[1].number, "none"])) == {data[1].number}
    assert national.spec("C09010001000000066260000001").item.code == "C0901000100000006626"


def test_validity_of_a_certificate():
    today = dt.date(2025, 1, 1)
    cert = NationalCertificate(valid_from=dt.date(2024, 1, 1), valid_to=None)
    assert cert.is_valid_on(today) and not cert.is_valid_on(dt.date(2023, 1, 1))
    cert.valid_to = dt.date(2024, 12, 31)
    assert not cert.is_valid_on(today)


def test_spec_text_alone_asks_for_a_narrowing_filter(data):
    """A substring of 规格/型号 over a million rows cannot use an index: it needs a prefix, item, name or number."""
    page = national.search_specs({"text": "13fr"})
    assert page.rows == [] and page.notice and "前5位" in page.notice
    assert national.search_specs({"code": "C09", "text": "13fr"}).notice  # too short a prefix
    assert len(national.search_specs({"code": "C0901", "text": "13fr"}, limit=100).rows) == 10
    restricted = national.search_specs({"text": "13fr"}, restrict=[NationalSpec.code >= "C0901"], limit=100)
    assert restricted.notice is None and len(restricted.rows) == 10


def test_case_insensitive_only_when_the_term_has_case(data):
    """Chinese terms use LIKE (PostgreSQL's ILIKE case-folds every scanned row); Latin terms ignore case."""
    assert "lower" not in str(national.icontains(NationalItem.name, "插管").compile()).lower()
    assert "lower" in str(national.icontains(NationalItem.name, "Pebax").compile()).lower() or \
        db.engine.dialect.name == "sqlite"
    assert [c.product_name for c in national.search_certificates({"product_name": "BALLOON"}, limit=100).rows]


def test_certificate_names_are_searched_through_their_folded_copies(data):
    cert = data[3]
    assert cert.registrant_fold == cert.registrant.lower() and cert.product_name_fold == cert.product_name.lower()
    cert.registrant = "Boston Scientific Corporation"
    db.session.commit()
    assert cert.registrant_fold == "boston scientific corporation"  # kept in step on update
    found = national.search_certificates({"registrant": "BOSTON scientific"}).rows
    assert [c.number for c in found] == [cert.number]
    sql = str(select(NationalCertificate).where(*national.certificate_conditions({"registrant": "X"})).compile())
    assert "registrant_fold" in sql and "lower(" not in sql.lower()
