"""Guide 003 (定点、非定点医疗机构注册和经办人赋权操作指引) steps 1–13, as written."""
from playwright.sync_api import expect

from seed.certs import issue
from tests.factories import new_id_number, new_uscc


def register(page, base, *, category_label, account, password, unit_name, credit_code):
    # 1、访问广东医保服务平台
    page.goto(base + "/")
    expect(page.get_by_text("广东医保服务平台").first).to_be_visible()
    # 2、点击右上角注册按钮，选择下拉框中的单位注册进入注册页面
    page.locator(".navbar-right").get_by_text("注册", exact=True).click()
    page.get_by_role("link", name="单位注册").click()
    expect(page.get_by_role("heading", name="单位注册")).to_be_visible()
    # 3、填写相关的注册信息
    page.get_by_label(category_label).check()
    page.get_by_label("账号", exact=True).fill(account)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_label("确认密码").fill(password)
    page.get_by_label("单位名称").fill(unit_name)
    page.get_by_label("统一社会信用代码").fill(credit_code)
    # 4、填写经办人信息，点击下一步
    page.get_by_label("经办人姓名").fill("陈经办")
    page.get_by_label("经办人身份证号码").fill(new_id_number())
    page.get_by_label("经办人手机号码").fill("13912340000")
    page.get_by_role("button", name="下一步").click()
    # 5、完成注册后记录下账号密码
    expect(page.get_by_role("heading", name="注册成功")).to_be_visible()
    expect(page.locator("#registered-account")).to_have_text(account)


def log_in(page, account, password):
    # 6、完成注册后返回网址；7、点击单位登录
    page.get_by_role("link", name="返回首页").click()
    page.locator(".navbar-right").get_by_role("link", name="单位登录").click()
    # 8、填写刚刚注册时的账号和密码，点击登录
    page.get_by_label("账号/手机号").fill(account)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()


def test_guide_003_steps_1_to_13_non_designated_institution(page, live_server):
    register(page, live_server, category_label="非定点医疗机构/非定点药店", account="hclinic2099",
             password="Clinic12345", unit_name="广州市越秀区某某门诊部", credit_code="H44010300099000000")
    log_in(page, "hclinic2099", "Clinic12345")
    # 9、点击进入单位网厅
    page.get_by_role("link", name="进入单位网厅").click()
    expect(page.get_by_role("heading", name="单位网厅")).to_be_visible()
    # 10、点击角色认证
    page.get_by_role("link", name="角色认证").click()
    # 11、选择非定点医疗机构的单位角色，点击去认证
    page.locator("tr", has_text="非定点医疗机构").get_by_role("button", name="去认证").click()
    # 12、点击确认按钮，提示认证成功
    page.get_by_role("button", name="确认").click()
    expect(page.get_by_text("认证成功")).to_be_visible()
    # 13、点击返回服务大厅
    page.get_by_role("link", name="返回服务大厅").first.click()
    expect(page.get_by_role("heading", name="单位网厅")).to_be_visible()
    expect(page.locator("#unit-role")).to_have_text("非定点医疗机构")


def test_enterprise_binds_ca_and_certifies_manufacturer(page, live_server, tmp_path):
    code = new_uscc()
    register(page, live_server, category_label="企业", account="maker2099", password="Maker12345",
             unit_name="广东某某医疗器械有限公司", credit_code=code)
    log_in(page, "maker2099", "Maker12345")
    page.get_by_role("link", name="进入单位网厅").click()
    # 请企业先绑定CA再完成角色认证
    page.get_by_role("link", name="角色认证").click()
    expect(page.get_by_text("请先绑定有效的CA证书再进行角色认证")).to_be_visible()
    page.get_by_role("link", name="返回服务大厅").first.click()
    page.locator(".hall-tiles").get_by_role("link", name="CA绑定").click()
    # the enterprise's certificate, issued by the demo root CA the platform trusts in development
    issued = issue(code, "广东某某医疗器械有限公司")
    cert = tmp_path / "company.cer"
    cert.write_bytes(issued.cert_bytes(der=True))
    # sign the challenge shown on the page with the certificate's key, as its openssl command does
    challenge = page.locator("#ca-challenge").inner_text().strip()
    expect(page.locator("#ca-openssl")).to_contain_text(challenge)
    signature = tmp_path / "challenge.sig"
    signature.write_bytes(issued.sign(challenge))
    page.get_by_label("CA证书文件").set_input_files(str(cert))
    page.get_by_label("挑战码签名文件").set_input_files(str(signature))
    page.get_by_role("button", name="绑定CA").click()
    expect(page.get_by_text("CA证书绑定成功")).to_be_visible()
    page.get_by_role("link", name="返回服务大厅").first.click()
    page.get_by_role("link", name="角色认证").click()
    page.locator("tr", has_text="生产企业").get_by_role("button", name="去认证").click()
    page.get_by_role("button", name="确认").click()
    expect(page.get_by_text("认证成功")).to_be_visible()
    page.get_by_role("link", name="返回服务大厅").first.click()
    expect(page.locator("#unit-role")).to_have_text("生产企业")
    # 招采企业服务 → 立即查看 shows the manufacturer's ceiling
    page.locator(".hall-tiles").get_by_role("link", name="招采企业服务").click()
    page.get_by_role("link", name="立即查看").click()
    expect(page.get_by_text("耗材委托授权列表")).to_be_visible()
