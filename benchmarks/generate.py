"""Synthetic national data with the real shape, bulk-inserted (Core executemany in chunks).

Certificates: a mix of 国械注准 (class III), provincial 械注准 (class II),
国械注进 / 国械注许 (imported) and 械备 filings (class I, no end date);
registrants drawn from a pool of 20,000 companies, a few of them the demo
manufacturer.  Single items: 20-character codes C + level 1–3 + generic +
material + feature + 5-digit enterprise, ~2.5 per certificate.  Spec/models:
4 per single item, 27-character codes = item code + 7-digit serial.
"""
from __future__ import annotations

import datetime as dt
import random
import time
from typing import Callable, Iterator

from sqlalchemy import insert

from app.extensions import db
from app.models import NationalCertificate, NationalItem, NationalSpec

CHUNK = 10_000
PROVINCES = "粤苏浙沪京鲁豫鄂湘川闽皖冀辽津渝陕赣"
CITIES = ["广州", "深圳", "佛山", "东莞", "珠海", "南京", "苏州", "常州", "无锡", "杭州", "宁波", "上海", "北京",
          "天津", "青岛", "济南", "郑州", "武汉", "长沙", "成都", "重庆", "厦门", "合肥", "石家庄", "沈阳", "西安"]
WORDS = ["康", "华", "泰", "瑞", "达", "德", "安", "宁", "健", "美", "迈", "博", "科", "创", "微", "威", "凯",
         "鑫", "源", "恒", "信", "普", "锐", "朗", "通", "和", "嘉", "益", "丰", "海"]
FOREIGN = ["Medtronic Inc.", "Boston Scientific Corporation", "Abbott Medical", "Olympus Medical Systems Corp.",
           "Terumo Corporation", "B. Braun Melsungen AG", "Cook Medical LLC", "Edwards Lifesciences LLC",
           "Johnson & Johnson Medical", "Stryker Corporation", "Zimmer Biomet", "Smith & Nephew plc",
           "Becton, Dickinson and Company", "Cardinal Health", "Teleflex Incorporated", "Merit Medical Systems, Inc."]
PRODUCTS = ["导管", "导丝", "球囊扩张导管", "支架", "穿刺针", "引流管", "吸引管", "输液器", "注射器", "缝合线",
            "吻合器", "止血夹", "活检钳", "圈套器", "细胞刷", "气管插管", "喉罩", "氧合器", "血液透析器", "血液滤过器",
            "透析管路", "动脉插管", "静脉插管", "中心静脉导管", "留置针", "敷料", "纱布块", "医用胶带", "骨板", "骨钉",
            "椎间融合器", "人工晶状体", "角膜接触镜", "牙种植体", "疝修补片", "硬脑膜补片", "止血材料", "防粘连膜",
            "电极导线", "射频消融导管", "造影导管", "微导管", "取栓装置", "封堵器", "心脏瓣膜", "起搏导线"]
PREFIXES = ["一次性使用", "一次性使用无菌", "", "医用", "可吸收", "植入式"]
SPEC_FORMS = ["Φ{a}mm×{b}mm", "{a}Fr", "{a}G×{b}mm", "{a}cm×{b}cm", "长度{b}mm", "外径{a}mm，有效长度{b}mm"]


def companies(rng: random.Random, n: int = 20_000) -> list[str]:
    out = ["广东示范医疗器械有限公司"]
    seen = set(out)
    while len(out) < n:
        name = rng.choice(CITIES) + "".join(rng.sample(WORDS, 2)) + rng.choice(["医疗器械", "医疗科技", "生物科技",
                                                                             "医用材料", "医疗用品"]) + "有限公司"
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def certificate_number(i: int) -> tuple[str, str, str]:
    """(number, class, origin), unique for every i < 3,000,000."""
    year = 2014 + i % 10
    category = (i // 10) % 30 + 1
    serial = i // 300
    kind = (i * 7919) % 100
    if kind < 40:
        return f"国械注准{year}3{category:02d}{serial:04d}", "III", "domestic"
    if kind < 70:
        return f"{PROVINCES[i % len(PROVINCES)]}械注准{year}2{category:02d}{serial:04d}", "II", "domestic"
    if kind < 88:
        return f"国械注进{year}3{category:02d}{serial:04d}", "III", "imported"
    if kind < 90:
        return f"国械注许{year}3{category:02d}{serial:04d}", "III", "imported"
    return f"{PROVINCES[i % len(PROVINCES)]}械备{year}{category:02d}{serial:04d}号", "I", "domestic"


def _chunks(rows: Iterator[dict], table, report: Callable[[str], None], label: str, total: int) -> None:
    batch, done, started = [], 0, time.perf_counter()
    conn = db.session.connection()
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            conn.execute(insert(table), batch)
            done += len(batch)
            batch = []
            if done % (CHUNK * 20) == 0:
                report(f"  {label}: {done:,}/{total:,} ({done / (time.perf_counter() - started):,.0f} rows/s)")
    if batch:
        conn.execute(insert(table), batch)
    db.session.commit()


def generate(n_certs: int, n_specs: int, report: Callable[[str], None] = print) -> dict[str, int]:
    rng = random.Random(42)
    names = companies(rng)
    now = dt.datetime(2024, 1, 1)
    today = dt.date(2024, 6, 1)
    n_items = max(1, n_specs // 4)

    def certs():
        for i in range(n_certs):
            number, cls, origin = certificate_number(i)
            start = today - dt.timedelta(days=rng.randint(0, 3650))
            registrant = rng.choice(FOREIGN) if origin == "imported" else (
                names[0] if i % 5000 == 0 else names[rng.randrange(len(names))])
            product_name = rng.choice(PREFIXES) + rng.choice(PRODUCTS)
            yield dict(number=number, product_name=product_name, product_name_fold=product_name.lower(),
                       registrant=registrant, registrant_fold=registrant.lower(), address=rng.choice(CITIES) + f"市高新区科技路{rng.randint(1, 999)}号",
                       management_class=cls, valid_from=start,
                       valid_to=None if cls == "I" else start + dt.timedelta(days=5 * 365 - 1),
                       structure="由管体、接头、保护套组成。", scope="供临床使用。", origin=origin,
                       created_at=now, updated_at=now)

    def items():
        for j in range(n_items):
            l1 = rng.randint(1, 17)
            code = f"C{l1:02d}{rng.randint(1, 12):02d}{rng.randint(1, 25):02d}{1 + j // 100_000:03d}" \
                   f"{rng.randint(0, 9):02d}{rng.randint(0, 20):03d}{j % 100_000:05d}"
            yield dict(code=code, name=rng.choice(PRODUCTS), level1=f"{l1:02d}-一级分类", level2="01-二级分类",
                       level3="01-三级分类", generic_name="001-通用名", material="01-材质", feature="001-特征",
                       enterprise=names[rng.randrange(len(names))], certificate_id=1 + j % n_certs,
                       created_at=now, updated_at=now)

    def specs():
        # item ids are 1..n_items in insertion order; codes are read back in chunks
        conn = db.session.connection()
        last = 0
        while True:
            rows = conn.exec_driver_sql(
                f"SELECT id, code FROM national_item WHERE id > {last} ORDER BY id LIMIT {CHUNK}").all()
            if not rows:
                break
            for item_id, code in rows:
                for s in range(1, 5):
                    a, b = rng.randint(1, 30), rng.choice([10, 20, 40, 60, 80, 100, 150])
                    yield dict(code=f"{code}{s:07d}", item_id=item_id,
                               spec=rng.choice(SPEC_FORMS).format(a=a, b=b),
                               model=f"{rng.choice('ABCDEFGHKMPRST')}{rng.choice('ABCDEFGHKMPRST')}-{a:02d}{b:03d}",
                               created_at=now, updated_at=now)
            last = rows[-1][0]

    started = time.perf_counter()
    _chunks(certs(), NationalCertificate.__table__, report, "certificates", n_certs)
    _chunks(items(), NationalItem.__table__, report, "single items", n_items)
    _chunks(specs(), NationalSpec.__table__, report, "spec/models", n_items * 4)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    report(f"  generated in {time.perf_counter() - started:,.0f} s")
    return {"certificates": n_certs, "items": n_items, "specs": n_items * 4}
