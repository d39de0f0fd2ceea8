"""Guide 003 steps 14–32: 经办人 and 账号角色 exactly as written."""
import re

from playwright.sync_api import expect

from app.models import UnitCategory, UnitRole
from tests.browser.helpers import login
from tests.factories import PASSWORD, make_certified, new_id_number, sms_text


def open_procurement(page):
    page.locator(".hall-tiles").get_by_role("link", name="招采企业服务").click()
    page.get_by_role("link", name="立即查看").click()


def log_out(page, base):
    page.goto(base + "/hall/")
    page.locator(".hall-tiles").get_by_role("button", name="退出").click()
    page.wait_for_url(lambda url: "/hall" not in url)


def test_guide_003_steps_14_to_32(page, live_server):
    unit = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    login(page, live_server, unit.username, PASSWORD)
    page.get_by_role("link", name="进入单位网厅").click()
    # 14、返回单位网厅页面，点击单位管理
    page.locator(".hall-tiles").get_by_role("link", name="单位管理").click()
    # 15、点击单位经办人后点击新增经办人
    page.get_by_role("link", name="单位经办人").click()
    page.get_by_role("link", name="新增经办人").click()
    # 16、填写经办人相关信息
    phone = "13698765432"
    page.get_by_label("姓名").fill("刘经办")
    page.get_by_label("身份证号码").fill(new_id_number())
    page.get_by_label("手机号码").fill(phone)
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("经办人新增成功")).to_be_visible()
    expect(page.locator("#operators")).to_contain_text(phone)
    initial = re.search(r"密码：([A-Za-z0-9]+)", sms_text(phone)).group(1)
    log_out(page, live_server)
    # 17、返回广东医保服务平台；18、点击单位登录，输入经办人账号（手机号）和密码（短信发送）
    login(page, live_server, phone, initial)
    # first login with an SMS password: set a new one
    expect(page.get_by_text("首次登录请先修改初始密码")).to_be_visible()
    page.get_by_label("原密码").fill(initial)
    page.get_by_label("新密码", exact=True).fill("Liu123456")
    page.get_by_label("确认新密码").fill("Liu123456")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("密码修改成功")).to_be_visible()
    # 19、登录后点击进入单位网厅
    page.goto(live_server + "/")
    page.get_by_role("link", name="进入单位网厅").click()
    # 20、点击进入招采企业服务—立即查看
    open_procurement(page)
    # 21、弹出提示—“查询用户对应角色为空”
    expect(page.get_by_text("查询用户对应角色为空")).to_be_visible()
    log_out(page, live_server)
    # 22、登录单位账号，再次进入服务大厅点击招采企业服务后点击立即查看
    login(page, live_server, unit.username, PASSWORD)
    page.get_by_role("link", name="进入单位网厅").click()
    open_procurement(page)
    # 23、再次点击用户基础设置
    page.get_by_role("link", name="用户基础设置").click()
    # 24、点击账号角色管理后点击添加角色
    page.get_by_role("link", name="账号角色管理").click()
    page.get_by_role("link", name="添加角色").click()
    # 25、填写角色名称，勾选该角色（药品和耗材）所需要的菜单权限后提交
    page.get_by_label("角色名称").fill("耗材查询员")
    page.get_by_label("耗材产品查询").check()
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("角色添加成功")).to_be_visible()
    # 26、找到刚刚建立的角色，点击后面的分配账号
    page.locator("tr", has_text="耗材查询员").get_by_role("link", name="分配账号").click()
    # 27、点击未分配后，找到需要设置的账号点击后面的选择按钮
    page.get_by_role("link", name="未分配").click()
    page.locator("tr", has_text=phone).get_by_role("button", name="选择").click()
    page.get_by_role("link", name="已分配").click()
    expect(page.locator("#assign-assigned")).to_contain_text(phone)
    log_out(page, live_server)
    # 28、再次返回广东医保服务平台；29、点击单位登录，登录经办人账号（账号为手机号）
    login(page, live_server, phone, "Liu123456")
    # 30、点击进入单位网厅；31、再次点击招采企业服务
    page.get_by_role("link", name="进入单位网厅").click()
    open_procurement(page)
    # 32、经办人账号也有了对应的权限
    menus = page.locator(".procurement-menu")
    expect(menus).to_have_count(1)
    expect(menus.first).to_have_text("耗材产品查询")
    expect(page.get_by_text("查询用户对应角色为空")).to_have_count(0)
