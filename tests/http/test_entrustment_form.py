"""新增委托授权: a refused POST says which chosen files were not kept; letters belong to 境外代理."""
from sqlalchemy import select

from app.extensions import db
from app.models import Attachment, Entrustment
from tests.conftest import csrf_token, text
from tests.http.test_qualification_pages import entrustment_form, maker_client  # noqa: F401  (fixture)


def test_a_refused_form_names_the_files_to_choose_again(maker_client):
    token = csrf_token(maker_client, "/procurement/entrustments/add")
    html = text(maker_client.post("/procurement/entrustments/add", data=entrustment_form(token, valid_to="2025-01-01"),
                                  content_type="multipart/form-data"))
    assert "不能早于" in html
    assert html.count("本次未保存，请重新选择文件") == 2
    assert "letter-en.pdf" in html and "letter-zh.pdf" in html
    assert db.session.scalar(select(Entrustment)) is None and db.session.scalar(select(Attachment)) is None


def test_letters_are_marked_as_agent_only(maker_client):
    html = text(maker_client.get("/procurement/entrustments/add"))
    assert html.count('class="form-group agent-only') == 2
    assert "本次未保存" not in html
