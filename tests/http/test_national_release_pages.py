"""Releases, 停用 and 转码 pages (issue 14 §2, §3): admin upload as a job, 国家数据版本, the units' flags and 转码."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import NationalRelease, QualProduct, UnitCategory, UnitRole
from app.models.job import BackgroundJob
from app.services import national_import as ni, products
from app.workflow import engine
from tests.conftest import IsolatedClient, csrf_token, field_error, login, text
from tests.factories import PASSWORD, make_certified, make_platform_user
from tests.http.test_product_pages import ITEM, maker_client, row_html  # noqa: F401  (maker_client: a fixture)
from tests.unit.test_national_import import full_workbook, workbook

OLD, NEW = ITEM + "0000001", ITEM + "0000002"


@pytest.fixture
def admin(app):
    c = IsolatedClient(app, app.response_class, use_cookies=True)
    make_platform_user("reladmin", "Admin")
    login(c, "reladmin", PASSWORD)
    return c


def _upload(client, data: bytes, name="release.xlsx", **fields):
    token = csrf_token(client, "/admin/national/import/")
    return client.post("/admin/national/import/upload", data={"csrf_token": token, "file": (io.BytesIO(data), name),
                                                              **fields}, content_type="multipart/form-data")


def test_upload_belongs_to_its_release_and_the_release_page_shows_what_it_added(admin):
    resp = _upload(admin, full_workbook(), version="2026-03-20", published_on="2026-03-20")
    assert resp.status_code == 302 and "/admin/national/import/result/" in resp.headers["Location"]
    assert "版本 2026-03-20" in text(admin.get(resp.headers["Location"]))
    html = text(admin.get("/admin/national/releases/"))
    assert '<tr data-version="2026-03-20">' in html and re.search(r'class="count-added">5<', html)
    release = db.session.scalar(select(NationalRelease))
    assert release.published_on == dt.date(2026, 3, 20)
    added = text(admin.get(f"/admin/national/releases/{release.id}?what=added&kind=spec"))
    assert "C09010101000000066260000001" in added
    assert "C09010101000000066260000001" not in text(
        admin.get(f"/admin/national/releases/{release.id}?what=changed&kind=spec"))
    assert admin.get("/admin/national/releases/999999").status_code == 404


def test_a_bad_publication_date_is_refused_at_its_field_and_nothing_is_imported(admin):
    resp = _upload(admin, full_workbook(), published_on="2026-13-40")
    assert resp.status_code == 200 and "不是有效日期" in field_error(text(resp), "published_on")
    resp = _upload(admin, full_workbook(), version="x" * 41)
    assert "版本号不能超过40个字符" in field_error(text(resp), "version")
    assert db.session.scalar(select(NationalRelease)) is None


def test_deactivation_and_transfer_sheets_upload_and_show_in_the_release(admin):
    _upload(admin, full_workbook(), version="V1")
    data = workbook(("停用", [["27位码", "原码状态"], ["C09010101000000066260000001", "停用"]]),
                    ("转码", [["原27位码", "27位码", "类型"],
                              ["C09010101000000066260000001", "C09010101000000066260000002", "变更"]]))
    assert _upload(admin, data, version="V2").status_code == 302
    release = db.session.scalar(select(NationalRelease).where(NationalRelease.version == "V2"))
    assert (release.deactivated, release.transferred) == (1, 1)
    stopped = text(admin.get(f"/admin/national/releases/{release.id}?what=deactivated&kind=spec"))
    assert "C09010101000000066260000001" in stopped and "已停用" in stopped
    moved = text(admin.get(f"/admin/national/releases/{release.id}?what=transferred"))
    assert "C09010101000000066260000002" in moved
    browse = text(admin.get("/admin/national/specs/?item=C0901010100000006626"))
    assert 'deactivated-flag' in browse


def test_the_progress_page_of_a_running_failed_or_unknown_job(admin):
    now = dt.datetime.utcnow()
    name = "app.services.national_import:run_uploaded_import"
    db.session.add_all([
        BackgroundJob(id="run1", name=name, title="国家数据导入：big.csv", status="running", done=250_000,
                      total=1_000_000, note="读取规格型号", created_at=now, started_at=now - dt.timedelta(seconds=10),
                      heartbeat_at=now),
        BackgroundJob(id="bad1", name=name, status="failed", error="作业意外中断（工作进程已退出或超时），未完成的数据已全部回滚，请重新提交",
                      created_at=now, finished_at=now),
        BackgroundJob(id="sms1", name="app.services.sms:send", status="done", created_at=now)])
    db.session.commit()
    running = text(admin.get("/admin/national/import/job/run1"))
    assert 'data-status="running"' in running and 'http-equiv="refresh"' in running
    assert "250,000" in running and "25%" in running and "行/秒" in running and "预计剩余" in running
    failed = text(admin.get("/admin/national/import/job/bad1"))
    assert "作业意外中断" in failed and 'http-equiv="refresh"' not in failed
    assert admin.get("/admin/national/import/job/sms1").status_code == 404  # not an import job
    assert admin.get("/admin/national/import/job/nope").status_code == 404
    assert "查看进度" in text(admin.get("/admin/national/import/"))  # the admin can come back to it


def test_upload_runs_as_a_background_job_when_a_queue_is_configured(app, admin, monkeypatch):
    """With a thread queue the upload answers at once with the progress page; the job finishes the import."""
    import time

    from app import jobs

    monkeypatch.setitem(app.config, "JOB_QUEUE", "thread")
    resp = _upload(admin, full_workbook(), version="V-bg")
    assert resp.status_code == 302
    location = resp.headers["Location"]
    if "/job/" in location:  # the thread may already have finished: then the result page is next
        job_id = location.rsplit("/", 1)[1]
        for _ in range(200):
            db.session.rollback()
            if jobs.status(job_id).finished:
                break
            time.sleep(0.05)
        html = text(admin.get(location))
        assert 'data-status="done"' in html and "查看导入结果" in html
    assert db.session.scalar(select(NationalRelease.added).where(NationalRelease.version == "V-bg")) == 5


def _effective_product(user):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import QualCertificate

    item = products.add_items(user, [ITEM])[0]
    record = products.add_packaging(user, item, products.Packaging(OLD, "支", "盒", 10), submit=True)
    certificate = db.session.scalar(select(QualCertificate).where(QualCertificate.unit_id == user.unit_id))
    for username, role in (("chu-h", "初审员"), ("fu-h", "复审员")):
        reviewer = make_platform_user(username, role)
        engine.apply(certificate, "approve", reviewer)  # a product is in force only under an effective certificate
        engine.apply(record, "approve", reviewer)
    return record


def _stop_and_move():
    ni.import_file(io.BytesIO(workbook(("停用", [["27位码", "原码状态"], [OLD, "停用"]]),
                                       ("转码", [["原27位码", "27位码"], [OLD, NEW]]))), "r.xlsx", version="V9")


def test_the_manufacturer_sees_the_flag_and_transfers_through_review(app, maker_client):
    record = _effective_product(maker_client.user)
    _stop_and_move()
    html = text(maker_client.get("/procurement/products/list/"))
    row = row_html(html, record.id)
    assert "停用提醒" in row and "转码" in row and NEW in row
    token = csrf_token(maker_client, "/procurement/products/list/")
    resp = maker_client.post(f"/procurement/products/transfer/{record.id}", data={"csrf_token": token,
                                                                              "new_code": NEW})
    revision = db.session.scalar(select(QualProduct).where(QualProduct.revision_of_id == record.id))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/procurement/products/edit/{revision.id}")
    assert revision.code == NEW and revision.state == "draft"
    again = maker_client.post(f"/procurement/products/transfer/{record.id}", data={"csrf_token": token,
                                                                               "new_code": NEW},
                              follow_redirects=True)
    assert "进行中的变更" in text(again)
    hospital = make_certified_hospital(app)
    assert "deactivated-flag" in text(hospital.get(f"/procurement/product-query/list/?code={OLD}"))


def test_transfer_refuses_a_code_without_a_national_transfer_and_other_units(app, maker_client):
    record = _effective_product(maker_client.user)
    token = csrf_token(maker_client, "/procurement/products/list/")
    resp = maker_client.post(f"/procurement/products/transfer/{record.id}", data={"csrf_token": token,
                                                                              "new_code": NEW},
                             follow_redirects=True)
    assert "没有编码" in text(resp)
    assert db.session.scalar(select(QualProduct).where(QualProduct.revision_of_id == record.id)) is None
    other = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    c = IsolatedClient(app, app.response_class, use_cookies=True)
    login(c, other.username, PASSWORD)
    _stop_and_move()
    token = csrf_token(c, "/procurement/products/list/")
    assert c.post(f"/procurement/products/transfer/{record.id}", data={"csrf_token": token, "new_code": NEW}
                  ).status_code in (403, 404)
    assert db.session.scalar(select(QualProduct).where(QualProduct.revision_of_id == record.id)) is None


def make_certified_hospital(app):
    hospital = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    c = IsolatedClient(app, app.response_class, use_cookies=True)
    login(c, hospital.username, PASSWORD)
    return c
