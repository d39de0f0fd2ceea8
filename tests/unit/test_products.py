"""耗材单件, 耗材产品 packaging rules and the Excel import (SPEC §3.4–3.6)."""
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

import app.models.national  # noqa: F401
from app.extensions import db
from app.models import QualItem, QualProduct, UnitCategory, UnitRole
from app.services import product_import, products, qualification as q
from app.services.errors import DomainError, ValidationFailed
from app.workflow import engine
from tests.factories import (make_certified, make_dictionary, make_national_cert, make_national_item,
                             make_platform_user)

PDF = b"%PDF-1.4\n%%EOF\n"
ITEM = "C0901010100000006626"
OTHER_ITEM = "C0901010100000006627"


@pytest.fixture
def maker():
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    make_dictionary()
    cert = make_national_cert("粤械注准20152660001", user.unit.name)
    make_national_item(cert, ITEM, specs=30)
    other = make_national_cert("国械注准20153100011", "别的企业")
    make_national_item(other, OTHER_ITEM)
    record = q.add_certificates(user, ["粤械注准20152660001"])[0]
    q.save_certificate(user, record, "张三", "13800138000", "", ("scan.pdf", PDF), submit=True)
    return user


def count():
    return db.session.scalar(select(func.count(QualProduct.id)))


def test_items_only_under_submitted_certificates(maker):
    assert [i.code for i in products.selectable_items(maker)] == [ITEM]
    with pytest.raises(ValidationFailed) as exc:
        products.add_items(maker, [OTHER_ITEM])
    assert "请前往国家平台进行增补" in exc.value.errors["codes"]
    assert products.add_items(maker, [ITEM])[0].code == ITEM
    assert products.selectable_items(maker) == []


@pytest.fixture
def item(maker):
    return products.add_items(maker, [ITEM])[0]


def pack(code=ITEM + "0000001", **kw):
    data = dict(code=code, min_unit="支", pack_unit="盒", pack_ratio=10, mid_unit="箱", mid_ratio=20)
    data.update(kw)
    return products.Packaging(**data)


def test_packaging_specs_are_generated(maker, item):
    record = products.add_packaging(maker, item, pack())
    assert record.pack_spec == "10支/盒" and record.mid_spec == "20盒/箱"
    plain = products.add_packaging(maker, item, pack(code=ITEM + "0000002", mid_unit="", mid_ratio=None))
    assert plain.mid_spec == "" and plain.mid_unit is None


@pytest.mark.parametrize("kw,field,fragment", [
    ({"min_unit": "吨"}, "min_unit", "不在数据字典中"),
    ({"pack_unit": ""}, "pack_unit", "必填"),
    ({"pack_ratio": 0}, "pack_ratio", "大于等于1的整数"),
    ({"pack_ratio": -3}, "pack_ratio", "大于等于1的整数"),
    ({"pack_ratio": 2.5}, "pack_ratio", "不能为小数"),
    ({"pack_ratio": "十"}, "pack_ratio", "大于等于1的整数"),
    ({"mid_ratio": None}, "mid_ratio", "同时填写或同时不填"),
    ({"mid_unit": "", "mid_ratio": 5}, "mid_unit", "同时填写或同时不填"),
    ({"code": OTHER_ITEM + "0000001"}, "code", "不属于本单位"),
    ({"code": ITEM + "9999999"}, "code", "不在国家医保耗材规格型号数据中"),
    ({"code": "C09"}, "code", "格式错误"),
])
def test_bad_packaging_is_refused(maker, item, kw, field, fragment):
    with pytest.raises(ValidationFailed) as exc:
        products.add_packaging(maker, item, pack(**kw))
    assert fragment in exc.value.errors[field]
    assert count() == 0


def test_duplicate_packaging_refused(maker, item):
    products.add_packaging(maker, item, pack())
    with pytest.raises(ValidationFailed) as exc:
        products.add_packaging(maker, item, pack())
    assert "不能重复维护" in exc.value.errors["code"]
    products.add_packaging(maker, item, pack(pack_ratio=50))  # another packaging of the same code is fine


def test_product_workflow_and_draft_removal(maker, item):
    chu = make_platform_user("chu5", "初审员")
    record = products.add_packaging(maker, item, pack())
    products.delete_draft(maker, record)
    record = products.add_packaging(maker, item, pack(), submit=True)
    assert record.state == "pending_initial"
    with pytest.raises(DomainError):
        products.delete_draft(maker, record)
    engine.apply(record, "withdraw", maker)
    with pytest.raises(DomainError):  # once submitted, it has a history: withdraw and edit instead
        products.delete_draft(maker, record)
    products.update_packaging(maker, record, pack(pack_ratio=12), submit=True)
    engine.apply(record, "approve", chu)
    assert record.state == "pending_final" and record.pack_spec == "12支/盒"


def workbook(rows, headers=product_import.HEADERS) -> io.BytesIO:
    wb = Workbook()
    ws = wb.active
    ws.title = product_import.SHEET_TITLE
    ws.append(list(headers))
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # typed text such as '=HYPERLINK(...) stays text
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


def test_template_has_headers_instructions_and_dropdowns(maker):
    wb = load_workbook(io.BytesIO(product_import.template()))
    ws = wb[product_import.SHEET_TITLE]
    assert [c.value for c in ws[1]] == list(product_import.HEADERS)
    assert "填写说明" in wb.sheetnames
    formulas = [dv.formula1 for dv in ws.data_validations.dataValidation]
    assert any("支" in f for f in formulas) and any("盒" in f for f in formulas)


def test_import_saves_valid_rows_and_reports_the_rest(maker, item):
    rows = [(f"{ITEM}{n:07d}", "支", "盒", 10, "箱", 20) for n in range(1, 18)]
    rows += [
        (OTHER_ITEM + "0000001", "支", "盒", 10, None, None),  # another unit's item
        (f"{ITEM}0000018", "吨", "盒", 10, None, None),  # not in the dictionary
        (f"{ITEM}0000001", "支", "盒", 10, "箱", 20),  # duplicate of row 2
        (f"{ITEM}0000019", "支", "盒", 0, None, None),  # ratio 0
        (f"{ITEM}0000020", "支", "盒", 2.5, None, None),  # decimal
        (f"{ITEM}0000021", "支", "盒", 10, "箱", None),  # mid unit without ratio
        (f"{ITEM}0000022", "=HYPERLINK(\"http://x\")", "盒", 10, None, None),  # formula text
        (None, None, None, None, None, None),  # empty row: skipped
    ]
    result = product_import.import_packaging(maker, workbook(rows), "packaging.xlsx", item=item)
    assert result.saved == 17
    reasons = {r.row: r.reason for r in result.rejected}
    assert len(reasons) == 7
    assert "不属于本单位" in reasons[19] and "不在数据字典中" in reasons[20] and "与第2行重复" in reasons[21]
    assert "大于等于1的整数" in reasons[22] and "小数" in reasons[23] and "同时填写" in reasons[24]
    assert db.session.scalar(select(func.count(QualProduct.id)).where(QualProduct.state == "draft")) == 17
    saved = db.session.scalars(select(QualProduct).order_by(QualProduct.id)).all()
    assert [p.code for p in saved] == [r[0] for r in rows[:17]] and all(p.version == 1 for p in saved)
    for record in saved:  # each imported record has exactly its one 变更记录 line
        [line] = engine.history_of("product", record.id)
        assert (line.action, line.from_state, line.to_state, line.unit_id, line.username) == (
            "import", None, "draft", maker.unit_id, maker.username)
    log = load_workbook(io.BytesIO(product_import.error_log(product_import.find(maker, result.token))))
    ws = log.active
    assert [c.value for c in ws[1]] == ["行号", *product_import.HEADERS, "错误原因"]
    formula_row = [r for r in ws.iter_rows(min_row=2) if r[0].value in (25, "25")][0]
    assert formula_row[2].data_type in ("s", "inlineStr") and formula_row[2].value.startswith("=")  # text, not "f"
    assert all(r[-1].value for r in ws.iter_rows(min_row=2))


def test_import_against_the_database_duplicates(maker, item):
    products.add_packaging(maker, item, pack())
    pack_row = (ITEM + "0000001", "支", "盒", 10, "箱", 20)
    result = product_import.import_packaging(maker, workbook([pack_row]), "p.xlsx")
    assert result.saved == 0 and len(result.rejected) == 1
    rejected = result.rejected[0]
    assert rejected.row == 2 and "不能重复维护" in rejected.reason
    assert rejected.values[:3] == [ITEM + "0000001", "支", "盒"]  # the rejected row's own values, for the error log
    # the log keeps it in the shape every import log has (sheet, row, key, reason, kind, values)
    log = product_import.find(maker, result.token)
    assert product_import.rejected_rows(log) == [rejected]
    assert (rejected.sheet, rejected.key, rejected.kind) == ("耗材产品包装", ITEM + "0000001", "packaging")


def test_import_from_an_items_page_refuses_other_items(maker, item):
    cert = make_national_cert("粤械注准20152660002", maker.unit.name)
    second_code = "C0901010100000006628"
    make_national_item(cert, second_code)
    record = q.add_certificates(maker, ["粤械注准20152660002"])[0]
    q.save_certificate(maker, record, "张三", "13800138000", "", ("scan.pdf", PDF), submit=True)
    products.add_items(maker, [second_code])
    result = product_import.import_packaging(maker, workbook([(second_code + "0000001", "支", "盒", 10, None, None)]),
                                             "p.xlsx", item=item)
    assert result.saved == 0 and "不属于当前单件" in result.rejected[0].reason


@pytest.mark.parametrize("make_file,name,fragment", [
    (lambda: workbook([], headers=("编码", "最小计量单位")), "p.xlsx", "缺少列"),
    (lambda: workbook([], headers=("27位耗材医保编码", "最小计量单位", "包装单位", "最小包装转换比", "中包装单位",
                                   "中包装转换比")), "p.xlsx", "最小包装单位"),
    (lambda: workbook([]), "p.xlsx", "没有数据行"),
    (lambda: io.BytesIO(b"this is a text file renamed"), "p.xlsx", "不是有效的Excel"),
    (lambda: io.BytesIO(b""), "p.xlsx", "文件为空"),
])
def test_whole_file_refusals_change_nothing(maker, item, make_file, name, fragment):
    with pytest.raises(product_import.ImportRefused) as exc:
        product_import.import_packaging(maker, make_file(), name)
    assert fragment in exc.value.message
    assert count() == 0


def test_oversized_file_is_refused(app, maker, item):
    saved = app.config.get("PRODUCT_IMPORT_MAX_BYTES")
    app.config["PRODUCT_IMPORT_MAX_BYTES"] = 100
    try:
        with pytest.raises(product_import.ImportRefused) as exc:
            product_import.import_packaging(maker, workbook([(ITEM + "0000001", "支", "盒", 10, None, None)]), "p.xlsx")
        assert "文件过大" in exc.value.message
    finally:
        if saved is None:
            app.config.pop("PRODUCT_IMPORT_MAX_BYTES")
        else:
            app.config["PRODUCT_IMPORT_MAX_BYTES"] = saved


def test_dictionary_unit_in_use_cannot_be_deleted_and_renames_follow(maker, item):
    from app.models.dictionary import MEASURE_UNIT, PACKAGE_UNIT
    from app.services import dictionary

    assert not dictionary.unit_in_use("支", MEASURE_UNIT)
    record = products.add_packaging(maker, item, pack())
    assert dictionary.unit_in_use("支", MEASURE_UNIT) and dictionary.unit_in_use("箱", PACKAGE_UNIT)
    with pytest.raises(DomainError) as exc:
        dictionary.delete(PACKAGE_UNIT, "箱")
    assert "产品包装 1 条" in exc.value.message
    dictionary.rename(PACKAGE_UNIT, "箱", "大箱")
    db.session.refresh(record)
    assert record.mid_unit == "大箱" and record.mid_spec == "20盒/大箱"


@pytest.mark.parametrize("prefix,expected", [
    ("C0901010100000006626", 3), ("c09010101000000066260000002", 1), ("C09", 3), ("C0999", 0), ("C1", 0),
    ("C0901010100000006626000000", 3), ("0000001", 0), ("C%", 0)])
def test_product_query_code_prefix(maker, item, prefix, expected):
    """耗材产品查询 by code prefix: an index range for C + digits, any case; wildcards are literal."""
    from app.services import product_query

    for n in (1, 2, 3):
        products.add_packaging(maker, item, pack(code=f"{ITEM}{n:07d}"))
    db.session.execute(QualProduct.__table__.update().values(state="effective"))
    page = product_query.search({"code": prefix})
    assert len(page.rows) == expected
    assert all(row[0].code.startswith(prefix.upper()) for row in page.rows)


def test_item_products_are_the_units_own(maker, item):
    record = products.add_packaging(maker, item, pack())
    assert products.item_products(maker, item) == [record]
    stranger = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    with pytest.raises(DomainError):
        products.item_products(stranger, item)


@pytest.mark.parametrize("value,expected", [
    ("１０", 10), ("\u3000２０ ", 20), ("10", 10), (10.0, 10), (" 7 ", 7),
])
def test_ratio_pasted_with_full_width_digits_is_read_as_the_plain_number(value, expected):
    """Word/WPS paste full-width digits and spaces: NFKC makes them plain integers."""
    assert products.parse_ratio(value, "最小包装转换比", True) == (expected, None)


@pytest.mark.parametrize("value", ["⑽", "፩", "٣", "１０.５", "－１", "０", "1 0", "1e3"])
def test_ratio_with_other_digit_characters_is_a_reason_not_a_crash(value):
    """str.isdigit() passes ⑽ and ፩, which int() refuses: they must be a reason, never a 500."""
    ratio, reason = products.parse_ratio(value, "最小包装转换比", True)
    assert ratio is None and "最小包装转换比必须为大于等于1的整数" in reason


def test_import_rows_with_odd_digits_are_row_errors(maker, item):
    rows = [(ITEM + "0000001", "支", "盒", "１０", "箱", "２０"),
            (ITEM + "0000002", "支", "盒", "⑽", None, None),
            (ITEM + "0000003", "支", "盒", 5, "箱", "፩")]
    result = product_import.import_packaging(maker, workbook(rows), "p.xlsx")
    assert result.saved == 1
    assert [(r.row, r.reason) for r in result.rejected] == [
        (3, "最小包装转换比必须为大于等于1的整数"), (4, "中包装转换比必须为大于等于1的整数")]
    saved = db.session.scalar(select(QualProduct))
    assert (saved.pack_spec, saved.mid_spec) == ("10支/盒", "20盒/箱")
