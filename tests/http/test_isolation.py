"""Tenant isolation, proven over the whole URL map.

For every route that takes a record id, a user of unit B asks for unit A's
record with every method the route accepts: the answer is 403/404 (or a
redirect away), no data of A appears, and nothing in the database changes.
A new route with an id argument that this test cannot map to a model fails
the test until it is covered — so a forgotten scope cannot slip in.
"""
from __future__ import annotations

import re

import pytest
from flask_appbuilder import ModelView
from sqlalchemy import select

from app.extensions import db
from app.models import (AccountRole, AppUser, Attachment, AuditLog, CaBinding, Entrustment, ProductImport,
                        QualCertificate, QualItem, QualProduct, RoleCeiling, SmsMessage, Unit, UnitCategory,
                        UnitRole)
from app.services import account_roles, attachments, operators
from tests.conftest import IsolatedClient, csrf_token, login
from tests.factories import PASSWORD, make_certified, new_id_number

ID_ARG = re.compile(r"^(pk|id|.+_id|token)$")
SKIP_ENDPOINTS = {"static", "appbuilder.static"}
PLATFORM = "platform data"
# Views holding no unit's data (national reference data imports); listed by name so
# that a new non-ModelView route still fails this test until someone looks at it.
PLATFORM_ONLY_VIEWS = {"NationalImportView", "NationalReleaseView"}


@pytest.fixture
def two_units(app):
    a = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    a.unit.name = "甲单位机密名称"
    db.session.commit()
    a_op = operators.add_operator(a, "甲经办人", new_id_number(), "13512345678")
    a_role = account_roles.create_role(a, "甲单位机密角色", ["consumable_certificate"])
    account_roles.assign(a, a_role, a_op)
    entrustment = Entrustment(unit_id=a.unit_id, number="WT-SECRET", kind="agent", principal_name="甲单位机密名称",
                              state="draft")
    certificate = QualCertificate(unit_id=a.unit_id, cert_no="国械注进20172400054", contact_name="甲经办人",
                                  contact_phone="13512345678", state="pending_initial")
    item = QualItem(unit_id=a.unit_id, code="C0901010100000006626")
    db.session.add_all([entrustment, certificate, item])
    db.session.flush()
    db.session.add_all([
        QualProduct(unit_id=a.unit_id, item_id=item.id, code="C09010101000000066260000001", min_unit="支",
                    pack_unit="盒", pack_ratio=10, state="draft"),
        ProductImport(token="secret-token-of-unit-a", unit_id=a.unit_id, filename="甲单位机密名称.xlsx", saved=0,
                      rejected=1, errors_json='[{"sheet": "耗材产品包装", "row": 2, "key": "甲单位机密名称", "reason": "x", "kind": "packaging", "values": ["甲单位机密名称"]}]'),
    ])
    for record in (entrustment, certificate):
        file = attachments.store(a.unit_id, "scan", "甲单位机密名称.pdf", b"%PDF-1.4 secret")
        attachments.attach(file, record.__tablename__, record.id)
    db.session.commit()
    from app.services import api_keys
    import datetime as dt

    api_keys.create(a_op, "甲单位机密名称", dt.date.today() + dt.timedelta(days=10))
    b = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    return a, a_op, a_role, b


def records_of_a(app, a, a_op, a_role) -> dict:
    """The record of unit A that each model's routes will be asked for."""
    sm = app.appbuilder.sm
    return {
        AppUser: a_op.id,
        AccountRole: a_role.id,
        Unit: a.unit_id,
        CaBinding: db.session.scalar(select(CaBinding.id).where(CaBinding.unit_id == a.unit_id)),
        SmsMessage: db.session.scalar(select(SmsMessage.id).where(SmsMessage.phone == a_op.phone)),
        AuditLog: db.session.scalar(select(AuditLog.id).where(AuditLog.unit_id == a.unit_id)),
        RoleCeiling: db.session.scalar(select(RoleCeiling.id)),
        sm.role_model: a_role.fab_role_id,
        sm.group_model: None,
        sm.permission_model: db.session.scalar(select(sm.permission_model.id)),
        sm.viewmenu_model: db.session.scalar(select(sm.viewmenu_model.id)),
        sm.permissionview_model: db.session.scalar(select(sm.permissionview_model.id)),
        Entrustment: db.session.scalar(select(Entrustment.id).where(Entrustment.unit_id == a.unit_id)),
        QualCertificate: db.session.scalar(select(QualCertificate.id).where(QualCertificate.unit_id == a.unit_id)),
        Attachment: db.session.scalar(select(Attachment.id).where(Attachment.unit_id == a.unit_id)),
        QualItem: db.session.scalar(select(QualItem.id).where(QualItem.unit_id == a.unit_id)),
        QualProduct: db.session.scalar(select(QualProduct.id).where(QualProduct.unit_id == a.unit_id)),
        ProductImport: "secret-token-of-unit-a",
        sm.api_key_model: db.session.scalar(select(sm.api_key_model.uuid)),
        PLATFORM: "1",
    }


def view_for(app, endpoint: str):
    name = endpoint.split(".")[0]
    for view in app.appbuilder.baseviews:
        if view.__class__.__name__ == name:
            return view
    return None


def snapshot() -> dict:
    """Every row of every table except the append-only audit log."""
    from flask_appbuilder import Model

    out = {}
    for table in Model.metadata.sorted_tables:
        if table.name == "audit_log":
            continue
        rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
        out[table.name] = [tuple(r) for r in rows]
    return out


SECRETS = ("甲单位机密名称", "甲单位机密角色", "13512345678", "甲经办人")


def assert_refused(resp, label):
    body = resp.get_data(as_text=True)
    assert resp.status_code in (302, 400, 403, 404, 405), f"{label}: status {resp.status_code}"
    if resp.status_code == 302:
        assert "/login" in resp.headers["Location"] or resp.headers["Location"].rstrip("/").endswith(
            ("/list", "")), f"{label}: redirected to {resp.headers['Location']}"
    for secret in SECRETS:
        assert secret not in body, f"{label}: leaked {secret}"


def id_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP_ENDPOINTS:
            continue
        if any(ID_ARG.match(arg) for arg in rule.arguments):
            yield rule


def test_unit_b_cannot_reach_unit_a_records_through_any_route(app, two_units):
    a, a_op, a_role, b = two_units
    targets = records_of_a(app, a, a_op, a_role)
    client = IsolatedClient(app, app.response_class, use_cookies=True)
    login(client, b.username, PASSWORD)
    token = csrf_token(client, "/hall/password")
    before = snapshot()
    checked = 0
    for rule in id_routes(app):
        view = view_for(app, rule.endpoint)
        for model, values in probes(view, rule, targets):
            assert model in targets, f"route {rule.rule}: no unit-A record of {getattr(model, '__name__', model)}"
            if any(v is None for v in values.values()):
                continue
            checked += check_route(client, app, view, rule, values, token, a_op, before)
    assert checked > 30


def probes(view, rule, targets):
    """(model, url values) pairs to ask for unit A's record through this route."""
    from app.views.review import RECORD_TYPES, ReviewView

    if isinstance(view, ReviewView):
        if "attachment_id" in rule.arguments:
            yield Attachment, {"attachment_id": targets[Attachment]}
            return
        for key, rtype in RECORD_TYPES.items():
            yield rtype.model, {"rtype_key": key, "pk": targets.get(rtype.model),
                                **({"queue": "initial"} if "queue" in rule.arguments else {})}
        return
    from flask_appbuilder.api import BaseApi

    if isinstance(view, BaseApi):
        # /api/v1: every route is walked with unit B's API key in tests/api/test_api_isolation.py
        assert rule.rule.startswith("/api/v1/"), rule.rule
        return
    if type(view).__name__ == "ApiKeyView":
        from flask import current_app

        yield current_app.appbuilder.sm.api_key_model, {"key_id": targets[current_app.appbuilder.sm.api_key_model]}
        return
    if type(view).__name__ in PLATFORM_ONLY_VIEWS:
        # platform-admin pages keyed by an id of platform data: a unit user is simply refused
        yield PLATFORM, {arg: "1" for arg in rule.arguments if ID_ARG.match(arg)}
        return
    assert isinstance(view, ModelView), f"route {rule.rule} takes an id but is not a ModelView: cover it here"
    model = view.datamodel.obj
    if "attachment_id" in rule.arguments:
        yield Attachment, {"attachment_id": targets[Attachment]}
        return
    if "token" in rule.arguments:
        yield ProductImport, {"token": targets[ProductImport]}
        return
    yield model, {arg: targets.get(model) for arg in rule.arguments if ID_ARG.match(arg)}


def check_route(client, app, view, rule, values, token, a_op, before) -> int:
    """Every method of one route, asked for A's record by B: refused, no leak, no change."""
    checked = 0
    for arg in rule.arguments - set(values):
        values[arg] = next(iter(getattr(view, "actions", {})), "x") if arg == "name" else "x"
    url = app.url_map.bind("localhost").build(rule.endpoint, values)
    for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
        data = {"csrf_token": token, "unbind-csrf_token": token, "revoke-csrf_token": token, "name": "被篡改", "phone": "13900000000",
                "operator_id": str(a_op.id), "op": "select", "menu_keys": "consumable_certificate",
                "action": "submit", "contact_name": "被篡改", "cert_nos": "国械注准20153100011",
                "rowid": str(values.get("pk", ""))}
        resp = client.open(url, method=method, data=data if method == "POST" else None)
        assert_refused(resp, f"{method} {url}")
        db.session.expire_all()
        assert snapshot() == before, f"{method} {url} changed data of unit A"
        checked += 1
    return checked


def test_forged_action_post_ids_are_refused(app, two_units):
    a, a_op, a_role, b = two_units
    targets = records_of_a(app, a, a_op, a_role)
    client = IsolatedClient(app, app.response_class, use_cookies=True)
    login(client, b.username, PASSWORD)
    token = csrf_token(client, "/hall/password")
    before = snapshot()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.endswith(".action_post"):
            continue
        view = view_for(app, rule.endpoint)
        pk = targets.get(view.datamodel.obj)
        if pk is None:
            continue
        for action in list(view.actions) or ["delete"]:
            resp = client.post(rule.rule, data={"csrf_token": token, "action": action, "rowid": [str(pk)]})
            assert_refused(resp, f"action_post {rule.rule} {action}")
            db.session.expire_all()
            assert snapshot() == before


def test_lists_show_only_own_records(app, two_units, client):
    a, a_op, a_role, b = two_units
    owner = IsolatedClient(app, app.response_class, use_cookies=True)
    login(owner, a.username, PASSWORD)
    login(client, b.username, PASSWORD)
    shown = {"/unit/operators/list/": ("13512345678", "甲经办人"), "/procurement/account-roles/list/": ("甲单位机密角色",)}
    for url, own in shown.items():
        owner_html = owner.get(url).get_data(as_text=True)
        assert all(secret in owner_html for secret in own), f"positive control: unit A sees its own rows on {url}"
        html = client.get(url).get_data(as_text=True)
        for secret in SECRETS:
            assert secret not in html, url


def test_scoped_base_view_closes_fabs_action_hole(app, two_units):
    """The scoped view re-checks ownership; FAB's own action() would not."""
    from app.tenancy import UnitScopedModelView

    from flask_appbuilder import ModelView

    a, a_op, a_role, b = two_units
    scoped = [view for view in app.appbuilder.baseviews if isinstance(view, UnitScopedModelView)]
    assert len(scoped) >= 6
    for view in scoped:  # FAB's unguarded action/action_post never serve a unit-owned view
        assert type(view).action is not ModelView.action, type(view).__name__
        assert type(view).action_post is not ModelView.action_post, type(view).__name__
        assert type(view)._get_related_views_widgets is not ModelView._get_related_views_widgets
    with app.test_request_context():
        from flask import g

        g.user = b
        view = next(v for v in app.appbuilder.baseviews if v.__class__.__name__ == "AccountRoleView")
        from werkzeug.exceptions import NotFound

        with pytest.raises(NotFound):
            view.get_owned_or_404(a_role.id)
        g.user = a
        assert view.get_owned_or_404(a_role.id).id == a_role.id


def test_every_workflow_action_refuses_another_units_record(app, two_units):
    """The transitions are FAB actions on WorkflowModelView: each one, on one record and on the
    ticked rows, refuses unit A's record to unit B (404, nothing changed); unit A's own works."""
    from app.views.workflow import WorkflowModelView

    a, a_op, a_role, b = two_units
    targets = records_of_a(app, a, a_op, a_role)
    views = [v for v in app.appbuilder.baseviews if isinstance(v, WorkflowModelView)]
    assert {type(v).__name__ for v in views} >= {"ConsumableEntrustmentView", "ConsumableCertificateView",
                                                 "ConsumableProductView"}
    intruder = IsolatedClient(app, app.response_class, use_cookies=True)
    login(intruder, b.username, PASSWORD)
    token = csrf_token(intruder, "/hall/password")
    before = snapshot()
    tried = 0
    for view in views:
        assert set(view.actions) == {"submit", "withdraw", "change", "cancel_change", "remove"}
        pk = targets[view.datamodel.obj]
        base = view.route_base
        for name, item in view.actions.items():
            resp = intruder.post(f"{base}/action/{name}/{pk}", data={"csrf_token": token})
            assert resp.status_code == 404, (base, name, resp.status_code)
            if item.multiple:
                resp = intruder.post(f"{base}/action_post", data={"csrf_token": token, "action": name,
                                                                  "rowid": [str(pk)]})
                assert resp.status_code == 404, (base, name, "multiple", resp.status_code)
            db.session.expire_all()
            assert snapshot() == before, (base, name)
            tried += 1
        for junk in ("nosuchaction", "delete"):
            assert intruder.post(f"{base}/action/{junk}/{pk}", data={"csrf_token": token}).status_code == 404
        assert intruder.post(f"{base}/action_post", data={"csrf_token": token, "action": "change",
                                                          "rowid": [str(pk)]}).status_code == 400  # single only
    assert tried == 15
    # positive control: the owner's own 撤回 goes through the same guard and is applied
    owner = IsolatedClient(app, app.response_class, use_cookies=True)
    login(owner, a.username, PASSWORD)
    owner_token = csrf_token(owner, "/hall/password")
    cert_id = targets[QualCertificate]
    resp = owner.post(f"/procurement/certificates/action/withdraw/{cert_id}", data={"csrf_token": owner_token})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(QualCertificate, cert_id).state == "draft"


def test_forged_batch_submit_ids_are_refused(app, two_units):
    a, a_op, a_role, b = two_units
    cert_id = db.session.scalar(select(QualCertificate.id).where(QualCertificate.unit_id == a.unit_id))
    client = IsolatedClient(app, app.response_class, use_cookies=True)
    login(client, b.username, PASSWORD)
    token = csrf_token(client, "/hall/password")
    before = snapshot()
    resp = client.post("/procurement/certificates/action_post", data={"csrf_token": token, "action": "submit",
                                                                      "rowid": [str(cert_id)]})
    assert_refused(resp, "batch-submit")
    db.session.expire_all()
    assert snapshot() == before


def test_no_generic_fab_form_is_left_on_unit_owned_views(app, two_units):
    """Every unit-owned view replaces FAB's generic add/edit pages with its own service-backed ones
    (a generic form would let a record bypass the rules or pick another unit's relation)."""
    from app.tenancy import UnitScopedModelView
    from flask_appbuilder import ModelView as FabModelView

    a, a_op, a_role, b = two_units
    client = IsolatedClient(app, app.response_class, use_cookies=True)
    login(client, a.username, PASSWORD)
    for view in app.appbuilder.baseviews:
        if not isinstance(view, UnitScopedModelView):
            continue
        for name in ("add", "edit"):
            own = getattr(type(view), name) is not getattr(FabModelView, name)
            allowed = f"can_{name}" in (view.base_permissions or [])
            assert own or not allowed, f"{type(view).__name__}.{name} is FAB's generic form"
    resp = client.get("/procurement/products/add")
    assert resp.status_code == 302 and "添加" not in resp.get_data(as_text=True)
