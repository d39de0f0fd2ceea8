"""National data import (SPEC §2): formats, bad input, idempotent upsert, nothing half-loaded."""
from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, NationalCertificate, NationalImport, NationalItem, NationalSpec
from app.services import national_import as ni
from app.services.national_import import ImportRefused, import_file

CERT_HEADERS = ["注册备案号", "注册备案产品名称", "注册人名称", "生产地址", "管理类别", "有效期开始", "有效期结束",
                "结构及组成", "适用范围", "境内/进口"]
ITEM_HEADERS = ["20位码", "单件名称", "一级分类", "二级分类", "三级分类", "通用名", "材质", "特征", "企业名称",
                "注册备案号"]
SPEC_HEADERS = ["27位码", "20位码", "规格", "型号"]

CERT_A = ["国械注准20153100011", "一次性使用动脉插管", "广东示范医疗器械有限公司", "广东省广州市黄埔区", "III",
          "2020-06-01", "2030-05-31", "由管体、接头组成", "用于体外循环", "境内"]
CERT_B = ["国械注进20172400054", "植入式心脏起搏器", "Medtronic Inc.", "Minneapolis, USA", "III", "2017-03-01",
          "2027-02-28", "", "", "进口"]
ITEM_A = ["C0901010100000006626", "动脉灌注管", "09-体外循环材料", "01-插管", "01-动脉灌注管", "010-插管",
          "00-不区分", "000-常规", "广东示范医疗器械有限公司", "国械注准20153100011"]
SPEC_A1 = ["C09010101000000066260000001", "C0901010100000006626", "18Fr", "AC-18A"]
SPEC_A2 = ["C09010101000000066260000002", "", "20Fr", "AC-20A"]


def workbook(*sheets: tuple[str, list[list]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def full_workbook(extra_specs=()) -> bytes:
    return workbook(("注册证", [CERT_HEADERS, CERT_A, CERT_B]), ("单件", [ITEM_HEADERS, ITEM_A]),
                    ("规格型号", [SPEC_HEADERS, SPEC_A1, SPEC_A2, *extra_specs]))


def csv_bytes(rows: list[list], encoding: str = "utf-8") -> bytes:
    import csv

    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode(encoding)


def run(data: bytes, name: str = "national.xlsx", **kwargs):
    return import_file(io.BytesIO(data), name, **kwargs)


def counts() -> tuple[int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(m))
                 for m in (NationalCertificate, NationalItem, NationalSpec))


def reasons(result) -> dict[int, str]:
    return {e.row: e.reason for e in result.errors}


# -- the good path --------------------------------------------------------------------
def test_one_workbook_with_a_sheet_per_kind_loads_everything(app):
    result = run(full_workbook())
    assert counts() == (2, 1, 2)
    assert result.total.inserted == 5 and result.total.rejected == 0
    cert = db.session.scalar(select(NationalCertificate).where(NationalCertificate.number == CERT_A[0]))
    assert cert.registrant == "广东示范医疗器械有限公司" and cert.management_class == "III"
    assert str(cert.valid_to) == "2030-05-31" and cert.origin == "domestic"
    medtronic = db.session.scalar(select(NationalCertificate).where(NationalCertificate.number == CERT_B[0]))
    assert medtronic.registrant_fold == "medtronic inc."  # the bulk path fills the search copies too
    spec = db.session.scalar(select(NationalSpec).where(NationalSpec.code == SPEC_A1[0]))
    assert spec.item.code == ITEM_A[0] and spec.item.certificate.number == CERT_A[0]


def test_reimport_changes_nothing_and_a_changed_row_is_updated_not_duplicated(app):
    run(full_workbook())
    again = run(full_workbook())
    assert again.total.inserted == 0 and again.total.updated == 0 and again.total.unchanged == 5
    changed = list(CERT_A)
    changed[1] = "一次性使用动脉插管（新）"
    result = run(workbook(("注册证", [CERT_HEADERS, changed])))
    assert result.counts["certificate"].updated == 1 and counts() == (2, 1, 2)
    assert db.session.scalar(select(NationalCertificate.product_name)
                             .where(NationalCertificate.number == CERT_A[0])) == "一次性使用动脉插管（新）"


def test_sheets_in_any_order_load_parents_first(app):
    data = workbook(("规格型号", [SPEC_HEADERS, SPEC_A1]), ("单件", [ITEM_HEADERS, ITEM_A]),
                    ("注册证", [CERT_HEADERS, CERT_A]))
    result = run(data)
    assert counts() == (1, 1, 1) and result.total.rejected == 0


def test_one_csv_file_per_kind(app):
    run(csv_bytes([CERT_HEADERS, CERT_A, CERT_B]), "certificates.csv")
    run(csv_bytes([ITEM_HEADERS, ITEM_A]), "items.csv")
    run(csv_bytes([SPEC_HEADERS, SPEC_A1, SPEC_A2]), "specs.csv")
    assert counts() == (2, 1, 2)


def test_gbk_and_utf8_csv_import_the_same_text(app):
    utf8 = run(csv_bytes([CERT_HEADERS, CERT_A], "utf-8"), "utf8.csv")
    assert utf8.encoding == "UTF-8"
    gbk_row = list(CERT_A)
    gbk_row[1] = "一次性使用动脉插管（改）"
    gbk = run(csv_bytes([CERT_HEADERS, gbk_row], "gbk"), "gbk.csv")
    assert gbk.encoding == "GBK" and gbk.counts["certificate"].updated == 1
    assert db.session.scalar(select(NationalCertificate.registrant)) == "广东示范医疗器械有限公司"
    assert db.session.scalar(select(NationalCertificate.product_name)) == "一次性使用动脉插管（改）"


def test_header_aliases_and_required_markers_are_understood(app):
    headers = ["*注册证编号", "产品名称", "注册人（备案人）名称", "管理类别", "有效期至", "境内/进口"]
    row = ["粤械注准20192100123", "一次性使用吸引管", "广东示范医疗器械有限公司", "Ⅱ类", "2029/04/14", "境内"]
    result = run(workbook(("Sheet1", [headers, row])))
    assert result.total.inserted == 1
    cert = db.session.scalar(select(NationalCertificate))
    assert cert.management_class == "II" and str(cert.valid_to) == "2029-04-14"


def test_the_offered_template_imports_once_filled(app):
    wb = openpyxl.load_workbook(io.BytesIO(ni.template_workbook()))
    wb["注册证"].append(CERT_A)
    wb["单件"].append(ITEM_A)
    wb["规格型号"].append(SPEC_A1)
    buf = io.BytesIO()
    wb.save(buf)
    result = run(buf.getvalue(), "模板.xlsx")
    assert counts() == (1, 1, 1) and result.total.rejected == 0
    for kind in ("certificate", "item", "spec"):
        text = ni.template_csv(kind).decode("utf-8-sig")
        assert text.split(",")[0] == {"certificate": "注册备案号", "item": "20位码", "spec": "27位码"}[kind]


def test_excel_dates_numbers_and_blank_end_dates(app):
    import datetime as dt

    filing = ["粤穗械备20180539号", "医用脱脂纱布块", "广东示范医疗器械有限公司", "", "I", dt.datetime(2018, 5, 9),
              "长期", "", "", "境内"]
    result = run(workbook(("注册证", [CERT_HEADERS, filing])))
    assert result.total.inserted == 1
    cert = db.session.scalar(select(NationalCertificate))
    assert str(cert.valid_from) == "2018-05-09" and cert.valid_to is None


# -- bad input: the file as a whole -----------------------------------------------
def test_wrong_headers_refuse_the_file_and_change_nothing(app):
    run(workbook(("注册证", [CERT_HEADERS, CERT_A])))
    before = counts()
    with pytest.raises(ImportRefused, match="表头无法识别"):
        run(workbook(("注册证", [CERT_HEADERS, CERT_B]), ("Sheet2", [["姓名", "电话"], ["张三", "1"]])))
    assert counts() == before
    log = db.session.scalars(select(NationalImport).order_by(NationalImport.id.desc())).first()
    assert log.status == "refused" and "表头" in log.message


def test_missing_required_columns_are_named(app):
    with pytest.raises(ImportRefused) as exc:
        run(workbook(("注册证", [["注册备案号", "注册备案产品名称", "生产地址"], ["国械注准20153100011", "x", "y"]])))
    assert "注册人名称" in exc.value.message and "管理类别" in exc.value.message and "境内/进口" in exc.value.message
    assert counts() == (0, 0, 0)


def test_a_duplicated_column_refuses_the_file(app):
    with pytest.raises(ImportRefused, match="重复"):
        run(workbook(("规格型号", [["27位码", "规格", "规格", "型号"], [SPEC_A1[0], "a", "b", "c"]])))


def test_a_non_excel_file_renamed_xlsx_changes_nothing(app):
    with pytest.raises(ImportRefused, match="不是有效的Excel"):
        run(csv_bytes([CERT_HEADERS, CERT_A]), "renamed.xlsx")
    assert counts() == (0, 0, 0)


def test_a_file_over_the_size_limit_is_refused_before_reading(app):
    data = full_workbook()
    with pytest.raises(ImportRefused, match="文件过大"):
        run(data, limit=len(data) - 1)
    app.config["NATIONAL_IMPORT_MAX_BYTES"] = 100
    try:
        with pytest.raises(ImportRefused, match="文件过大"):
            run(data)
    finally:
        del app.config["NATIONAL_IMPORT_MAX_BYTES"]
    assert counts() == (0, 0, 0)


def test_a_file_broken_halfway_rolls_back_the_sheets_already_loaded(app):
    good = full_workbook(extra_specs=[[f"C0901010100000006626{n:07d}", "", f"{n}Fr", "X"] for n in range(3, 400)])
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet3.xml":  # 规格型号, read last
                body = body[: int(len(body) * 0.7)]
            dst.writestr(info, body)
    with pytest.raises(ImportRefused, match="损坏"):
        run(out.getvalue())
    assert counts() == (0, 0, 0)


def test_an_empty_file_or_one_without_data_is_refused(app):
    with pytest.raises(ImportRefused, match="文件为空"):
        run(b"", "x.csv")
    with pytest.raises(ImportRefused, match="没有可导入的数据"):
        run(workbook(("注册证", [])))


# -- bad input: rows -------------------------------------------------------------------
def test_a_27_char_code_without_its_single_item_is_rejected_with_its_row(app):
    orphan = ["C09010201000000066260000001", "", "18Fr", "VC-18"]
    result = run(full_workbook(extra_specs=[orphan]))
    assert counts() == (2, 1, 2)
    assert result.counts["spec"].rejected == 1
    assert "C0901020100000006626" in reasons(result)[4] and "没有对应的单件" in reasons(result)[4]
    assert result.errors[0].sheet == "规格型号" and result.errors[0].key == orphan[0]


def test_a_20_char_code_with_letters_after_the_c_is_rejected(app):
    bad = list(ITEM_A)
    bad[0] = "C09010101000000066A6"
    result = run(workbook(("注册证", [CERT_HEADERS, CERT_A]), ("单件", [ITEM_HEADERS, bad])))
    assert counts() == (1, 0, 0)
    assert "C加19位数字" in reasons(result)[2]


@pytest.mark.parametrize("code", ["C0901010100000006626000000", "X09010101000000066260000001",
                                  "C0901010100000006626000000A"])
def test_malformed_27_char_codes_are_rejected(app, code):
    result = run(full_workbook(extra_specs=[[code, "", "1", "2"]]))
    assert "C加26位数字" in reasons(result)[4]


def test_a_key_repeated_in_one_file_loads_once_and_names_the_first_row(app):
    dup = list(CERT_A)
    dup[1] = "另一个名称"
    result = run(workbook(("注册证", [CERT_HEADERS, CERT_A, CERT_B, dup])))
    assert counts()[0] == 2
    assert reasons(result)[4] == "注册备案号“国械注准20153100011”与第2行重复"
    assert db.session.scalar(select(NationalCertificate.product_name)
                             .where(NationalCertificate.number == CERT_A[0])) == CERT_A[1]


def test_duplicated_codes_across_sheets_of_one_kind(app):
    data = workbook(("注册证", [CERT_HEADERS, CERT_A]), ("单件", [ITEM_HEADERS, ITEM_A]),
                    ("规格型号", [SPEC_HEADERS, SPEC_A1]), ("规格型号2", [SPEC_HEADERS, SPEC_A1]))
    result = run(data)
    assert counts() == (1, 1, 1)
    assert "工作表“规格型号”第2行" in result.errors[0].reason


def test_empty_rows_are_skipped_and_row_numbers_stay_true(app):
    bad = list(CERT_B)
    bad[4] = "IV"
    rows = [CERT_HEADERS, [], CERT_A, [None] * 10, ["", " ", ""], bad, []]
    result = run(workbook(("注册证", rows)))
    assert result.total.inserted == 1 and result.total.rejected == 1
    assert list(reasons(result)) == [6] and "管理类别" in reasons(result)[6]
    csv_result = run(csv_bytes([CERT_HEADERS, [], CERT_A, ["", "", ""], bad]), "c.csv")
    assert list(reasons(csv_result)) == [5]


def test_a_rejected_row_never_half_loads(app):
    """A row with one bad field changes nothing, even when the same number already exists."""
    run(workbook(("注册证", [CERT_HEADERS, CERT_A])))
    bad = list(CERT_A)
    bad[1] = "被改掉的名称"
    bad[6] = "2010-01-01"  # ends before it starts
    result = run(workbook(("注册证", [CERT_HEADERS, bad])))
    assert "不能早于" in reasons(result)[2]
    cert = db.session.scalar(select(NationalCertificate))
    assert cert.product_name == CERT_A[1] and str(cert.valid_to) == "2030-05-31"


@pytest.mark.parametrize("column,value,reason", [
    (0, "", "注册备案号不能为空"),
    (0, "国械 注准2015", "格式不正确"),
    (4, "IV", "管理类别"),
    (5, "2020-13-45", "不是有效日期"),
    (9, "国外", "应为 境内 或 进口"),
    (9, "进口", "境内/进口应为 境内"),
    (2, "名" * 300, "超过255个字符"),
])
def test_certificate_row_rules(app, column, value, reason):
    row = list(CERT_A)
    row[column] = value
    result = run(workbook(("注册证", [CERT_HEADERS, row])))
    assert result.total.rejected == 1 and reason in reasons(result)[2]


def test_an_imported_number_must_be_marked_imported(app):
    row = list(CERT_B)
    row[9] = "境内"
    result = run(workbook(("注册证", [CERT_HEADERS, row])))
    assert "应为 进口" in reasons(result)[2]


def test_single_item_rules(app):
    run(workbook(("注册证", [CERT_HEADERS, CERT_A])))
    unknown_cert = list(ITEM_A)
    unknown_cert[9] = "国械注准20990000000"
    wrong_class = list(ITEM_A)
    wrong_class[0] = "C0901010100000006627"
    wrong_class[2] = "10-血液净化材料"
    result = run(workbook(("单件", [ITEM_HEADERS, unknown_cert, wrong_class])))
    assert "不在注册证数据中" in reasons(result)[2]
    assert "一级分类“10-血液净化材料”与20位码不一致（编码中为09）" == reasons(result)[3]


def test_spec_rules(app):
    run(full_workbook())
    mismatch = ["C09010101000000066260000009", "C0901010100000009999", "1", "2"]
    empty = ["C09010101000000066260000010", "", "", ""]
    result = run(workbook(("规格型号", [SPEC_HEADERS, mismatch, empty])))
    assert "不一致" in reasons(result)[2] and "至少填写一项" in reasons(result)[3]


def test_the_report_keeps_the_first_rejected_rows_and_counts_all(app, monkeypatch):
    monkeypatch.setattr(ni.results, "REPORT_LIMIT", 3)
    rows = [CERT_HEADERS] + [[f"bad{n}"] + CERT_A[1:] for n in range(10)]
    result = run(workbook(("注册证", rows)))
    assert result.total.rejected == 10 and len(result.errors) == 3 and result.errors_truncated


def test_imports_are_logged_and_audited_with_a_downloadable_report(app):
    bad = list(CERT_B)
    bad[4] = "IV"
    result = run(workbook(("注册证", [CERT_HEADERS, CERT_A, bad])))
    log = ni.find_import(result.token)
    assert (log.inserted, log.rejected, log.status, log.source) == (1, 1, "done", "cli")
    book = openpyxl.load_workbook(io.BytesIO(ni.error_report(log)))
    report = book["注册证"]  # the kind's template sheet: its columns, the row's values as the file had them
    fields = [f.header for f in ni.KINDS_BY_KEY["certificate"].fields]
    assert [c.value for c in report[1]] == ["工作表", "行号", *fields, "错误原因"]
    row = [c.value if c.value is not None else "" for c in report[2]]
    assert row[1] == 3 and row[2:2 + len(bad)] == bad and "IV" in row[-1]
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.event == "national_import")) == 1


def test_the_error_report_lists_rows_in_order_and_imports_again_once_corrected(app):
    """国家数据导入's 错误报告 carries each rejected row's values: fix the cells, import the report."""
    bad_class, bad_date = list(CERT_B), list(CERT_A)
    bad_class[4] = "IV"
    bad_date[5] = "2015-13-45"
    result = run(workbook(("注册证", [CERT_HEADERS, bad_date, bad_class])))
    assert result.total.rejected == 2
    book = openpyxl.load_workbook(io.BytesIO(ni.error_report(ni.find_import(result.token))))
    sheet = book["注册证"]
    rows = [[c.value if c.value is not None else "" for c in r] for r in sheet.iter_rows(min_row=2)]
    assert [r[1] for r in rows] == [2, 3]  # row order
    assert rows[0][2:2 + len(bad_date)] == bad_date and rows[1][2:2 + len(bad_class)] == bad_class
    # the person corrects the two cells in the report and imports that very file
    sheet.cell(row=2, column=2 + 6).value = "2015-12-31"
    sheet.cell(row=3, column=2 + 5).value = "III"
    buf = io.BytesIO()
    book.save(buf)
    again = run(buf.getvalue(), name="更正后.xlsx")
    assert again.total.rejected == 0 and again.total.inserted == 2


def test_batches_larger_than_one_flush(app, monkeypatch):
    monkeypatch.setattr(ni.loader, "BATCH_SIZE", 7)
    specs = [[f"C0901010100000006626{n:07d}", "", f"{n}Fr", f"M{n}"] for n in range(1, 40)]
    result = run(workbook(("注册证", [CERT_HEADERS, CERT_A]), ("单件", [ITEM_HEADERS, ITEM_A]),
                          ("规格型号", [SPEC_HEADERS, *specs, specs[3]])))
    assert counts() == (1, 1, 39) and result.counts["spec"].rejected == 1
    again = run(workbook(("规格型号", [SPEC_HEADERS, *specs])))
    assert again.counts["spec"].unchanged == 39


# -- the CLI ------------------------------------------------------------------------------
def test_cli_prints_inserted_updated_rejected(app, tmp_path):
    bad = list(CERT_B)
    bad[4] = "IV"
    path = tmp_path / "national.xlsx"
    path.write_bytes(workbook(("注册证", [CERT_HEADERS, CERT_A, bad])))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["national", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "inserted 1, updated 0, unchanged 0, rejected 1" in result.output
    assert "row 3" in result.output and "管理类别" in result.output
    again = runner.invoke(args=["national", "import", str(path)])
    assert "inserted 0, updated 0, unchanged 1, rejected 1" in again.output


def test_cli_refused_file_exits_non_zero(app, tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_text("not excel")
    result = app.test_cli_runner().invoke(args=["national", "import", str(path)])
    assert result.exit_code == 1 and "nothing imported" in result.output


def test_cli_writes_the_template(app, tmp_path):
    out = tmp_path / "t.xlsx"
    result = app.test_cli_runner().invoke(args=["national", "template", str(out)])
    assert result.exit_code == 0
    assert openpyxl.load_workbook(out).sheetnames[:3] == ["注册证", "单件", "规格型号"]


# -- demo data ------------------------------------------------------------------------------
def test_demo_national_data_loads_idempotently_and_matches_the_demo_manufacturer(app):
    from seed.national import load_national_demo

    lines = load_national_demo()
    assert all("拒绝 0 条" in line for line in lines if line.startswith("national"))
    n_certs, n_items, n_specs = counts()
    assert n_certs >= 40 and n_items >= 40 and n_specs >= 200
    own = db.session.scalars(select(NationalCertificate.number)
                             .where(NationalCertificate.registrant == "广东示范医疗器械有限公司")).all()
    assert any(n.startswith("国械注准") for n in own) and any(n.startswith("粤械注准") for n in own)
    origins = set(db.session.scalars(select(NationalCertificate.origin)))
    assert origins == {"domestic", "imported"}
    assert db.session.scalar(select(func.count()).select_from(NationalCertificate)
                             .where(NationalCertificate.number.like("国械注进%"))) >= 3
    example = db.session.scalar(select(NationalSpec).where(NationalSpec.code == "C09010101000000066260000001"))
    assert example.item.certificate.number == "国械注准20153100011"
    load_national_demo()
    assert counts() == (n_certs, n_items, n_specs)


# -- releases: several files, folders, .zip (issue 14) ------------------------------------------
def _release_folder(tmp_path, name="release"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "1_certificates.csv").write_bytes(csv_bytes([CERT_HEADERS, CERT_A, CERT_B]))
    (folder / "2_items.csv").write_bytes(csv_bytes([ITEM_HEADERS, ITEM_A]))
    (folder / "3_specs.xlsx").write_bytes(workbook(("规格型号", [SPEC_HEADERS, SPEC_A1])))
    (folder / "4_specs.csv").write_bytes(csv_bytes([SPEC_HEADERS, SPEC_A2]))
    (folder / "readme.txt").write_text("not a table")
    return folder


def test_a_folder_is_one_release_in_one_transaction_and_one_log(app, tmp_path):
    folder = _release_folder(tmp_path)
    sources = ni.expand_paths([folder], str(tmp_path))
    assert [name for _, name in sources] == ["1_certificates.csv", "2_items.csv", "3_specs.xlsx", "4_specs.csv"]
    result = ni.import_release(sources, label="release")
    assert counts() == (2, 1, 2) and result.total.inserted == 5
    assert db.session.scalar(select(func.count()).select_from(NationalImport)) == 1
    assert ni.find_import(result.token).filename == "release"


def test_files_of_a_release_load_parents_first_whatever_their_order(app, tmp_path):
    folder = _release_folder(tmp_path)
    sources = ni.expand_paths([folder / "4_specs.csv", folder / "2_items.csv", folder / "1_certificates.csv"],
                              str(tmp_path))
    result = ni.import_release(sources)
    assert counts() == (2, 1, 1) and result.total.rejected == 0


def test_a_zip_of_the_files_imports_like_the_folder(app, tmp_path):
    folder = _release_folder(tmp_path)
    archive = tmp_path / "release.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, f"release/{path.name}")
    work = tmp_path / "work"
    work.mkdir()
    result = ni.import_release(ni.expand_paths([archive], str(work)))
    assert counts() == (2, 1, 2) and result.total.inserted == 5
    again = ni.import_release(ni.expand_paths([archive], str(work)))
    assert again.total.unchanged == 5 and again.total.inserted == again.total.updated == 0


def test_a_zip_without_tables_or_a_broken_zip_is_refused(app, tmp_path):
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("readme.txt", "nothing")
    with pytest.raises(ImportRefused, match="没有 .xlsx 或 .csv"):
        ni.expand_paths([empty], str(tmp_path))
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(ImportRefused, match="已损坏"):
        ni.expand_paths([broken], str(tmp_path))


def test_a_broken_file_late_in_a_release_rolls_back_the_files_before_it(app, tmp_path):
    folder = _release_folder(tmp_path)
    (folder / "5_broken.xlsx").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ImportRefused):
        ni.import_release(ni.expand_paths([folder], str(tmp_path)))
    assert counts() == (0, 0, 0)
    assert db.session.scalar(select(NationalImport.status)) == "refused"


def test_a_key_repeated_in_two_files_names_the_file_and_row(app, tmp_path):
    folder = _release_folder(tmp_path)
    (folder / "5_more.csv").write_bytes(csv_bytes([SPEC_HEADERS, SPEC_A2]))
    result = ni.import_release(ni.expand_paths([folder], str(tmp_path)))
    assert counts() == (2, 1, 2) and result.counts["spec"].rejected == 1
    error = result.errors[0]
    assert error.sheet.startswith("5_more.csv") and error.row == 2
    assert "4_specs.csv" in error.reason and "第2行" in error.reason


def test_progress_is_reported_up_to_every_row(app, tmp_path, monkeypatch):
    monkeypatch.setattr(ni, "PROGRESS_EVERY", 2)
    folder = _release_folder(tmp_path)
    seen = []
    ni.import_release(ni.expand_paths([folder], str(tmp_path)), progress=lambda d, t, n: seen.append((d, t, n)))
    dones = [d for d, _, _ in seen]
    assert dones == sorted(dones) and seen[-1] == (5, 5, "完成")
    assert seen[0][1] == 5  # the estimate: data lines of the CSVs + the sheet's stated rows
    assert any(note.startswith("合并") for _, _, note in seen)


def test_cli_imports_a_folder_and_a_zip(app, tmp_path):
    folder = _release_folder(tmp_path)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["national", "import", str(folder), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "inserted 5, updated 0, unchanged 0, rejected 0" in result.output
    too_small = runner.invoke(args=["national", "import", str(folder), "--max-mb", "0"])
    assert too_small.exit_code == 0  # 0 = no limit
    archive = tmp_path / "r.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(folder / "1_certificates.csv", "1_certificates.csv")
    again = runner.invoke(args=["national", "import", str(archive), "--progress"])
    assert again.exit_code == 0 and "unchanged 2" in again.output
