"""我的API密钥 and the API's Swagger UI in a real browser under the app's CSP (issue 15)."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from app.models import UnitCategory, UnitRole
from tests.browser.helpers import login
from tests.browser.test_accessibility import run_axe
from tests.factories import PASSWORD, make_certified


def test_a_key_is_made_used_and_revoked_from_the_page(page, live_server):
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    login(page, live_server, user.username, PASSWORD)
    page.goto(live_server + "/hall/")
    page.locator(".hall-tiles").get_by_role("link", name="我的API密钥").click()
    page.get_by_label("密钥名称").fill("ERP对接")
    page.get_by_label("有效期至").fill((dt.date.today() + dt.timedelta(days=30)).isoformat())
    page.get_by_role("button", name="创建密钥").click()
    secret = page.locator("#new-key-secret").input_value()
    assert secret.startswith("sst_")
    api = page.request.get(live_server + "/api/v1/items/", headers={"Authorization": f"Bearer {secret}"})
    assert api.status == 200 and api.json()["items"] == []
    page.reload()
    expect(page.locator("#new-key-secret")).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#api-keys").get_by_role("button", name="吊销").click()
    expect(page.get_by_text("密钥已吊销")).to_be_visible()
    expect(page.locator("#api-keys")).to_contain_text("已吊销")
    refused = page.request.get(live_server + "/api/v1/items/", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status == 401


def test_the_key_page_showing_a_new_secret_passes_axe(page, live_server):
    """The crawl opens 我的API密钥 as a GET; the secret is shown only after a POST."""
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    login(page, live_server, user.username, PASSWORD)
    page.goto(live_server + "/hall/api-keys/")
    page.get_by_label("密钥名称").fill("ERP对接")
    page.get_by_role("button", name="创建密钥").click()
    expect(page.locator("#new-key-secret")).to_be_visible()
    assert run_axe(page) == []


def test_swagger_ui_renders_under_the_csp_from_local_files(page, live_server):
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    problems, outside = [], []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(live_server)
            and not req.url.startswith("data:") else None)
    login(page, live_server, user.username, PASSWORD)
    page.goto(live_server + "/api/v1/docs/")
    expect(page.locator(".swagger-ui .information-container")).to_be_visible()
    expect(page.locator(".swagger-ui").get_by_text("/api/v1/products/", exact=True).first).to_be_visible()
    expect(page.locator(".swagger-ui").get_by_text("产品包装列表", exact=False).first).to_be_visible()
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    assert outside == [], outside


def test_swagger_ui_passes_axe(page, live_server):
    """The API's documentation page is a page of the platform too: no serious or critical violation."""
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    login(page, live_server, user.username, PASSWORD)
    page.goto(live_server + "/api/v1/docs/")
    expect(page.locator(".swagger-ui").get_by_text("/api/v1/products/", exact=True).first).to_be_visible()
    assert run_axe(page) == []
