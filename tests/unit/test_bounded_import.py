"""Imports with bounded cost (issue 11 §1): hostile few-KB files, row caps, kept rejections.

No timed assertions: the cost is bounded by construction (rows produced, cells per row,
rejected rows kept), and the tests count those.
"""
from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from app.excel.reader import MAX_COLUMNS, TooManyRows, open_table
from app.extensions import db
from app.models import ProductImport, UnitCategory, UnitRole
from app.services import product_import, products, qualification as q
from tests.factories import make_certified, make_dictionary, make_national_cert, make_national_item

ITEM = "C0901010100000006626"


def xlsx(rows, title="耗材产品包装") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def claim_dimension(data: bytes, ref: str = "A1:XFD1048576") -> bytes:
    """Rewrite the sheet's <dimension> to claim a huge range (the 1.7 KB attack)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                text = body.decode()
                start = text.find("<dimension")
                if start >= 0:
                    end = text.find("/>", start) + 2
                    text = text[:start] + f'<dimension ref="{ref}"/>' + text[end:]
                else:
                    text = text.replace("<sheetData", f'<dimension ref="{ref}"/><sheetData', 1)
                body = text.encode()
            dst.writestr(info, body)
    return out.getvalue()


def sparse_sheet(cells: list[tuple[int, int, str]]) -> bytes:
    """A sheet with hand-placed cells (row, column) - gaps and far columns included."""
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    for r, c, v in cells:
        ws.cell(row=r, column=c, value=v)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_sheet_claiming_a_million_rows_yields_only_the_rows_it_holds():
    data = claim_dimension(xlsx([["a", "b"], ["c", "d"]]))
    assert len(data) < 10_000
    with open_table(io.BytesIO(data), "x.xlsx") as table:
        rows = list(table.sheets[0].iter_rows())
    assert rows == [(1, ("a", "b")), (2, ("c", "d"))]


def test_gaps_are_skipped_and_far_columns_cut():
    data = sparse_sheet([(1, 1, "head"), (900_000, 1, "far row"), (3, 16_000, "far column")])
    with open_table(io.BytesIO(data), "x.xlsx") as table:
        rows = list(table.sheets[0].iter_rows())
    assert [n for n, _ in rows] == [1, 3, 900_000]  # Excel's row numbers, no padding rows between
    assert all(len(r) <= MAX_COLUMNS for _, r in rows)


def test_row_cap_applies_to_web_uploads_only(app, monkeypatch):
    data = xlsx([[i] for i in range(50)])
    with open_table(io.BytesIO(data), "x.xlsx") as table:  # CLI / background job: no cap
        assert len(list(table.sheets[0].iter_rows())) == 50
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 10)
    with app.test_request_context():
        with open_table(io.BytesIO(data), "x.xlsx") as table:
            with pytest.raises(TooManyRows) as caught:
                list(table.sheets[0].iter_rows())
        assert "10" in str(caught.value.message)
        csv_data = "\n".join(str(i) for i in range(50)).encode()
        with open_table(io.BytesIO(csv_data), "x.csv") as table:
            with pytest.raises(TooManyRows):
                list(table.sheets[0].iter_rows())


def test_a_zip_that_unpacks_too_far_is_refused(app, monkeypatch):
    data = xlsx([["x" * 1000] for _ in range(200)])
    monkeypatch.setitem(app.config, "IMPORT_MAX_UNZIPPED_BYTES", 50_000)
    with app.test_request_context():
        with pytest.raises(TooManyRows):
            open_table(io.BytesIO(data), "x.xlsx")


@pytest.fixture
def maker(app):
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    make_dictionary()
    cert = make_national_cert("粤械注准20152660001", user.unit.name)
    make_national_item(cert, ITEM, name="动脉灌注管", specs=3)
    record = q.add_certificates(user, ["粤械注准20152660001"])[0]
    q.save_certificate(user, record, "张三", "13800138000", "", ("scan.pdf", b"%PDF-1.4\n%%EOF\n"), submit=True)
    products.add_items(user, [ITEM])
    return user


HEADER = ["27位耗材医保编码", "最小计量单位", "最小包装单位", "最小包装转换比", "中包装单位", "中包装转换比"]


def test_rejected_rows_beyond_the_kept_number_are_counted_not_kept(app, maker, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_REJECTED_KEPT", 5)
    data = xlsx([HEADER] + [["bad%d" % i] for i in range(40)])
    result = product_import.import_packaging(maker, io.BytesIO(data), "bad.xlsx")
    assert result.rejected_total == 40 and len(result.rejected) == 5 and result.rejected_dropped == 35
    log = db.session.scalar(select(ProductImport))
    assert log.rejected == 40 and log.rejected_kept == 5
    assert log.error_log  # built once, at import time


def test_the_error_log_is_stored_not_rebuilt_per_download(app, maker, monkeypatch):
    data = xlsx([HEADER, ["bad1"], ["bad2"]])
    result = product_import.import_packaging(maker, io.BytesIO(data), "bad.xlsx")
    log = product_import.find(maker, result.token)
    stored = log.error_log

    def must_not_build(*_a, **_k):
        raise AssertionError("error log rebuilt on download")

    monkeypatch.setattr(product_import, "build_error_log", must_not_build)
    assert product_import.error_log(log) == stored


def test_hostile_product_upload_is_refused_whole_through_the_page(app, maker, client, monkeypatch):
    from tests.conftest import csrf_token, login, text
    from tests.factories import PASSWORD

    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 100)
    login(client, maker.username, PASSWORD)
    token = csrf_token(client, "/procurement/products/list/")
    data = xlsx([HEADER] + [[ITEM + "0000001", "支", "盒", 1]] * 150)
    resp = client.post("/procurement/products/list/", data={
        "csrf_token": token, "file": (io.BytesIO(data), "many.xlsx")}, content_type="multipart/form-data")
    assert resp.status_code == 200
    assert "文件行数超过上限" in text(resp)
    from app.models import QualProduct

    assert db.session.scalar(select(QualProduct).limit(1)) is None
