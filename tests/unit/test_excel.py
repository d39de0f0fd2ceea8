"""app.excel: streaming reads of .xlsx / .csv, formula-safe writes, templates, error logs."""
from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from app.excel import (Column, CorruptFile, NotATable, TemplateSheet, build_error_log, build_template,
                       detect_csv_encoding, is_formula_like, open_table)


def xlsx_bytes(*sheets: tuple[str, list[list]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def rows_of(data: bytes, name: str) -> list[tuple[str, list]]:
    with open_table(io.BytesIO(data), name) as table:
        return [(s.name, [(n, list(r)) for n, r in s.iter_rows()]) for s in table.sheets]


def test_xlsx_rows_stream_with_excel_row_numbers_skipping_absent_rows():
    data = xlsx_bytes(("甲", [["a", "b"], [], ["x", 1]]), ("乙", [["c"]]))
    sheets = rows_of(data, "f.xlsx")
    assert [s for s, _ in sheets] == ["甲", "乙"]
    numbered = sheets[0][1]
    assert numbered[0] == (1, ["a", "b"])
    # a row the file does not hold is not produced (whatever the sheet claims); numbers stay Excel's
    assert numbered[1][0] == 3 and numbered[1][1][:2] == ["x", 1]


def test_xlsx_is_opened_in_read_only_mode(monkeypatch):
    import openpyxl as ox

    seen = {}
    real = ox.load_workbook

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(ox, "load_workbook", spy)
    rows_of(xlsx_bytes(("s", [["a"]])), "f.xlsx")
    assert seen.get("read_only") is True


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_utf8_or_gbk_reads_the_same_text(encoding):
    text = "注册备案号,注册人名称\r\n粤械注准20192100123,广东示范医疗器械有限公司\r\n"
    data = text.encode(encoding)
    with open_table(io.BytesIO(data), "证.csv") as table:
        rows = [r for _, r in table.sheets[0].iter_rows()]
        assert table.encoding == ("GBK" if encoding == "gbk" else "UTF-8")
    assert rows[0] == ("注册备案号", "注册人名称")
    assert rows[1] == ("粤械注准20192100123", "广东示范医疗器械有限公司")


def test_gbk_detection_survives_a_utf8_looking_start():
    """Only the whole file decides: ASCII first, GBK bytes much later."""
    data = ("a,b\r\n" * 30000 + "中文,行\r\n").encode("gbk")
    assert detect_csv_encoding(io.BytesIO(data)) == "gb18030"
    assert detect_csv_encoding(io.BytesIO("a,b\r\n中文,行\r\n".encode("utf-8"))) == "utf-8-sig"


def test_a_text_file_renamed_xlsx_is_refused():
    with pytest.raises(NotATable, match="不是有效的Excel"):
        open_table(io.BytesIO("注册备案号,名称\n".encode()), "national.xlsx")


def test_a_zip_that_is_not_a_workbook_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    with pytest.raises(NotATable):
        open_table(io.BytesIO(buf.getvalue()), "national.xlsx")


def test_legacy_xls_and_other_extensions_are_refused_with_the_reason():
    with pytest.raises(NotATable, match=".xls"):
        open_table(io.BytesIO(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100), "old.xls")
    with pytest.raises(NotATable, match=".xls"):
        open_table(io.BytesIO(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100), "renamed.xlsx")
    with pytest.raises(NotATable, match="仅支持"):
        open_table(io.BytesIO(b"x"), "national.pdf")
    with pytest.raises(NotATable):
        open_table(io.BytesIO(xlsx_bytes(("s", [["a"]]))), "workbook-named.csv")


def test_a_sheet_broken_inside_the_zip_fails_while_reading_not_silently():
    good = xlsx_bytes(("s", [["a"]] + [[f"r{i}"] for i in range(50)]))
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = body[: len(body) // 2]  # truncated XML
            dst.writestr(info, body)
    with pytest.raises(CorruptFile):
        rows_of(out.getvalue(), "broken.xlsx")


def test_formula_like_values_are_written_as_text_and_survive_unchanged():
    values = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "普通文本", "C0101010010100103941"]
    data = build_error_log(["行号", "值", "错误原因"], [[i, v, "原因"] for i, v in enumerate(values, start=2)])
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.active
    assert [ws.cell(row=r, column=2).value for r in range(2, 2 + len(values))] == values
    for r in range(2, 2 + len(values)):
        cell = ws.cell(row=r, column=2)
        assert cell.data_type == "s"
        assert cell.quotePrefix == is_formula_like(cell.value)


def test_template_has_headers_dropdowns_text_columns_and_instructions():
    long_choices = tuple(f"单位{i}" for i in range(80))
    data = build_template([
        TemplateSheet("注册证", [Column("注册备案号", required=True, note="编号"),
                                 Column("管理类别", required=True, choices=("I", "II", "III"))]),
        TemplateSheet("包装", [Column("单位", choices=long_choices)]),
    ], notes=["说明一"])
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames[:2] == ["注册证", "包装"] and "填写说明" in wb.sheetnames
    ws = wb["注册证"]
    assert [c.value for c in ws[1]] == ["注册备案号", "管理类别"]
    assert ws.column_dimensions["A"].number_format == "@"
    formulas = [dv.formula1 for dv in ws.data_validations.dataValidation]
    assert '"I,II,III"' in formulas
    packaging = [dv.formula1 for dv in wb["包装"].data_validations.dataValidation]
    assert packaging and "选项" in packaging[0]  # a long list lives on the hidden sheet
    assert wb["选项"].sheet_state == "hidden"
    notes = [c.value for row in wb["填写说明"].iter_rows() for c in row if c.value]
    assert "说明一" in notes and "注册备案号" in notes and any("可选值：I、II、III" in str(n) for n in notes)


def test_stated_rows_counts_without_reading_and_says_nothing_for_a_broken_file(tmp_path):
    """The progress bar's estimate: a CSV's lines less its header, an .xlsx's stated sheet sizes
    (skipped sheets left out); a renamed or truncated file gives None, never an exception."""
    from openpyxl import Workbook

    from app.excel import stated_rows

    csv_path = tmp_path / "a.csv"
    csv_path.write_bytes("编码,名称\nC1,甲\nC2,乙\nC3,丙\n".encode("utf-8"))
    assert stated_rows(csv_path) == 3
    book = Workbook()
    book.active.title = "规格型号"
    for row in (["27位码"], ["C1"], ["C2"]):
        book.active.append(row)
    notes = book.create_sheet("填写说明")
    for n in range(10):
        notes.append([f"说明{n}"])
    xlsx_path = tmp_path / "b.xlsx"
    book.save(xlsx_path)
    assert stated_rows(xlsx_path, skip=lambda title: title == "填写说明") == 2
    assert stated_rows(xlsx_path) == 11
    broken = tmp_path / "c.xlsx"
    broken.write_bytes(xlsx_path.read_bytes()[:200])
    assert stated_rows(broken) is None
    assert stated_rows(tmp_path / "missing.csv") is None


def test_csv_width_is_the_first_record_and_leaves_the_stream_at_its_start():
    from app.excel import csv_width

    stream = io.BytesIO('a,"b,c",d\n1,2\n'.encode("utf-8"))
    assert csv_width(stream, "utf-8-sig", ",") == 3 and stream.tell() == 0
    assert csv_width(io.BytesIO(b"\xff\xfe,x"), "utf-8", ",") == 0  # undecodable: not for COPY
