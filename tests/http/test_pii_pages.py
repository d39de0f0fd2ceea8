"""No page shows an ID number in full: platform admins and unit accounts see it masked
(README: nobody's work needs the full value on a page; `flask pii find` looks people up)."""
from __future__ import annotations

from app.models import UnitCategory, UnitRole
from app.services import operators
from tests.conftest import login, logout, text
from tests.factories import PASSWORD, make_certified, make_platform_user, new_id_number, new_phone


def _masked(number: str) -> str:
    return number[:6] + "********" + number[-4:]


def _get(client, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, url
    return text(resp)


def test_id_numbers_are_masked_on_every_page_that_shows_them(client):
    unit_user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    contact_number = unit_user.unit.contact_id_number
    operator_number = new_id_number()
    operator = operators.add_operator(unit_user, "王五", operator_number, new_phone())
    make_platform_user("piiadmin", "Admin")
    numbers = (contact_number, operator_number)

    login(client, "piiadmin", PASSWORD)
    admin_pages = {url: _get(client, url) for url in (
        "/admin/units/list/", f"/admin/units/show/{unit_user.unit_id}", "/users/list/",
        f"/users/show/{operator.id}", "/admin/audit/list/", "/admin/sms/list/")}
    logout(client)
    login(client, unit_user.username, PASSWORD)
    unit_pages = {url: _get(client, url) for url in (
        "/hall/unit", "/unit/operators/list/", f"/unit/operators/show/{operator.id}")}

    for url, html in {**admin_pages, **unit_pages}.items():
        for number in numbers:
            assert number not in html, f"{url} shows an ID number in full"
    assert _masked(contact_number) in admin_pages[f"/admin/units/show/{unit_user.unit_id}"]
    assert _masked(operator_number) in unit_pages["/unit/operators/list/"]
    assert _masked(operator_number) in unit_pages[f"/unit/operators/show/{operator.id}"]
