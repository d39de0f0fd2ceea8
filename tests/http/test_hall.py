"""单位网厅 pages: tiles, 返回服务大厅, 角色认证, CA绑定, 修改密码, procurement entry."""
import io
import re

from sqlalchemy import select

from app.extensions import db
from app.models import CaBinding, Unit, UnitCategory, UnitRole
from seed.certs import Issued, issue
from tests.conftest import CSRF_RE, csrf_token, field_error, login, text
from tests.factories import PASSWORD, make_certified, make_operator, make_unit_user

HALL_PAGES = ["/hall/role-certification", "/hall/unit", "/hall/ca", "/hall/password", "/hall/procurement",
              "/procurement/"]


def test_anonymous_is_sent_to_login(client):
    for url in ["/hall/"] + HALL_PAGES:
        resp = client.get(url)
        assert resp.status_code == 302 and "/login/" in resp.headers["Location"]


def test_hall_tiles_for_an_enterprise(client):
    user = make_unit_user(UnitCategory.ENTERPRISE)
    login(client, user.username, PASSWORD)
    html = text(client.get("/hall/"))
    for words in ("单位网厅", "角色认证", "单位管理", "CA绑定", "招采企业服务", "修改密码", "退出"):
        assert words in html


def test_hospital_hall_has_no_ca_tile(client):
    user = make_unit_user(UnitCategory.DESIGNATED)
    login(client, user.username, PASSWORD)
    assert "CA绑定" not in text(client.get("/hall/"))


def test_every_hall_page_links_back_to_the_hall(client):
    user = make_unit_user(UnitCategory.ENTERPRISE)
    login(client, user.username, PASSWORD)
    for url in HALL_PAGES:
        html = text(client.get(url, follow_redirects=True))
        assert "返回服务大厅" in html, url


def test_every_procurement_page_of_a_unit_user_links_back_to_the_hall(client, app):
    """Not only the hall: every page a unit's user can open (lists, forms, queries, 账号角色管理)."""
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    login(client, user.username, PASSWORD)
    checked = []
    for rule in app.url_map.iter_rules():
        if rule.arguments or "GET" not in rule.methods or not rule.rule.startswith(("/hall", "/procurement")):
            continue
        resp = client.get(rule.rule, follow_redirects=True)
        if resp.status_code != 200 or not resp.content_type.startswith("text/html") or resp.request.path == "/hall/":
            continue
        checked.append(rule.rule)
        assert "返回服务大厅" in text(resp), rule.rule
    assert {"/procurement/account-roles/add", "/procurement/product-query/list/", "/procurement/items/list/"} <= set(checked), " ".join(checked)
    assert len(checked) >= 12
    assert "返回服务大厅" not in text(client.get("/hall/"))  # the hall itself needs no way back


def certify_via_pages(client, role: str):
    token = csrf_token(client, "/hall/role-certification")
    confirm = client.post("/hall/role-certification", data={"csrf_token": token, "unit_role": role})
    assert "确认" in text(confirm)
    return client.post("/hall/role-certification", data={"csrf_token": token, "unit_role": role, "confirm": "1"},
                       follow_redirects=True)


def test_role_certification_walk(client):
    user = make_unit_user(UnitCategory.NON_DESIGNATED)
    login(client, user.username, PASSWORD)
    page = text(client.get("/hall/role-certification"))
    assert "去认证" in page and "非定点医疗机构" in page and "非定点药店" in page
    assert "生产企业" not in page
    done = text(certify_via_pages(client, "non_designated_hospital"))
    assert "认证成功" in done and "返回服务大厅" in done
    assert db.session.get(Unit, user.unit_id).unit_role == "non_designated_hospital"


def test_forged_role_outside_the_category_is_refused_server_side(client):
    user = make_unit_user(UnitCategory.NON_DESIGNATED)
    login(client, user.username, PASSWORD)
    resp = certify_via_pages(client, "manufacturer")
    assert "不能认证为" in text(resp)
    assert db.session.get(Unit, user.unit_id).unit_role is None


def test_enterprise_is_told_to_bind_ca_first(client):
    user = make_unit_user(UnitCategory.ENTERPRISE)
    login(client, user.username, PASSWORD)
    assert "请先绑定有效的CA证书" in text(client.get("/hall/role-certification"))
    resp = certify_via_pages(client, "manufacturer")
    assert "请先绑定有效的CA证书" in text(resp)
    assert db.session.get(Unit, user.unit_id).unit_role is None


def upload(client, data, name="cert.pem", signature: bytes | None = None):
    """Upload like a person: read the challenge off the page, sign it with the key of the
    certificate (``data`` may be an Issued certificate from seed.certs), upload both."""
    html = text(client.get("/hall/ca"))
    token = CSRF_RE.search(html).group(1)
    challenge = re.search(r'id="ca-challenge">([^<]+)<', html).group(1)
    if isinstance(data, Issued):
        signature = data.sign(challenge) if signature is None else signature
        data = data.cert_bytes(name.endswith(".cer"))
    return client.post("/hall/ca", data={"csrf_token": token, "certificate": (io.BytesIO(data), name),
                                         "signature": (io.BytesIO(signature or b""), "challenge.sig")},
                       content_type="multipart/form-data", follow_redirects=True)


def ca_error(html):
    m = re.search(r'data-field="certificate">([^<]+)<', html)
    return m.group(1) if m else ""


def test_ca_binding_pages(client):
    user = make_unit_user(UnitCategory.ENTERPRISE)
    other = make_unit_user(UnitCategory.ENTERPRISE)
    login(client, user.username, PASSWORD)
    assert "无法识别" in ca_error(text(upload(client, b"hello")))
    assert "已过期" in ca_error(text(upload(client, issue(user.unit.credit_code, user.unit.name, days=1,
                                                            starts_in_days=-5))))
    assert "未包含本单位" in ca_error(text(upload(client, issue(other.unit.credit_code, user.unit.name))))
    assert "不是由平台信任的CA签发" in ca_error(text(upload(client, issue(user.unit.credit_code, user.unit.name,
                                                                        issuer="self"))))
    html = text(upload(client, issue(user.unit.credit_code, user.unit.name), signature=b"not signed"))
    assert "签名验证失败" in field_error(html, "signature")
    assert db.session.scalar(select(CaBinding)) is None
    page = text(client.get("/hall/ca"))
    assert "openssl dgst -sha256 -sign enterprise.key" in page
    html = text(upload(client, issue(user.unit.credit_code, user.unit.name), "cert.cer"))
    assert "CA证书绑定成功" in html and user.unit.credit_code in html
    token = csrf_token(client, "/hall/ca")
    html = text(client.post("/hall/ca/unbind", data={"unbind-csrf_token": token}, follow_redirects=True))
    assert "已解绑CA证书" in html


def test_oversized_certificate_is_refused(client):
    user = make_unit_user(UnitCategory.ENTERPRISE)
    login(client, user.username, PASSWORD)
    assert "过大" in ca_error(text(upload(client, b"0" * (64 * 1024 + 10))))


def test_enterprise_certifies_manufacturer_after_binding(client):
    user = make_unit_user(UnitCategory.ENTERPRISE)
    login(client, user.username, PASSWORD)
    upload(client, issue(user.unit.credit_code, user.unit.name))
    assert "认证成功" in text(certify_via_pages(client, "manufacturer"))


def test_change_password_page(client):
    user = make_unit_user()
    login(client, user.username, PASSWORD)
    token = csrf_token(client, "/hall/password")
    bad = client.post("/hall/password", data={"csrf_token": token, "old_password": "nope12345",
                                              "new_password": "Newpass123", "confirm_password": "Newpass123"})
    assert "原密码错误" in text(bad)
    ok = client.post("/hall/password", data={"csrf_token": token, "old_password": PASSWORD,
                                             "new_password": "Newpass123", "confirm_password": "Newpass123"},
                     follow_redirects=True)
    assert "密码修改成功" in text(ok)


def test_procurement_entry_shows_the_ceiling_menus(client):
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    login(client, user.username, PASSWORD)
    assert "立即查看" in text(client.get("/hall/procurement"))
    html = text(client.get("/procurement/"))
    for label in ("耗材委托授权列表", "耗材注册证列表", "耗材单件列表", "耗材产品列表", "耗材产品查询", "账号角色管理"):
        assert label in html
    assert "注册证查询" not in html.replace("耗材注册证", "")


def test_operator_without_role_sees_empty_role_message(client):
    unit_user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    op = make_operator(unit_user)
    login(client, op.phone, PASSWORD)
    assert "查询用户对应角色为空" in text(client.get("/procurement/"))


def test_operator_cannot_certify_or_bind(client):
    unit_user = make_unit_user(UnitCategory.ENTERPRISE)
    op = make_operator(unit_user)
    login(client, op.phone, PASSWORD)
    assert "仅限单位账号" in text(client.get("/hall/role-certification", follow_redirects=True))
    assert "仅限单位账号" in text(client.get("/hall/ca", follow_redirects=True))


def test_platform_user_gets_403_in_the_hall(client):
    from tests.factories import make_platform_user

    make_platform_user("admin2", "Admin")
    login(client, "admin2", PASSWORD)
    assert client.get("/hall/").status_code == 403


def test_an_uncertified_unit_is_sent_to_role_certification_not_told_its_role_is_empty(client):
    user = make_unit_user(UnitCategory.DESIGNATED)
    login(client, user.username, PASSWORD)
    html = text(client.get("/procurement/"))
    assert "本单位尚未进行角色认证" in html and "/hall/role-certification" in html
    assert "查询用户对应角色为空" not in html


def test_enterprise_without_ca_cannot_press_go_certify(client):
    user = make_unit_user(UnitCategory.ENTERPRISE)
    login(client, user.username, PASSWORD)
    html = text(client.get("/hall/role-certification"))
    buttons = re.findall(r"<button[^>]*>去认证</button>", html)
    assert buttons and all("disabled" in b for b in buttons)
