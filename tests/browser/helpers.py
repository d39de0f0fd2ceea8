"""Steps every guide walkthrough shares."""
from tests.factories import PASSWORD


def login(page, base: str, account: str, password: str = PASSWORD) -> None:
    """单位登录 as the guides show it: home page, 单位登录 at the top right, account and password, 登录.

    Waits for the POST to land before the caller navigates on (a navigation racing the
    login request would cancel it)."""
    logout(page, base)
    page.goto(base + "/")
    page.locator(".navbar-right").get_by_role("link", name="单位登录").click()
    page.get_by_label("账号/手机号").fill(account)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)


def logout(page, base: str) -> None:
    """退出 is a POST: the /logout/ page shows the button when someone is logged in."""
    page.goto(base + "/logout/")
    button = page.locator("#logout-confirm")
    if button.count():
        button.click()
        page.wait_for_url(lambda url: "/logout" not in url)
