"""A record type that exists only in the tests gets its pages from one small view (issue 13).

``tests/unit/test_record_type_registry.py`` proves that the registry and the engine need
nothing but the declaration.  This proves the pages: a fresh app (FAB adds views only before
the first request) registers the declaration and a ``WorkflowModelView`` subclass of a few
lines — model, route, record type, two templates — and a manufacturer then lists, searches,
opens, submits (one record and the ticked rows), withdraws and reads the 变更记录 of its
records through FAB's actions, while another unit's ids are 404 on every route.
"""
from __future__ import annotations

import pytest
from flask_appbuilder import Model
from flask_appbuilder.models.sqla.interface import SQLAInterface
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import select

from app.extensions import db
from app.models import UnitCategory, UnitRole
from app.models.workflow import WorkflowHistory
from app.views.workflow import WorkflowModelView
from app.workflow import engine, registry
from app.workflow.registry import RecordType
from tests.conftest import IsolatedClient, csrf_token, login, text
from tests.factories import PASSWORD, make_certified, scratch_app
from tests.sample_record import SampleRecord, SampleBase


SAMPLE = RecordType(key="sample", model=SampleRecord, label="测试样例", menu_key="consumable_item",
                    review_label="测试样例", number_field="number", search_fields=("number",))


# -- the whole view of the new record type ------------------------------------------------------
class SampleView(WorkflowModelView):
    datamodel = SQLAInterface(SampleRecord)
    route_base = "/test-only/samples"
    record_type = SAMPLE
    class_permission_name = "ConsumableItemView"  # the menu it belongs to grants its permissions
    list_template = "test_only/samples.html"
    list_title = "测试样例列表"
    show_template = "test_only/sample.html"
    show_title = "测试样例"


TEMPLATES = {
    "test_only/samples.html": """{% extends "appbuilder/base.html" %}{% import "qualification/_macros.html" as qm %}
{% block content %}<h2>{{ title }}</h2>
<form method="post" action="{{ url_for('SampleView.action_post') }}" id="batch-form">{{ form.csrf_token }}
<input type="hidden" name="action" value="submit"></form>
{{ qm.list_search(page, "编号", states) }}
<table id="samples">{% for r in rows %}<tr data-number="{{ r.number }}"><td>{{ r.number }}</td>
<td>{{ qm.state_label(r, states) }}</td>
<td>{{ qm.row_actions('SampleView', r, allowed, form, revisions.get(r.id), removable=r.id in removable) }}</td></tr>
{% endfor %}</table>{{ qm.list_pager(page) }}{% endblock %}""",
    "test_only/sample.html": """{% extends "appbuilder/base.html" %}{% block content %}
<h2>{{ title }}</h2><p id="number">{{ record.number }}</p>{% endblock %}""",
}


@pytest.fixture
def sample_app(tmp_path):
    """A fresh app with the test-only record type and its view, before its first request."""
    from app.security.roles import sync_roles

    try:
        with scratch_app(tmp_path, before_create=lambda: registry.register_record_type(SAMPLE)) as application:
            application.appbuilder.add_view_no_menu(SampleView)
            application.jinja_env.loader = ChoiceLoader([DictLoader(TEMPLATES), application.jinja_env.loader])
            Model.metadata.create_all(db.engine)
            SampleBase.metadata.create_all(db.engine)
            sync_roles()
            application.test_client_class = IsolatedClient
            yield application
    finally:
        registry.unregister_record_type(SAMPLE)


def _sample(user, number: str) -> SampleRecord:
    record = SampleRecord(unit_id=user.unit_id, number=number)
    db.session.add(record)
    engine.record_created(record, user)
    db.session.commit()
    return record


def test_a_new_record_type_gets_its_pages_and_actions_from_one_small_view(sample_app):
    maker = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)  # holds 耗材单件列表
    other = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    first, second = _sample(maker, "S-100"), _sample(maker, "S-200")
    third = _sample(maker, "S-300")
    foreign = _sample(other, "S-999")
    ids = (first.id, second.id, third.id, foreign.id)
    client = sample_app.test_client()
    login(client, maker.username, PASSWORD)

    # list and 查询: the unit's own records only
    page = text(client.get("/test-only/samples/list/"))
    assert "测试样例列表" in page and "S-100" in page and "S-200" in page and "S-999" not in page
    page = text(client.get("/test-only/samples/list/?q=S-2"))
    assert "S-200" in page and "S-100" not in page
    assert "S-100" in text(client.get(f"/test-only/samples/show/{ids[0]}"))

    # 提交 of one record: a FAB action through the tenant base view, then the engine
    token = csrf_token(client, "/test-only/samples/list/")
    resp = client.post(f"/test-only/samples/action/submit/{ids[0]}", data={"csrf_token": token})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(SampleRecord, ids[0]).state == engine.State.PENDING_INITIAL.value
    # 撤回
    client.post(f"/test-only/samples/action/withdraw/{ids[0]}", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(SampleRecord, ids[0]).state == engine.State.DRAFT.value
    # 批量提交 of the ticked rows
    client.post("/test-only/samples/action_post",
                data={"csrf_token": token, "action": "submit", "rowid": [str(ids[1]), str(ids[2])]})
    db.session.expire_all()
    assert {db.session.get(SampleRecord, i).state for i in ids[1:3]} == {engine.State.PENDING_INITIAL.value}
    # 变更记录: create, submit, withdraw of the first record
    history = text(client.get(f"/test-only/samples/history/{ids[0]}"))
    assert "变更记录" in history
    actions = list(db.session.scalars(select(WorkflowHistory.action).where(
        WorkflowHistory.record_type == "sample", WorkflowHistory.record_id == ids[0])
        .order_by(WorkflowHistory.id)))
    assert actions == ["create", "submit", "withdraw"]

    # another unit's id: 404 on every route that takes one, and nothing changes
    for url in (f"/test-only/samples/show/{ids[3]}", f"/test-only/samples/history/{ids[3]}"):
        assert client.get(url).status_code == 404, url
    for name in ("submit", "withdraw", "change", "cancel_change", "remove"):
        resp = client.post(f"/test-only/samples/action/{name}/{ids[3]}", data={"csrf_token": token})
        assert resp.status_code == 404, name
    resp = client.post("/test-only/samples/action_post",
                       data={"csrf_token": token, "action": "submit", "rowid": [str(ids[0]), str(ids[3])]})
    assert resp.status_code == 404
    db.session.expire_all()
    assert db.session.get(SampleRecord, ids[3]).state == engine.State.DRAFT.value
    assert db.session.get(SampleRecord, ids[0]).state == engine.State.DRAFT.value  # the batch ran for none
