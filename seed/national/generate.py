"""Regenerate the demo national data CSVs (deterministic): ``python -m seed.national.generate``.

Built from the real NHSA excerpts in ``../shared/data/nhsa`` (LGPL, see its
README): the 20-character codes of C0101 (呼吸介入材料) with their enterprise
names, the classification names of C09 (体外循环材料) and C14, and SPEC §7's
example code C09010101000000066260000001 under 国械注准20153100011.  The
certificates (numbers, dates, addresses, registrants of imported products)
and the spec/models are synthetic but follow the real formats:
国/省械注准|进|许 + year + class + 2-digit category + serial, 粤穗械备…号.
The demo manufacturer 广东示范医疗器械有限公司 (enterprise code 06626) is the
registrant of several domestic certificates and of one filing.
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO_MANUFACTURER = "广东示范医疗器械有限公司"

# 20-character codes copied from nhsa_consumable_codes20_excerpt.csv (code, l1, l2, l3, generic, material,
# feature, enterprise as printed in the NHSA table: the domestic company or the agent of an import).
REAL_CODES = """\
C0101010010100103941,01-非血管介入治疗类材料,01-呼吸介入材料,01-气管支气管支架,001-支架,01-镍钛合金,001-全覆膜,南京法迈特科技发展有限公司
C0101010010100104744,01-非血管介入治疗类材料,01-呼吸介入材料,01-气管支气管支架,001-支架,01-镍钛合金,001-全覆膜,麦瑞通医疗器械（北京）有限公司
C0101010010100104937,01-非血管介入治疗类材料,01-呼吸介入材料,01-气管支气管支架,001-支架,01-镍钛合金,001-全覆膜,南微医学科技股份有限公司
C0101010010100403941,01-非血管介入治疗类材料,01-呼吸介入材料,01-气管支气管支架,001-支架,01-镍钛合金,004-半覆膜,南京法迈特科技发展有限公司
C0101010010100404937,01-非血管介入治疗类材料,01-呼吸介入材料,01-气管支气管支架,001-支架,01-镍钛合金,004-半覆膜,南微医学科技股份有限公司
C0101010010100411325,01-非血管介入治疗类材料,01-呼吸介入材料,01-气管支气管支架,001-支架,01-镍钛合金,004-半覆膜,波科国际医疗贸易（上海）有限公司
C0101010010100704900,01-非血管介入治疗类材料,01-呼吸介入材料,01-气管支气管支架,001-支架,01-镍钛合金,007-非覆膜,常州佳森医疗器械有限公司
C0101010010100704937,01-非血管介入治疗类材料,01-呼吸介入材料,01-气管支气管支架,001-支架,01-镍钛合金,007-非覆膜,南微医学科技股份有限公司
C0101010010100709820,01-非血管介入治疗类材料,01-呼吸介入材料,01-气管支气管支架,001-支架,01-镍钛合金,007-非覆膜,常州市智业医疗仪器研究所有限公司
C0101010010100711325,01-非血管介入治疗类材料,01-呼吸介入材料,01-气管支气管支架,001-支架,01-镍钛合金,007-非覆膜,波科国际医疗贸易（上海）有限公司
C0101010010200107555,01-非血管介入治疗类材料,01-呼吸介入材料,01-气管支气管支架,001-支架,02-不锈钢,001-全覆膜,淮安市西格玛医用实业有限公司
C0101010010200110088,01-非血管介入治疗类材料,01-呼吸介入材料,01-气管支气管支架,001-支架,02-不锈钢,001-全覆膜,青岛中惠圣熙生物工程有限公司
C0101010010300101530,01-非血管介入治疗类材料,01-呼吸介入材料,01-气管支气管支架,001-支架,03-硅酮,001-全覆膜,广州东合伟信医疗科技发展有限公司
C0101020020100107834,01-非血管介入治疗类材料,01-呼吸介入材料,02-气道球囊,002-球囊,01-嵌段聚醚酰胺树脂（Pebax）,001-止血球囊/单级球囊/普通,奥林巴斯贸易（上海）有限公司
C0101020020100504937,01-非血管介入治疗类材料,01-呼吸介入材料,02-气道球囊,002-球囊,01-嵌段聚醚酰胺树脂（Pebax）,005-扩张球囊/单级球囊/普通,南微医学科技股份有限公司
C0101020020100510872,01-非血管介入治疗类材料,01-呼吸介入材料,02-气道球囊,002-球囊,01-嵌段聚醚酰胺树脂（Pebax）,005-扩张球囊/单级球囊/普通,上海英诺伟医疗器械股份有限公司
C0101020020100519374,01-非血管介入治疗类材料,01-呼吸介入材料,02-气道球囊,002-球囊,01-嵌段聚醚酰胺树脂（Pebax）,005-扩张球囊/单级球囊/普通,江苏真由美生物科技有限公司
C0101020020100602277,01-非血管介入治疗类材料,01-呼吸介入材料,02-气道球囊,002-球囊,01-嵌段聚醚酰胺树脂（Pebax）,006-扩张球囊/单级球囊/可过导丝,江苏常美医疗器械有限公司
C0101020020100604740,01-非血管介入治疗类材料,01-呼吸介入材料,02-气道球囊,002-球囊,01-嵌段聚醚酰胺树脂（Pebax）,006-扩张球囊/单级球囊/可过导丝,河南驼人贝斯特医疗器械有限公司
C0101020020100604937,01-非血管介入治疗类材料,01-呼吸介入材料,02-气道球囊,002-球囊,01-嵌段聚醚酰胺树脂（Pebax）,006-扩张球囊/单级球囊/可过导丝,南微医学科技股份有限公司
C0101020020200503588,01-非血管介入治疗类材料,01-呼吸介入材料,02-气道球囊,002-球囊,02-聚对苯二甲酸乙二醇脂（PET）,005-扩张球囊/单级球囊/普通,杭州堃博生物科技有限公司
C0101030030100100841,01-非血管介入治疗类材料,01-呼吸介入材料,03-气道导丝,003-导丝,01-镍钛合金,001-末端有亲水涂层,苏州法兰克曼医疗器械有限公司
C0101030030100102277,01-非血管介入治疗类材料,01-呼吸介入材料,03-气道导丝,003-导丝,01-镍钛合金,001-末端有亲水涂层,江苏常美医疗器械有限公司
C0101030030100111325,01-非血管介入治疗类材料,01-呼吸介入材料,03-气道导丝,003-导丝,01-镍钛合金,001-末端有亲水涂层,波科国际医疗贸易（上海）有限公司
C0101030030100202277,01-非血管介入治疗类材料,01-呼吸介入材料,03-气道导丝,003-导丝,01-镍钛合金,002-末端无亲水涂层,江苏常美医疗器械有限公司
C0101030030200221240,01-非血管介入治疗类材料,01-呼吸介入材料,03-气道导丝,003-导丝,02-其他,002-末端无亲水涂层,北京赛舒特医疗器械有限公司
C0101040040000103588,01-非血管介入治疗类材料,01-呼吸介入材料,04-气道射频导管,004-导管,00-不区分,001-单电极,杭州堃博生物科技有限公司
C0101040040000303588,01-非血管介入治疗类材料,01-呼吸介入材料,04-气道射频导管,004-导管,00-不区分,003-多电极,杭州堃博生物科技有限公司
C0101040040000311325,01-非血管介入治疗类材料,01-呼吸介入材料,04-气道射频导管,004-导管,00-不区分,003-多电极,波科国际医疗贸易（上海）有限公司
C0101060060000000841,01-非血管介入治疗类材料,01-呼吸介入材料,06-呼吸类细胞刷,006-细胞刷,00-不区分,000-常规,苏州法兰克曼医疗器械有限公司
C0101060060000001105,01-非血管介入治疗类材料,01-呼吸介入材料,06-呼吸类细胞刷,006-细胞刷,00-不区分,000-常规,常州贺利氏微创医疗器械有限公司
C0101060060000003089,01-非血管介入治疗类材料,01-呼吸介入材料,06-呼吸类细胞刷,006-细胞刷,00-不区分,000-常规,库克（中国）医疗贸易有限公司
C0101060060000007834,01-非血管介入治疗类材料,01-呼吸介入材料,06-呼吸类细胞刷,006-细胞刷,00-不区分,000-常规,奥林巴斯贸易（上海）有限公司
C0101060060000012037,01-非血管介入治疗类材料,01-呼吸介入材料,06-呼吸类细胞刷,006-细胞刷,00-不区分,000-常规,浙江医高医疗科技有限公司
C0101070070000101105,01-非血管介入治疗类材料,01-呼吸介入材料,07-呼吸活检钳,007-活检材料,00-不区分,001-带针/带齿/带外鞘管,常州贺利氏微创医疗器械有限公司
C0101070070000104937,01-非血管介入治疗类材料,01-呼吸介入材料,07-呼吸活检钳,007-活检材料,00-不区分,001-带针/带齿/带外鞘管,南微医学科技股份有限公司
C0101070070000107834,01-非血管介入治疗类材料,01-呼吸介入材料,07-呼吸活检钳,007-活检材料,00-不区分,001-带针/带齿/带外鞘管,奥林巴斯贸易（上海）有限公司
C0101070070000111325,01-非血管介入治疗类材料,01-呼吸介入材料,07-呼吸活检钳,007-活检材料,00-不区分,001-带针/带齿/带外鞘管,波科国际医疗贸易（上海）有限公司
C0101070070000200841,01-非血管介入治疗类材料,01-呼吸介入材料,07-呼吸活检钳,007-活检材料,00-不区分,002-带针/带齿/无外鞘管,苏州法兰克曼医疗器械有限公司
C0101070070000213892,01-非血管介入治疗类材料,01-呼吸介入材料,07-呼吸活检钳,007-活检材料,00-不区分,002-带针/带齿/无外鞘管,西安高通医学发展有限公司
"""

# agent (as in the NHSA table) -> overseas registrant and its address
IMPORTERS = {
    "麦瑞通医疗器械（北京）有限公司": ("Merit Medical Systems, Inc.", "1600 West Merit Parkway, South Jordan, Utah 84095, USA"),
    "波科国际医疗贸易（上海）有限公司": ("Boston Scientific Corporation", "Two Scimed Place, Maple Grove, MN 55311, USA"),
    "奥林巴斯贸易（上海）有限公司": ("Olympus Medical Systems Corp.", "2951 Ishikawa-cho, Hachioji-shi, Tokyo 192-8507, Japan"),
    "库克（中国）医疗贸易有限公司": ("Cook Medical LLC", "750 Daniels Way, Bloomington, IN 47404, USA"),
}
# province of a domestic company -> (abbreviation for class II numbers, a plausible address)
PROVINCES = {
    "南京": ("苏", "江苏省南京市江宁区"), "江苏": ("苏", "江苏省常州市武进区"), "常州": ("苏", "江苏省常州市新北区"),
    "淮安": ("苏", "江苏省淮安市清江浦区"), "苏州": ("苏", "江苏省苏州市工业园区"), "青岛": ("鲁", "山东省青岛市城阳区"),
    "广州": ("粤", "广东省广州市黄埔区"), "广东": ("粤", "广东省广州市番禺区"), "上海": ("沪", "上海市闵行区"),
    "河南": ("豫", "河南省新乡市长垣市"), "杭州": ("浙", "浙江省杭州市余杭区"), "浙江": ("浙", "浙江省湖州市德清县"),
    "北京": ("京", "北京市大兴区"), "西安": ("陕", "陕西省西安市高新区"), "南微": ("苏", "江苏省南京市六合区"),
}

# level 3 -> (product name on the certificate, management class, category, spec maker)
PRODUCTS = {
    "01-气管支气管支架": ("气管支气管支架", "III", "13"),
    "02-气道球囊": ("一次性使用气道扩张球囊导管", "III", "08"),
    "03-气道导丝": ("一次性使用气道导丝", "II", "08"),
    "04-气道射频导管": ("支气管射频消融导管", "III", "01"),
    "06-呼吸类细胞刷": ("一次性使用细胞刷", "II", "02"),
    "07-呼吸活检钳": ("一次性使用活检钳", "II", "02"),
}

STRUCTURES = {
    "13": "由支架和输送系统组成。支架由镍钛合金丝编织而成，覆膜材料为硅橡胶；输送系统由外鞘管、内管、手柄组成。",
    "08": "由导管、球囊、显影环、连接件组成。球囊材料为嵌段聚醚酰胺树脂。经环氧乙烷灭菌，一次性使用。",
    "01": "由导管、电极、连接电缆组成。电极材料为铂铱合金。无菌提供，一次性使用。",
    "02": "由头端、弹簧管、牵引钢丝、手柄组成。经环氧乙烷灭菌，一次性使用。",
    "10": "由管体、接头、导芯组成。管体材料为聚氯乙烯，接头材料为聚碳酸酯。经环氧乙烷灭菌，无菌提供，一次性使用。",
    "14": "由医用脱脂纱布、无纺布组成。非无菌提供。",
}
SCOPES = {
    "13": "用于治疗恶性肿瘤引起的气管、支气管狭窄。",
    "08": "用于在内镜下对气道狭窄部位进行扩张。",
    "01": "用于支气管镜下对气道组织进行射频消融治疗。",
    "02": "供临床在内镜下采集呼吸道组织或细胞标本用。",
    "10": "用于心脏直视手术体外循环中的血液引流、灌注。",
    "14": "用于医疗机构对创面的一般护理、包扎。",
}


def _spec_rows(rng: random.Random, level3: str, count: int) -> list[tuple[str, str]]:
    rows = []
    for n in range(count):
        if "支架" in level3:
            d, l = rng.choice([10, 12, 14, 16, 18, 20]), rng.choice([30, 40, 50, 60, 80])
            rows.append((f"Φ{d}mm×{l}mm", f"ST-{d}{l:03d}"))
        elif "球囊" in level3:
            d, l = rng.choice([6, 8, 10, 12, 15, 18]), rng.choice([20, 30, 40, 55])
            rows.append((f"球囊直径{d}mm，长度{l}mm", f"BC-{d:02d}{l:02d}"))
        elif "导丝" in level3:
            d, l = rng.choice(["0.035in", "0.025in", "0.018in"]), rng.choice([1500, 2600, 4500])
            rows.append((f"{d}×{l}mm", f"GW{l}-{n + 1:02d}"))
        elif "射频" in level3:
            rows.append((f"有效长度{rng.choice([800, 1000, 1200])}mm", f"RF-{rng.choice(['S', 'M'])}{n + 1:02d}"))
        elif "细胞刷" in level3:
            rows.append((f"刷头直径{rng.choice([2, 3, 4])}mm，工作长度{rng.choice([1150, 1800])}mm", f"CB-{n + 1:02d}"))
        elif "活检钳" in level3:
            rows.append((f"钳杯开口{rng.choice([5, 6, 7])}mm，工作长度{rng.choice([1150, 1600, 2300])}mm",
                         f"BF-{rng.choice(['A', 'B', 'C'])}{n + 1:02d}"))
        elif "灌注" in level3 or "插管" in level3 or "引流" in level3 or "吸引" in level3:
            fr = rng.choice([12, 14, 16, 18, 20, 22, 24])
            rows.append((f"{fr}Fr", f"{rng.choice(['AC', 'VC', 'SC'])}-{fr}{rng.choice(['A', 'B'])}"))
        elif "管路" in level3 or "套包" in level3:
            rows.append((rng.choice(["成人型", "儿童型", "婴儿型"]), f"CP-{rng.choice(['A', 'P', 'I'])}{n + 1:02d}"))
        elif "氧合器" in level3:
            rows.append((f"最大血流量{rng.choice([2, 5, 7])}L/min", f"OX-{n + 1:02d}"))
        else:
            rows.append((f"{rng.choice([5, 7.5, 10])}cm×{rng.choice([5, 7.5, 10])}cm", f"GZ-{n + 1:02d}"))
    # a spec/model pair is unique per item
    seen, out = set(), []
    for row in rows:
        if row not in seen:
            seen.add(row)
            out.append(row)
    return out


def build() -> tuple[list[dict], list[dict], list[dict]]:
    rng = random.Random(20240601)
    certs: dict[str, dict] = {}
    items: list[dict] = []

    def cert(number, name, registrant, address, cls, start, end, category, origin):
        if number not in certs:
            certs[number] = {
                "注册备案号": number, "注册备案产品名称": name, "注册人名称": registrant, "生产地址": address,
                "管理类别": cls, "有效期开始": start.isoformat() if start else "",
                "有效期结束": end.isoformat() if end else "", "结构及组成": STRUCTURES.get(category, ""),
                "适用范围": SCOPES.get(category, ""), "境内/进口": origin,
            }
        return number

    serials = iter(range(101, 9999, 37))
    by_company_product: dict[tuple[str, str], str] = {}
    for line in REAL_CODES.strip().splitlines():
        code, l1, l2, l3, generic, material, feature, enterprise = line.split(",")
        name, cls, category = PRODUCTS[l3]
        key = (enterprise, l3)
        if key not in by_company_product:
            year = rng.choice(range(2017, 2024))
            # the number keeps the first registration year; the validity is the latest renewal (延续注册)
            start = dt.date(max(year, rng.choice(range(2022, 2026))), rng.randint(1, 12), rng.randint(1, 28))
            end = start.replace(year=start.year + 5) - dt.timedelta(days=1)
            if enterprise in IMPORTERS:
                registrant, address = IMPORTERS[enterprise]
                number = f"国械注进{year}{cls.count('I')}{category}{next(serials):04d}"
                origin = "进口"
            else:
                registrant = enterprise
                prov, address = next((v for k, v in PROVINCES.items() if k in enterprise), ("京", "北京市"))
                region = "国" if cls == "III" else prov
                number = f"{region}械注准{year}{cls.count('I')}{category}{next(serials):04d}"
                origin = "境内"
                address = address + f"{rng.randint(1, 300)}号"
            by_company_product[key] = cert(number, name, registrant, address, cls, start, end, category, origin)
        items.append({"20位码": code, "单件名称": name.replace("一次性使用", ""), "一级分类": l1, "二级分类": l2,
                      "三级分类": l3, "通用名": generic, "材质": material, "特征": feature, "企业名称": enterprise,
                      "注册备案号": by_company_product[key]})

    # The demo manufacturer (enterprise code 06626) and SPEC §7's example certificate.
    gd = DEMO_MANUFACTURER
    gd_addr = "广东省广州市黄埔区科学城示范路8号"
    l1 = "09-体外循环材料"
    demo = [
        # number, product, class, start, end, category, [(l2, l3, generic, material, feature, item name)]
        ("国械注准20153100011", "一次性使用动脉插管", "III", dt.date(2020, 6, 1), dt.date(2030, 5, 31), "10",
         [("01-插管", "01-动脉灌注管", "010-插管", "00-不区分", "000-常规", "动脉灌注管"),
          ("01-插管", "04-股动脉插管", "010-插管", "00-不区分", "000-常规", "股动脉插管")]),
        ("国械注准20183100456", "一次性使用静脉引流插管", "III", dt.date(2018, 9, 12), dt.date(2028, 9, 11), "10",
         [("01-插管", "02-静脉引流管", "010-插管", "01-聚氯乙烯", "001-单级", "静脉引流管"),
          ("01-插管", "03-股静脉插管", "010-插管", "01-聚氯乙烯", "002-双级", "股静脉插管")]),
        ("国械注准20213100789", "一次性使用体外循环管路", "III", dt.date(2026, 1, 10), dt.date(2031, 1, 9), "10",
         [("03-体外循环管路", "01-体外循环管路", "011-管路", "01-聚氯乙烯", "000-常规", "体外循环管路"),
          ("03-体外循环管路", "02-体外循环套包", "012-套包", "00-不区分", "000-常规", "体外循环套包")]),
        ("国械注准20223100321", "膜式氧合器", "III", dt.date(2022, 11, 20), dt.date(2027, 11, 19), "10",
         [("06-氧合器", "01-氧合器", "013-氧合器", "02-聚甲基戊烯", "001-带微栓过滤", "膜式氧合器")]),
        ("粤械注准20192100123", "一次性使用吸引管", "II", dt.date(2019, 4, 15), dt.date(2029, 4, 14), "10",
         [("01-插管", "07-吸引管", "014-吸引管", "01-聚氯乙烯", "000-常规", "吸引管")]),
        # expired: still in the national data, filtered out by 有效期内
        ("粤械注准20172100088", "一次性使用心肌停跳液灌注管", "II", dt.date(2017, 8, 1), dt.date(2022, 7, 31), "10",
         [("01-插管", "06-心肌停跳液插管", "010-插管", "01-聚氯乙烯", "000-常规", "心肌停跳液插管")]),
    ]
    for number, product, cls, start, end, category, its in demo:
        cert(number, product, gd, gd_addr, cls, start, end, category, "境内")
        for l2, l3, generic, material, feature, name in its:
            code = "C09" + l2[:2] + l3[:2] + generic[:3] + material[:2] + feature[:3] + "06626"
            items.append({"20位码": code, "单件名称": name, "一级分类": l1, "二级分类": l2, "三级分类": l3,
                          "通用名": generic, "材质": material, "特征": feature, "企业名称": gd,
                          "注册备案号": number})
    # a class I filing (备案凭证): no end date
    cert("粤穗械备20180539号", "医用脱脂纱布块", gd, gd_addr, "I", dt.date(2018, 5, 9), None, "14", "境内")
    items.append({"20位码": "C1402010150300106626", "单件名称": "医用纱布块", "一级分类": "14-基础卫生材料",
                  "二级分类": "02-常规医疗用品", "三级分类": "01-敷料", "通用名": "015-纱布",
                  "材质": "03-棉", "特征": "001-非无菌", "企业名称": gd, "注册备案号": "粤穗械备20180539号"})
    # Hong Kong / Macau / Taiwan (许) and further overseas certificates, some without single items yet
    cert("国械注许20233100006", "一次性使用动脉插管", "台湾百优医疗器材股份有限公司", "台湾省新竹县湖口乡新竹工业区",
         "III", dt.date(2023, 2, 8), dt.date(2028, 2, 7), "10", "进口")
    cert("国械注进20172100054", "一次性使用动脉微栓过滤器", "Medtronic Inc.",
         "710 Medtronic Parkway, Minneapolis, MN 55432, USA", "III", dt.date(2017, 3, 1), dt.date(2027, 2, 28), "10",
         "进口")
    cert("国械注进20193100211", "中空纤维膜式氧合器", "Terumo Corporation",
         "2-44-1 Hatagaya, Shibuya-ku, Tokyo 151-0072, Japan", "III", dt.date(2019, 7, 30), dt.date(2024, 7, 29),
         "10", "进口")
    cert("国械注进20203100377", "离心泵泵头", "Abbott Medical", "5050 Nathan Lane North, Plymouth, MN 55442, USA",
         "III", dt.date(2020, 12, 10), dt.date(2025, 12, 9), "10", "进口")
    cert("国械注进20222100145", "一次性使用血液滤过器", "B. Braun Avitum AG", "Schwarzenberger Weg 73-79, 34212 Melsungen, Germany",
         "II", dt.date(2022, 5, 16), dt.date(2027, 5, 15), "10", "进口")
    cert("粤械注准20202100542", "一次性使用吸引连接管", "佛山市示范医用材料有限公司", "广东省佛山市南海区狮山镇科技路6号",
         "II", dt.date(2020, 9, 1), dt.date(2025, 8, 31), "10", "境内")

    specs = []
    for item in items:
        rows = _spec_rows(rng, item["三级分类"], rng.randint(3, 8))
        for n, (spec, model) in enumerate(rows, start=1):
            specs.append({"27位码": f"{item['20位码']}{n:07d}", "20位码": item["20位码"], "规格": spec,
                          "型号": model})
    return list(certs.values()), items, specs


def write(rows: list[dict], name: str) -> None:
    with open(os.path.join(HERE, name), "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    certs, items, specs = build()
    write(certs, "certificates.csv")
    write(items, "items.csv")
    write(specs, "specs.csv")
    print(f"{len(certs)} certificates, {len(items)} single items, {len(specs)} spec/models")
