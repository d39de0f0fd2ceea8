"""The release loader's PostgreSQL fast path (issue 14): .csv sheets of single items and spec/models
go to the server with COPY and are checked in SQL, and a first load of an empty table rebuilds its
indexes once.  Every rule must give exactly what the Python checks give — same counts, same rows,
same report (row numbers, keys, reasons) — and odd files must still load through the Python path.

On SQLite there is one path only, so the comparisons hold trivially there; they bite on PostgreSQL.
"""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import NationalCertificate, NationalImport, NationalItem, NationalRelease, NationalSpec
from app.services import national_import as ni
from tests.unit.test_national_import import CERT_A, CERT_B, CERT_HEADERS, ITEM_A, ITEM_HEADERS, SPEC_HEADERS, csv_bytes

IDEO = "\u3000"
CODE = ITEM_A[0]  # C0901010100000006626
ITEM_ROWS = [
    ITEM_HEADERS,
    ITEM_A,
    [f"{IDEO}c0901010100000006627 ", "小写码，前后空白", "09-体外循环材料", "01-插管", "01-动脉灌注管", "", "", "",
     "", f"\t{CERT_A[0]}\u00a0"],
    ["C0901010100000006628", "", "", "", "", "", "", "", "", ""],  # two required cells missing
    ["", "", "", "", "", "", "", "", "", ""],  # empty: skipped
    ["C09010101000000066A9", "字母", "", "", "", "", "", "", "", CERT_A[0]],
    ["C０901010100000006630", "全角数字", "", "", "", "", "", "", "", CERT_A[0]],
    ["C0901010100000006631", "名" * 256, "", "", "", "", "", "", "", CERT_A[0]],
    ["C0901010100000006632", "一级不符", "10-血液净化材料", "", "", "", "", "", "", CERT_A[0]],
    ["C0901010100000006633", "全角横线", "09－体外", "02 - 插管", "", "", "", "", "", CERT_A[0]],
    ["C0901010100000006634", "无编号", "体外循环", "插管-1", "01", "", "", "", "", CERT_A[0]],
    ["C0901010100000006635", "特征不符", "09-a", "01-b", "01-c", "010-d", "00-e", "999-f", "", CERT_A[0]],
    ["C0901010100000006636", "企业过长", "", "", "", "", "", "", "企" * 256, CERT_A[0]],
    ["C0901010100000006637", "证不存在", "", "", "", "", "", "", "", "国械注准20990000000"],
    ["C0901010100000006626", "重复", "", "", "", "", "", "", "", CERT_A[0]],
    ["C0901010100000006638", "通用名空格", "", "", "", f"{IDEO}011 -通用", "", "", "", CERT_A[0]],
]
SPEC_ROWS = [
    SPEC_HEADERS,
    [f"{CODE}0000001", CODE, "18Fr", "AC-18A"],
    [f" c09010101000000066260000002{IDEO}", "c0901010100000006626", f"20{IDEO}Fr", ""],
    ["", "", "", ""],
    ["", CODE, "有规格", ""],  # code missing
    [f"{CODE}000000", "", "26位", ""],
    [f"{CODE}00000A1", "", "字母", ""],
    [f"{CODE}０000003", "", "全角", ""],
    [f"{CODE}0000004", "C0901010100000009999", "不符", ""],
    [f"{CODE}0000005", CODE + "1", "20位码过长", ""],
    [f"{CODE}0000006", "", "规" * 256, ""],
    [f"{CODE}0000007", "", "", "型" * 256],
    [f"{CODE}0000008", "", f" {IDEO}", "\t"],
    ["C09010201000000066260000001", "", "无单件", ""],
    [f"{CODE}0000001", "", "重复", ""],
    [f"{CODE}0000009", "", "", f"\u00a0只有型号\u2003"],
]


def test_the_sql_whitespace_set_is_what_python_strips_but_the_ideographic_space():
    """sql_cell() turns U+3000 into a space before btrim(): the set holds every other whitespace."""
    assert "\u3000" not in ni.checks.WS and " " in ni.checks.WS and "\u00a0" in ni.checks.WS
    assert {c for c in map(chr, range(0x110000)) if c.isspace()} == set(ni.checks.WS) | {"\u3000"}


def snapshot(result) -> dict:
    """What an import did: counts, the report, and every loaded row."""
    return {
        "counts": {k: vars(c) for k, c in result.counts.items()},
        "errors": [(e.sheet, e.row, e.key, e.reason) for e in result.errors],
        "values": [(e.kind, tuple(e.values)) for e in result.errors],
        "certs": db.session.execute(select(NationalCertificate.number, NationalCertificate.product_name)
                                    .order_by(NationalCertificate.number)).all(),
        "items": db.session.execute(select(
            NationalItem.code, NationalItem.name, NationalItem.level1, NationalItem.level2, NationalItem.level3,
            NationalItem.generic_name, NationalItem.material, NationalItem.feature, NationalItem.enterprise,
            NationalCertificate.number).join(NationalCertificate).order_by(NationalItem.code)).all(),
        "specs": db.session.execute(select(NationalSpec.code, NationalSpec.spec, NationalSpec.model, NationalItem.code)
                                    .join(NationalItem).order_by(NationalSpec.code)).all(),
    }


def wipe() -> None:
    for model in (NationalSpec, NationalItem, NationalCertificate, NationalImport, NationalRelease):
        db.session.execute(model.__table__.delete())
    db.session.commit()


def release(files: list[tuple[bytes, str]]):
    return ni.import_release([(io.BytesIO(data), name) for data, name in files], version="v1")


def compare_paths(monkeypatch, files: list[tuple[bytes, str]], expect_sql: bool) -> dict:
    """Import ``files`` through the SQL checks, then (after wiping) through Python alone: identical."""
    used = []
    copy_csv = ni.loader.Stage.copy_csv

    def spy(self, sheet_index, plan, progress=None):
        out = copy_csv(self, sheet_index, plan, progress)
        used.append(out is not None)
        return out

    monkeypatch.setattr(ni.loader.Stage, "copy_csv", spy)
    fast = snapshot(release(files))
    pg = db.engine.dialect.name == "postgresql"
    assert bool(used and used[-1]) == (pg and expect_sql)  # the last .csv (the spec/models)
    wipe()
    monkeypatch.setattr(ni.checks, "SQL_CHECKS", {})
    slow = snapshot(release(files))
    assert fast == slow
    return fast


def test_every_row_rule_gives_the_python_answer(app, monkeypatch):
    files = [(csv_bytes([CERT_HEADERS, CERT_A, CERT_B]), "1.csv"), (csv_bytes(ITEM_ROWS), "2.csv"),
             (csv_bytes(SPEC_ROWS), "3.csv")]
    out = compare_paths(monkeypatch, files, expect_sql=True)
    reasons = {(sheet, row): reason for sheet, row, _, reason in out["errors"]}
    assert out["counts"]["item"] == {"inserted": 3, "updated": 0, "unchanged": 0, "rejected": 11}
    assert reasons[("2.csv：2", 4)] == "单件名称、注册备案号不能为空"
    assert reasons[("2.csv：2", 7)] == "20位码“C０901010100000006630”应为C加19位数字"
    assert reasons[("2.csv：2", 10)] == "二级分类“02 - 插管”与20位码不一致（编码中为01）"
    assert reasons[("2.csv：2", 12)] == "特征“999-f”与20位码不一致（编码中为000）"
    assert reasons[("2.csv：2", 14)] == "注册备案号“国械注准20990000000”不在注册证数据中，请先导入该注册证"
    assert reasons[("2.csv：2", 15)] == "20位码“C0901010100000006626”与第2行重复"
    assert ("C0901010100000006627", "小写码，前后空白") == out["items"][1][:2]
    assert out["items"][1][-1] == CERT_A[0]
    assert out["counts"]["spec"] == {"inserted": 3, "updated": 0, "unchanged": 0, "rejected": 11}
    assert reasons[("3.csv：3", 5)] == "27位码不能为空"
    assert reasons[("3.csv：3", 9)] == "20位码“C0901010100000009999”与27位码的前20位“C0901010100000006626”不一致"
    assert reasons[("3.csv：3", 10)] == "20位码超过20个字符"
    assert reasons[("3.csv：3", 13)] == "规格与型号至少填写一项"
    assert [s[:3] for s in out["specs"]] == [(f"{CODE}0000001", "18Fr", "AC-18A"),
                                            (f"{CODE}0000002", "20 Fr", None), (f"{CODE}0000009", None, "只有型号")]
    rejected_key = next(key for sheet, row, key, _ in out["errors"] if row == 6 and sheet == "3.csv：3")
    assert rejected_key == f"{CODE}000000"
    # every rejected row carries its cells, in the template's column order, on both paths alike
    values = dict(zip([(sheet, row) for sheet, row, _, _ in out["errors"]], out["values"]))
    assert values[("3.csv：3", 9)] == ("spec", tuple(SPEC_ROWS[8]))
    assert values[("2.csv：2", 14)][0] == "item" and values[("2.csv：2", 14)][1][-1] == "国械注准20990000000"
    assert all(len(cells) == len(ni.KINDS_BY_KEY[kind].fields) for kind, cells in out["values"])


def test_codes_taken_as_written_give_the_python_answer(app, monkeypatch):
    """A raw code that already is valid skips the trimming, and a 20位码 that is the first 20 bytes of
    such a code skips it too: every near miss must still take the full rules, as in Python."""
    lower = "c" + CODE[1:]
    rows = [SPEC_HEADERS,
            [f"{CODE}0000001", CODE, "原样", ""],  # both as written
            [f"{lower}0000002", CODE, "小写码", ""],  # 20位码 upper, code lower: equal once upper-cased
            [f"{CODE}0000003", lower, "小写20位码", ""],
            [f"{CODE}0000004", f" {CODE}\t", "20位码带空白", ""],
            [f"{CODE}0000005", CODE[:3], "20位码过短", ""],  # a prefix, but not 20 characters
            [f"{CODE}0000006", CODE[:19] + "7", "20位码不符", ""],
            [f"{CODE}0000007", CODE[:17] + "６", "全角", ""],
            [f"{CODE}000000８", CODE, "码中全角", ""],
            [f"{CODE}0000009 ", CODE, "码后空格", ""]]
    files = [(csv_bytes([CERT_HEADERS, CERT_A]), "1.csv"), (csv_bytes([ITEM_HEADERS, ITEM_A]), "2.csv"),
             (csv_bytes(rows), "3.csv")]
    out = compare_paths(monkeypatch, files, expect_sql=True)
    reasons = {row: reason for _, row, _, reason in out["errors"]}
    assert out["counts"]["spec"]["inserted"] == 5 and set(reasons) == {6, 7, 8, 9}
    assert reasons[6] == f"20位码“{CODE[:3]}”与27位码的前20位“{CODE}”不一致"
    assert f"{CODE}0000002" in [s[0] for s in out["specs"]]


def test_report_limit_and_order_hold_across_both_paths(app, monkeypatch):
    monkeypatch.setattr(ni.results, "REPORT_LIMIT", 5)
    files = [(csv_bytes([CERT_HEADERS, CERT_A]), "c.csv"), (csv_bytes(ITEM_ROWS), "i.csv"),
             (csv_bytes(SPEC_ROWS), "s.csv")]
    out = compare_paths(monkeypatch, files, expect_sql=True)
    assert len(out["errors"]) == 5 and out["counts"]["item"]["rejected"] == 11


@pytest.mark.parametrize("variant", ["gbk", "tab", "bom", "header_late", "ragged", "end_marker", "extra_columns"])
def test_odd_csv_files_load_alike(app, monkeypatch, variant):
    rows = [list(r) for r in SPEC_ROWS]
    encoding = "utf-8"
    expect_sql = True
    if variant == "gbk":
        encoding = "gbk"
        rows = [[c.replace("\u00a0", " ").replace("\u2003", " ") for c in r] for r in rows]
    if variant == "header_late":
        rows = [["", "", "", ""], ["", "", "", ""]] + rows
    if variant == "ragged":  # COPY wants every record as wide as the first: Python reads it
        rows[3] = []
        rows.append([f"{CODE}0000011", "", "短行"])
        expect_sql = False
    if variant == "end_marker":  # a line holding only \. ends COPY's data: Python reads it
        rows.append([f"{CODE}0000012", "", "x\n\\.\ny", ""])
        expect_sql = False
    if variant == "extra_columns":
        rows = [r + ["备注"] for r in rows]
    data = csv_bytes(rows, encoding)
    if variant == "tab":
        data = "\n".join("\t".join(c.replace("\t", " ") for c in r) for r in rows).encode("utf-8")
    if variant == "bom":
        data = b"\xef\xbb\xbf" + data
    files = [(csv_bytes([CERT_HEADERS, CERT_A]), "c.csv"), (csv_bytes([ITEM_HEADERS, ITEM_A]), "i.csv"),
             (data, "s.csv")]
    out = compare_paths(monkeypatch, files, expect_sql=expect_sql)
    assert out["counts"]["spec"]["inserted"] >= 3


def test_two_sheets_of_one_kind_number_their_rows_and_duplicates_alike(app, monkeypatch):
    files = [(csv_bytes([CERT_HEADERS, CERT_A]), "c.csv"), (csv_bytes([ITEM_HEADERS, ITEM_A]), "i.csv"),
             (csv_bytes(SPEC_ROWS[:4]), "s1.csv"), (csv_bytes([SPEC_HEADERS, *SPEC_ROWS[1:3]]), "s2.csv")]
    out = compare_paths(monkeypatch, files, expect_sql=True)
    assert [(s, r) for s, r, _, _ in out["errors"]] == [("s2.csv：s2", 2), ("s2.csv：s2", 3)]
    assert "工作表“s1.csv：s1”第2行" in out["errors"][0][3]


def constraints() -> set:
    if db.engine.dialect.name != "postgresql":
        return set()
    return set(db.session.execute(text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid IN "
        "('national_spec'::regclass, 'national_item'::regclass, 'national_certificate'::regclass) "
        "UNION ALL SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
        "('national_spec', 'national_item', 'national_certificate')")).all())


def test_a_first_load_rebuilds_every_index_and_constraint(app, monkeypatch):
    monkeypatch.setattr(ni.loader, "BULK_MIN_ROWS", 1)
    rebuilt = []
    bulk_start = ni.loader.Stage._bulk_start

    def spy(self, table):
        out = bulk_start(self, table)
        rebuilt.extend([table, len(out) if out else 0])
        return out

    monkeypatch.setattr(ni.loader.Stage, "_bulk_start", spy)
    before = constraints()
    if db.engine.dialect.name == "postgresql":  # the search indexes too (gin trigram, same definition)
        assert {"ix_national_certificate_registrant_fold_trgm", "ix_national_certificate_origin_number"} <= {
            name for name, _ in before}
    files = [(csv_bytes([CERT_HEADERS, CERT_A, CERT_B]), "1.csv"), (csv_bytes(ITEM_ROWS), "2.csv"),
             (csv_bytes(SPEC_ROWS), "3.csv")]
    first = snapshot(release(files))
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # each table was empty: indexes and keys dropped, then rebuilt
        # (single items and spec/models twice: their rows repeat a key, so the optimistic first load
        # rolled back and the full path dropped and rebuilt them again)
        assert rebuilt[::2] == ["national_certificate", "national_item", "national_item", "national_spec",
                                "national_spec"]
        assert all(n >= 2 for n in rebuilt[1::2])
    assert constraints() == before
    assert first["counts"]["spec"]["inserted"] == 3
    again = release(files)  # tables no longer empty: the row-by-row upsert, nothing changes
    assert again.counts["spec"].unchanged == 3 and again.counts["spec"].inserted == 0
    assert constraints() == before


def test_a_first_load_that_fails_leaves_the_indexes_and_nothing_loaded(app, monkeypatch):
    monkeypatch.setattr(ni.loader, "BULK_MIN_ROWS", 1)
    before = constraints()

    def boom(self, *args):
        raise RuntimeError("killed")

    monkeypatch.setattr(ni.loader.TransferStage, "_merge_rows", boom)
    files = [(csv_bytes([CERT_HEADERS, CERT_A]), "1.csv"), (csv_bytes([ITEM_HEADERS, ITEM_A]), "2.csv"),
             (csv_bytes(SPEC_ROWS[:3]), "3.csv"),
             (csv_bytes([["原27位码", "27位码"], [f"{CODE}0000001", f"{CODE}0000002"]]), "4.csv")]
    with pytest.raises(RuntimeError):
        release(files)
    assert db.session.scalar(select(NationalSpec.id)) is None
    assert db.session.scalar(select(NationalCertificate.id)) is None
    assert constraints() == before


def test_a_clean_first_load_skips_the_repeated_key_and_parent_passes(app, monkeypatch):
    """An empty table and a clean release: rows in at once, the rebuilt unique key and the INSERT's
    join to the parents are the proof (no repeated-key sort, no anti-join); the same rows and counts."""
    monkeypatch.setattr(ni.loader, "BULK_MIN_ROWS", 1)
    created = []
    create = ni.loader.Stage._create

    def spy(self, name, body):
        created.append(name)
        return create(self, name, body)

    monkeypatch.setattr(ni.loader.Stage, "_create", spy)
    files = [(csv_bytes([CERT_HEADERS, CERT_A, CERT_B]), "1.csv"), (csv_bytes([ITEM_HEADERS, ITEM_A]), "2.csv"),
             (csv_bytes(SPEC_ROWS[:4]), "3.csv")]
    out = snapshot(release(files))
    if db.engine.dialect.name == "postgresql":  # SQLite has no first-load path: it always checks
        assert [n for n in created if n.endswith(("_dup_keys", "_orphan"))] == []
    assert out["counts"]["spec"]["inserted"] == 2 and out["counts"]["item"]["inserted"] == 1
    assert out["counts"]["certificate"]["inserted"] == 2 and not out["errors"]
    db.session.commit()
    # the first load took its ids from each table's sequence at once: rows added later get new ones
    more = release([(csv_bytes([SPEC_HEADERS, [f"{CODE}0000010", "", "新增", ""]]), "4.csv")])
    assert more.counts["spec"].inserted == 1
    ids = db.session.scalars(select(NationalSpec.id)).all()
    assert len(ids) == len(set(ids)) == 3 and max(ids) == db.session.scalar(
        select(NationalSpec.id).where(NationalSpec.code == f"{CODE}0000010"))
    db.session.commit()
    wipe()
    monkeypatch.setattr(ni.loader, "BULK_MIN_ROWS", 10 ** 9)  # the full path: the same answer
    assert snapshot(release(files)) == out


@pytest.mark.parametrize("bulk", [1, 10 ** 9])
def test_a_first_load_with_repeated_keys_or_missing_parents_names_every_rejected_row(app, monkeypatch, bulk):
    """The optimistic first load meets a repeated key and a missing parent: it rolls back to where it
    started and takes the full path, with the same report, counts and rows as without it."""
    monkeypatch.setattr(ni.loader, "BULK_MIN_ROWS", bulk)
    before = constraints()
    files = [(csv_bytes([CERT_HEADERS, CERT_A, CERT_B]), "1.csv"), (csv_bytes(ITEM_ROWS), "2.csv"),
             (csv_bytes(SPEC_ROWS), "3.csv")]
    out = compare_paths(monkeypatch, files, expect_sql=True)
    reasons = {(sheet, row): reason for sheet, row, _, reason in out["errors"]}
    assert reasons[("2.csv：2", 14)] == "注册备案号“国械注准20990000000”不在注册证数据中，请先导入该注册证"
    assert reasons[("2.csv：2", 15)] == "20位码“C0901010100000006626”与第2行重复"
    assert out["counts"]["item"] == {"inserted": 3, "updated": 0, "unchanged": 0, "rejected": 11}
    assert out["counts"]["spec"] == {"inserted": 3, "updated": 0, "unchanged": 0, "rejected": 11}
    assert constraints() == before  # every index and key rebuilt after the rolled-back attempt


def test_rejected_rows_of_every_file_are_counted_and_reported(app, monkeypatch):
    """Each file's rejected rows are counted within that file (the staging table spans them all)."""
    bad = [f"{CODE}00000A1", "", "字母", ""]
    files = [(csv_bytes([CERT_HEADERS, CERT_A]), "1.csv"), (csv_bytes([ITEM_HEADERS, ITEM_A]), "2.csv"),
             (csv_bytes([SPEC_HEADERS, SPEC_ROWS[1], bad]), "s1.csv"),
             (csv_bytes([SPEC_HEADERS, bad, [f"{CODE}0000009", "", "好", ""], bad]), "s2.csv")]
    out = compare_paths(monkeypatch, files, expect_sql=True)
    assert out["counts"]["spec"]["rejected"] == 3 and out["counts"]["spec"]["inserted"] == 2
    assert [(sheet.split("：")[0], row) for sheet, row, _, _ in out["errors"]] == [
        ("s1.csv", 3), ("s2.csv", 2), ("s2.csv", 4)]
