"""Accessibility (WCAG 2.1 AA / GB/T 37668-2019), checked the way an auditor would.

* Every page the app itself lists for a role — the URL map's pages without arguments that
  the role may open, plus one page per endpoint linked from them (detail, edit, history …) —
  has no serious or critical axe-core violation (WCAG 2 A and AA rules), in Chinese and in
  English.  axe-core comes from the npm registry (tests/browser/axe, installed by
  ``make test``), never from a CDN.
* A guide flow can be walked with the keyboard alone, with a visible focus ring.
* Dialogs keep focus inside while open and give it back when closed.
* Text enlarged (the navbar's 大字号 switch, and 200% zoom) loses nothing.
"""
from __future__ import annotations

import os
import re
from urllib.parse import urljoin, urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import login

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AXE_JS = os.path.join(ROOT, "tests", "browser", "axe", "node_modules", "axe-core", "axe.min.js")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")

# Demo users (seed/demo.py) and the anonymous visitor; every role of the platform.
ROLES = {
    "anonymous": None,
    "admin": ("admin", "Admin12345"),
    "initial_reviewer": ("chushen", "Review12345"),
    "final_reviewer": ("fushen", "Review12345"),
    "manufacturer": ("gdqx2024", "Demo12345"),
    "distributor": ("gdps2024", "Demo12345"),
    "hospital": ("gzyy2024", "Demo12345"),
    "non_designated": ("hclinic01", "Demo12345"),
}

# Never visited by the crawl: they end the session, switch language or answer with a file.
NOT_PAGES = re.compile(r"logout|/lang/|download|export|template|/file/|/files/|/static/|\.xlsx|api/"
                       r"|^/healthz$|^/readyz$|^/metrics$")  # operations endpoints (plain text, not pages)


def axe_source() -> str:
    if not os.path.exists(AXE_JS):
        pytest.fail("axe-core is missing: `make test` installs it (npm ci in tests/browser/axe)")
    with open(AXE_JS, encoding="utf-8") as f:
        return f.read()


def run_axe(page) -> list[dict]:
    """Serious and critical WCAG 2 A/AA violations on the page as it stands."""
    page.evaluate(axe_source())
    return page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return result.violations
              .filter(v => ['serious', 'critical'].includes(v.impact))
              .map(v => ({id: v.id, impact: v.impact,
                          nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }""", WCAG_TAGS)


def _endpoint(app, path: str) -> str | None:
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _args = adapter.match(urlparse(path).path, method="GET")
    except Exception:  # noqa: BLE001 - 404s, redirects and POST-only rules are not pages
        return None
    return endpoint


def pages_for(app, client) -> tuple[list[str], list[str]]:
    """The role's pages as the app lists them: argument-free GET rules it may open, and one
    page per further endpoint linked from those (first link found), HTML answers only.
    Returns (argument-free pages, linked pages)."""
    starts = sorted(
        rule.rule for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and not NOT_PAGES.search(rule.rule))
    pages: dict[str, str] = {}

    def visit(path: str) -> str | None:
        resp = client.get(path)
        assert resp.status_code < 500, f"{path} answered {resp.status_code}"
        if resp.status_code != 200 or not resp.mimetype == "text/html":
            return None
        return resp.get_data(as_text=True)

    linked: list[str] = []
    for path in starts:
        endpoint = _endpoint(app, path)
        if endpoint is None or endpoint in pages:
            continue
        html = visit(path)
        if html is None:
            continue
        pages[endpoint] = path
        for href in re.findall(r'href="([^"#][^"]*)"', html):
            href = href.replace("&amp;", "&")
            full = urlparse(urljoin("http://localhost" + path, href))
            if full.netloc == "localhost" and not NOT_PAGES.search(full.path):
                linked.append(full.path + (f"?{full.query}" if full.query else ""))
    first = sorted(pages.values())
    for path in linked:
        endpoint = _endpoint(app, path)
        if endpoint is None or endpoint in pages:
            continue
        if visit(path) is not None:
            pages[endpoint] = path
    return first, sorted(set(pages.values()) - set(first))


def _client_login(client, account: str, password: str) -> None:
    from tests.conftest import login as http_login

    resp = http_login(client, account, password)
    assert resp.status_code == 302, f"{account} could not log in"


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_page_of_each_role_passes_axe_in_both_languages(role, app, client, page, live_server):
    """Chinese: every page found; English (same templates, other words): the role's menu pages."""
    from seed.demo import load_demo

    load_demo()
    credentials = ROLES[role]
    if credentials:
        _client_login(client, *credentials)
    menu_pages, linked_pages = pages_for(app, client)
    assert len(menu_pages) >= (3 if credentials else 2), f"too few pages found for {role}: {menu_pages}"
    if credentials:
        login(page, live_server, *credentials)
    failures = []
    for language, paths in (("zh", menu_pages + linked_pages), ("en", menu_pages)):
        page.goto(f"{live_server}/lang/{language}")
        for path in paths:
            page.goto(live_server + path)
            assert page.locator("html").get_attribute("lang") == ("zh-CN" if language == "zh" else "en")
            for violation in run_axe(page):
                failures.append(f"[{language}] {path}: {violation['id']} ({violation['impact']}) "
                                f"at {violation['nodes']}")
    assert not failures, "\n".join(failures)


def test_the_check_finds_a_violation_when_there_is_one(page, live_server):
    """Positive control: a page with an unlabelled input and no lang fails the check."""
    page.goto(live_server + "/")
    page.evaluate("""() => {
        document.documentElement.removeAttribute('lang');
        const input = document.createElement('input');
        document.querySelector('main').appendChild(input);
    }""")
    found = {v["id"] for v in run_axe(page)}
    assert {"html-has-lang", "label"} <= found


def _tab_to(page, predicate_js: str, limit: int = 150) -> None:
    """Press Tab until the focused element satisfies ``predicate_js`` (a JS arrow function)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"({predicate_js})(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached an element matching {predicate_js}")


def _wait_until(page, predicate_js: str, timeout: float = 5.0) -> None:
    """Poll a JS condition through page.evaluate (the CSP forbids the eval that
    Playwright's wait_for_function uses inside the page)."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(predicate_js):
        if time.monotonic() > deadline:
            raise AssertionError(f"never true: {predicate_js}")
        page.wait_for_timeout(50)


def _enter_and_wait(page) -> None:
    """Enter on the focused link or button, and wait for the page it opens."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _focus_ring_visible(page) -> bool:
    return page.evaluate("""() => {
        const style = getComputedStyle(document.activeElement);
        return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
    }""")


def test_guide_000_certificate_add_by_keyboard_alone(page, live_server):
    """单位登录 → 招采企业服务 → 耗材注册证列表 → 新增 → pick a certificate → 确定, keyboard only."""
    from seed.demo import load_demo

    load_demo()
    page.goto(live_server + "/logout/")
    page.goto(live_server + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('skip-link')"), "skip link comes first"
    assert _focus_ring_visible(page)
    _tab_to(page, "el => el.id === 'nav-login'")
    assert _focus_ring_visible(page)
    _enter_and_wait(page)
    assert "/login" in page.url
    _tab_to(page, "el => el.name === 'username'")
    page.keyboard.type("gdqx2024")
    page.keyboard.press("Tab")
    page.keyboard.type("Demo12345")
    _enter_and_wait(page)
    assert "/login" not in page.url

    page.goto(live_server + "/hall/")
    _tab_to(page, "el => el.textContent.trim() === '招采企业服务'")
    _enter_and_wait(page)
    _tab_to(page, "el => el.textContent.trim() === '立即查看'")
    _enter_and_wait(page)
    _tab_to(page, "el => el.textContent.trim() === '耗材注册证列表'")
    _enter_and_wait(page)
    _tab_to(page, "el => el.textContent.trim() === '新增'")
    _enter_and_wait(page)
    _tab_to(page, "el => el.type === 'checkbox' && el.name === 'cert_nos' && !el.checked")
    chosen = page.evaluate("document.activeElement.value")
    assert _focus_ring_visible(page)
    page.keyboard.press("Space")
    assert page.evaluate("document.activeElement.checked")
    _tab_to(page, "el => el.type === 'submit' && el.textContent.trim() === '确定'")
    _enter_and_wait(page)
    # one certificate chosen: its 编辑 page opens (guide: 维护好注册证信息，点击保存或者提交)
    expect(page.get_by_text("请维护注册证信息后点击保存或者提交")).to_be_visible()
    page.goto(live_server + "/procurement/certificates/list/")
    expect(page.locator("#certificates")).to_contain_text(chosen)


def test_confirm_dialog_traps_focus_and_returns_it(page, live_server):
    """FAB's confirm box (删除 on a list): focus moves in, Tab stays inside, Escape gives it back."""
    from tests.factories import PASSWORD, make_platform_user

    make_platform_user("a11yadmin", "Admin")
    make_platform_user("a11yvictim", "Admin")
    login(page, live_server, "a11yadmin", PASSWORD)
    page.goto(live_server + "/users/list/")
    opener = page.locator("a.confirm, a[data-text]").first
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#modal-confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("aria-modal", "true")
    _wait_until(page, "document.getElementById('modal-confirm').contains(document.activeElement)")
    for _ in range(6):
        page.keyboard.press("Tab")
        assert page.evaluate("document.getElementById('modal-confirm').contains(document.activeElement)")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.getElementById('modal-confirm').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    _wait_until(page, "!!document.activeElement && document.activeElement.matches('a.confirm, a[data-text]')")


def test_larger_text_switch_and_200_percent_zoom_lose_nothing(page, live_server):
    from seed.demo import load_demo

    load_demo()
    login(page, live_server, "gdqx2024", "Demo12345")
    page.goto(live_server + "/procurement/products/list/")
    toggle = page.locator("#text-size-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    base = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    larger = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert larger >= base * 1.5
    page.goto(live_server + "/hall/")  # the choice is remembered
    expect(page.locator("html")).to_have_class(re.compile("text-large"))
    # 200% zoom of a 1280-px screen is a 640-px viewport: no page scrolls sideways.
    page.set_viewport_size({"width": 640, "height": 450})
    for path in ("/hall/", "/procurement/products/list/", "/procurement/certificates/list/", "/"):
        page.goto(live_server + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px at 200%"
    toggle = page.locator("#text-size-toggle")
    if not toggle.is_visible():  # collapsed navbar: open it first
        page.locator(".navbar-toggle").click()
    toggle.click()
    expect(page.locator("html")).not_to_have_class(re.compile("text-large"))


def test_form_errors_are_tied_to_their_fields_and_announced(page, live_server):
    """单位注册 sent with a bad account: the error is announced and described on the input."""
    page.goto(live_server + "/register/unit")
    account = page.get_by_label("账号", exact=True)
    expect(account).to_have_attribute("aria-required", "true")
    account.fill("ab")
    page.get_by_role("button", name="下一步").click()
    page.wait_for_load_state()
    account = page.get_by_label("账号", exact=True)
    expect(account).to_have_attribute("aria-invalid", "true")
    described = account.get_attribute("aria-describedby")
    assert described, "the account field is not described by its error"
    announced = page.evaluate("""(ids) => ids.map(id => document.getElementById(id))
        .filter(el => el && el.closest('[role=alert]')).map(el => el.textContent.trim())""", described.split())
    assert any("账号" in text for text in announced), announced
    assert run_axe(page) == []


def test_tables_have_headers_and_a_name(page, live_server):
    from seed.demo import load_demo

    load_demo()
    login(page, live_server, "gdqx2024", "Demo12345")
    for path in ("/procurement/certificates/list/", "/procurement/products/list/", "/procurement/items/list/"):
        page.goto(live_server + path)
        tables = page.locator("main table")
        assert tables.count() >= 1
        for i in range(tables.count()):
            table = tables.nth(i)
            assert table.locator("th").count() >= 1, f"{path}: table {i} has no header cells"
            name = table.evaluate("""t => { const id = t.getAttribute('aria-labelledby');
                return (t.caption && t.caption.textContent) || t.getAttribute('aria-label')
                       || (id && document.getElementById(id).textContent) || ''; }""")
            assert name.strip(), f"{path}: table {i} has no name"
