"""The API against its own live OpenAPI spec (issue 15 §4): Schemathesis generates requests for
every operation of ``/api/v1/_openapi`` (fetched from the running app) with a manufacturer's
key over real records; no answer is a 500 and every answer conforms to the spec (status code,
content type, body schema).  Examples are bounded (``API_SCHEMA_EXAMPLES``, default 12)."""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from app.extensions import db
from app.services import products
from tests.api.fixtures import effective_products, pack
from tests.api.helpers import auth, new_key

EXAMPLES = int(os.environ.get("API_SCHEMA_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_operation_conforms_and_never_fails(app):
    """Each operation of the live spec, with bounded generated examples (one test over all of
    them: the records are built once and the same key calls every operation)."""

    from tests.api.fixtures import reviewers

    user, item, _made = effective_products(2)
    products.add_packaging(user, item, pack(item, 5))
    products.add_packaging(user, item, pack(item, 6), submit=True)  # in the 待初审 queue
    key = new_key(user)
    reviewer_key = new_key(reviewers()[0], "审核")  # 审核管理 operations run as a reviewer
    db.session.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/_openapi", app, headers=auth(key))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 24
    failures, statuses = [], {}
    # an exception in the app becomes its 500 reply (as in production), logged with its traceback
    propagate = app.config.get("PROPAGATE_EXCEPTIONS")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        _run_all(operations, key, reviewer_key, failures, statuses)
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = propagate
    assert not failures, "\n\n".join(failures)
    # the keys were accepted: the plain reads answered 200 for the manufacturer and the reviewer
    for label in ("GET /api/v1/products/", "GET /api/v1/items/", "GET /api/v1/review/{rtype_key}/{queue}/"):
        assert 200 in statuses[label], (label, statuses[label])


def _run_all(operations, key, reviewer_key, failures, statuses):
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            caller = reviewer_key if case.operation.path.startswith("/api/v1/review/") else key
            response = case.call(headers=auth(caller))
            statuses.setdefault(operation.label, set()).add(response.status_code)
            db.session.rollback()
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            import traceback

            where = "" if type(exc).__module__.startswith("schemathesis") else "".join(
                traceback.format_exception(exc)[-6:])
            failures.append(f"{operation.label}: {str(exc)[:1500]}\n{where}")


def test_the_spec_is_served_to_key_holders_and_logged_in_users_only(app, client):
    from tests.conftest import login
    from tests.factories import PASSWORD, make_unit_user

    assert client.get("/api/v1/_openapi").status_code == 401
    user = make_unit_user()
    spec = client.get("/api/v1/_openapi", headers=auth(new_key(user))).json
    assert spec["openapi"].startswith("3.") and "/api/v1/products/" in spec["paths"]
    summaries = [op["summary"] for path in spec["paths"].values() for op in path.values()]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in s) for s in summaries), "Chinese summaries"
    assert spec["components"]["schemas"]["Error"]["properties"]["message"]
    assert all(op.get("security") == [{"api_key": []}] for path in spec["paths"].values() for op in path.values())
    login(client, user.username, PASSWORD)
    assert client.get("/api/v1/_openapi").status_code == 200
    page = client.get("/api/v1/docs/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "swagger-ui-bundle.js" in html and "swagger-init.js" in html
    assert "<script>" not in html.replace(" ", "") or "nonce" in html  # no inline script of ours
    assert "cdn" not in html.lower()
