"""Unit pages belong to users of a unit: a platform admin (whose FAB role holds every
permission) gets 403 on each of them, never a page built for a unit or a 500."""
from __future__ import annotations

from app.tenancy import UnitScopedModelView
from tests.conftest import login
from tests.factories import PASSWORD, make_platform_user


def _unit_page_paths(app) -> list[str]:
    scoped = {view.endpoint for view in app.appbuilder.baseviews if isinstance(view, UnitScopedModelView)}
    assert {"ConsumableCertificateView", "OperatorView", "AccountRoleView"} <= scoped
    return sorted(rule.rule for rule in app.url_map.iter_rules()
                  if rule.endpoint.split(".")[0] in scoped and "GET" in rule.methods and not rule.arguments)


def test_platform_admin_is_refused_on_every_unit_page(app, client):
    make_platform_user("unitpagesadmin", "Admin")
    assert login(client, "unitpagesadmin", PASSWORD).status_code == 302
    paths = _unit_page_paths(app)
    assert "/procurement/certificates/add" in paths or any(p.startswith("/procurement/certificates/") for p in paths)
    answers = {path: client.get(path).status_code for path in paths}
    assert answers and all(code == 403 for code in answers.values()), answers


def test_unit_account_still_opens_its_pages(client):
    from app.models import UnitCategory, UnitRole
    from tests.factories import make_certified

    maker = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    assert login(client, maker.username, PASSWORD).status_code == 302
    assert client.get("/procurement/certificates/list/").status_code == 200
