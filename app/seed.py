"""Demo data for `make run`. Every row is looked up by a natural key first, so running it
again adds nothing (hospitals by code, schedules by doctor, date and period: a run on a later
day adds only the days that have come into the booking window)."""
import random
from datetime import date, datetime, time, timedelta, timezone

from flask import current_app
from sqlalchemy import delete, insert, select

from app.common.time import to_local, utcnow
from app.extensions import db
from app.hospitals import cache, rules
from app.hospitals.models import Department, Doctor, Hospital, Schedule
from app.patients.models import Patient
from app.staff.models import StaffUser
from app.staff.services import create_staff
from app.users.models import User
from app.wechat.simulator.miniprogram import openid_for_code

DEMO_LOGIN_CODE = "demo-user"


def seed_demo_data(now=None):
    """`now` (aware datetime, default the current time) only decides which schedule days the
    booking windows hold."""
    lines = []
    username = current_app.config.get("DEMO_ADMIN_USERNAME", "admin")
    password = current_app.config.get("DEMO_ADMIN_PASSWORD", "admin-demo-2026")
    if db.session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is None:
        create_staff(username, password, "admin", "演示管理员")
        lines.append(f"created demo admin {username}")
    for name, role in (("reviewer", "reviewer"), ("operator", "operator")):
        if db.session.scalar(select(StaffUser.id).where(StaffUser.username == name)) is None:
            create_staff(name, password, role, f"演示{'审核员' if role == 'reviewer' else '运营'}")
            lines.append(f"created demo {role} {name}")
    lines.extend(_bind_demo_admin(username))

    openid = openid_for_code(DEMO_LOGIN_CODE)
    user = db.session.scalar(select(User).where(User.openid == openid))
    if user is None:
        user = User(openid=openid, nickname="演示用户", real_name_status="verified")
        user.phone = "13800138000"
        user.real_name_encrypted = "张三"
        db.session.add(user)
        db.session.flush()
        for name, id_number, phone, insured in (
            ("张三", "110101199003078515", "13800138000", True),
            ("李四", "310104198512120023", "13900139000", False),
        ):
            patient = Patient(user_id=user.id, alive=True, name=name, is_insured=insured,
                              birthday=date(1990, 1, 1), gender="male")
            patient.set_id("resident_id", id_number)
            from app.common.identity import parse_resident_id
            patient.birthday, patient.gender = parse_resident_id(id_number)
            patient.phone = phone
            db.session.add(patient)
        db.session.commit()
        lines.append(f"created demo user #{user.id} (wx.login code '{DEMO_LOGIN_CODE}') "
                     "with 2 patients")
    lines.extend(seed_demo_hospitals(now))
    lines.extend(seed_demo_hospital_key())
    lines.extend(seed_demo_caregivers(now))
    lines.extend(seed_demo_care_orders(now))
    if not lines:
        lines.append("demo data already present; nothing added")
    return lines


def _bind_demo_admin(username: str) -> list[str]:
    """The simulator's official-account page sends as DEMO_OPENID: bound to the demo admin,
    its menus answer with counts without binding first. An openid already bound to someone,
    or an admin already bound, is left alone."""
    from app.wechat.simulator.official import DEMO_OPENID

    admin = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    holder = db.session.scalar(select(StaffUser.id)
                               .where(StaffUser.official_openid == DEMO_OPENID))
    if admin is None or admin.official_openid is not None or holder is not None:
        return []
    admin.official_openid = DEMO_OPENID
    db.session.commit()
    return [f"bound demo admin {username} to the simulator's official-account openid"]


# ---- hospitals, departments, doctors, schedules ----------------------------------------------
# Fictional hospitals with real region codes (GB/T 2260). Codes "DEMO-…" are the natural key.

DEMO_HOSPITALS = [
    # code, name, level, (province, city, district), address, phone,
    # (booking_days_ahead, release "HH:MM", stop "HH:MM", cancel_days_before, cancel "HH:MM")
    ("DEMO-BJ01", "京华协和医院", "3A", ("110000", "110100", "110101"),
     "北京市东城区帅府园路 18 号", "010-65290001", (7, "08:30", "15:00", 1, "15:30")),
    ("DEMO-BJ02", "北京西城仁济医院", "3A", ("110000", "110100", "110102"),
     "北京市西城区西直门南大街 26 号", "010-88320002", (14, "08:00", "16:00", 1, "17:00")),
    ("DEMO-BJ03", "北京朝阳中西医结合医院", "3B", ("110000", "110100", "110105"),
     "北京市朝阳区工体南路 9 号", "010-85230003", (7, "07:30", "15:00", 1, "15:30")),
    ("DEMO-BJ04", "北京海淀区学院路社区卫生服务中心", "1", ("110000", "110100", "110108"),
     "北京市海淀区学院路 35 号", "010-62310004", (7, "08:00", "17:00", 1, "12:00")),
    ("DEMO-SH01", "上海瑞康医院", "3A", ("310000", "310100", "310101"),
     "上海市黄浦区瑞金二路 197 号", "021-64370005", (7, "09:00", "15:00", 1, "15:30")),
    ("DEMO-SH02", "上海徐汇中心医院", "3A", ("310000", "310100", "310104"),
     "上海市徐汇区宛平南路 600 号", "021-64380006", (10, "08:30", "16:00", 1, "16:00")),
    ("DEMO-SH03", "上海浦东新区东明人民医院", "2A", ("310000", "310100", "310115"),
     "上海市浦东新区东明路 1800 号", "021-58310007", (7, "08:00", "17:00", 1, "17:00")),
    ("DEMO-SH04", "上海静安区中医医院", "2A", ("310000", "310100", "310106"),
     "上海市静安区北京西路 1051 号", "021-62170008", (7, "08:30", "15:00", 1, "15:30")),
    ("DEMO-GZ01", "广州越秀中山医院", "3A", ("440000", "440100", "440104"),
     "广州市越秀区中山二路 58 号", "020-87330009", (7, "08:00", "15:00", 1, "15:30")),
    ("DEMO-GZ02", "广州天河区人民医院", "2A", ("440000", "440100", "440106"),
     "广州市天河区天河路 600 号", "020-85210010", (7, "08:30", "17:00", 1, "17:00")),
    ("DEMO-SZ01", "深圳福田协和医院", "3A", ("440000", "440300", "440304"),
     "深圳市福田区莲花路 1120 号", "0755-83360011", (14, "09:00", "15:00", 1, "15:30")),
    ("DEMO-SZ02", "深圳南山区蛇口人民医院", "2B", ("440000", "440300", "440305"),
     "深圳市南山区工业七路 36 号", "0755-26690012", (7, "08:00", "16:00", 1, "16:00")),
    ("DEMO-CD01", "成都华西仁爱医院", "3A", ("510000", "510100", "510107"),
     "成都市武侯区国学巷 37 号", "028-85420013", (7, "08:30", "15:00", 1, "15:30")),
    ("DEMO-CD02", "成都锦江区中医医院", "3B", ("510000", "510100", "510104"),
     "成都市锦江区红星路四段 25 号", "028-86650014", (7, "08:00", "16:00", 1, "16:00")),
    ("DEMO-CD03", "成都青羊区第二人民医院", "2C", ("510000", "510100", "510105"),
     "成都市青羊区草市街 82 号", "028-86640015", (7, "08:30", "17:00", 1, "17:00")),
    ("DEMO-HZ01", "杭州西湖仁和医院", "3A", ("330000", "330100", "330106"),
     "杭州市西湖区保俶路 88 号", "0571-87230016", (10, "08:30", "15:00", 1, "15:30")),
    ("DEMO-HZ02", "杭州上城区人民医院", "2A", ("330000", "330100", "330102"),
     "杭州市上城区解放路 321 号", "0571-87060017", (7, "07:30", "16:00", 1, "16:00")),
    ("DEMO-HZ03", "杭州拱墅区米市巷社区卫生服务中心", "1", ("330000", "330100", "330105"),
     "杭州市拱墅区米市巷 46 号", "0571-88120018", (7, "08:00", "17:00", 1, "12:00")),
    ("DEMO-XA01", "西安雁塔仁济医院", "3A", ("610000", "610100", "610113"),
     "西安市雁塔区雁塔西路 277 号", "029-85320019", (7, "08:00", "15:00", 1, "15:30")),
    ("DEMO-XA02", "西安碑林区中医医院", "3C", ("610000", "610100", "610103"),
     "西安市碑林区西一路 16 号", "029-87280020", (7, "08:30", "16:00", 1, "16:00")),
]

# WGS-84 (latitude, longitude) near each demo hospital's address: caregiver search sorts by
# distance from a hospital. Kept apart from DEMO_HOSPITALS so existing rows can be filled in.
DEMO_HOSPITAL_COORDINATES = {
    "DEMO-BJ01": (39.9127, 116.4172), "DEMO-BJ02": (39.9365, 116.3547),
    "DEMO-BJ03": (39.9262, 116.4497), "DEMO-BJ04": (39.9884, 116.3528),
    "DEMO-SH01": (31.2116, 121.4686), "DEMO-SH02": (31.1867, 121.4470),
    "DEMO-SH03": (31.1571, 121.5163), "DEMO-SH04": (31.2328, 121.4598),
    "DEMO-GZ01": (23.1296, 113.2932), "DEMO-GZ02": (23.1372, 113.3350),
    "DEMO-SZ01": (22.5532, 114.0591), "DEMO-SZ02": (22.4927, 113.9198),
    "DEMO-CD01": (30.6421, 104.0641), "DEMO-CD02": (30.6557, 104.0853),
    "DEMO-CD03": (30.6758, 104.0660), "DEMO-HZ01": (30.2682, 120.1459),
    "DEMO-HZ02": (30.2560, 120.1752), "DEMO-HZ03": (30.2903, 120.1718),
    "DEMO-XA01": (34.2232, 108.9471), "DEMO-XA02": (34.2689, 108.9521),
}

DEMO_DEPARTMENTS = [
    ("NK", "内科", "诊治内科常见病、多发病及疑难重症。", [
        ("XXG", "心血管内科", ["冠心病、高血压的规范化诊治", "心律失常、心力衰竭",
                               "心肌病、血脂异常", "冠脉介入治疗"]),
        ("XH", "消化内科", ["胃炎、消化性溃疡", "肝硬化、脂肪肝", "消化道早癌内镜诊治",
                            "炎症性肠病"]),
        ("HX", "呼吸内科", ["慢性阻塞性肺疾病、哮喘", "肺部感染、肺结节", "睡眠呼吸暂停"]),
        ("NFM", "内分泌科", ["糖尿病及其并发症", "甲状腺疾病", "骨质疏松、肥胖症"]),
        ("SJN", "神经内科", ["脑血管病、头痛头晕", "帕金森病、癫痫", "失眠、记忆障碍"]),
        ("SN", "肾内科", ["慢性肾炎、肾病综合征", "慢性肾衰竭、透析管理", "高尿酸血症"]),
    ]),
    ("WK", "外科", "开展普外、骨科、泌尿等外科疾病的诊疗与手术。", [
        ("PW", "普通外科", ["甲状腺、乳腺疾病", "胆囊结石、疝气", "胃肠肿瘤微创手术"]),
        ("GK", "骨科", ["颈肩腰腿痛", "关节置换、运动损伤", "骨折创伤"]),
        ("MN", "泌尿外科", ["泌尿系结石", "前列腺疾病", "泌尿系肿瘤"]),
        ("SJW", "神经外科", ["脑肿瘤", "颅脑外伤", "脊柱脊髓疾病"]),
        ("XW", "胸外科", ["肺结节、肺癌微创手术", "食管疾病", "纵隔肿瘤"]),
    ]),
    ("FCK", "妇产科", "围产保健、妇科疾病与生殖健康。", [
        ("FK", "妇科", ["子宫肌瘤、卵巢囊肿", "宫颈疾病筛查", "月经失调、更年期综合征"]),
        ("CK", "产科", ["孕期保健、高危妊娠", "妊娠期糖尿病、高血压", "产后康复"]),
        ("SZ", "生殖医学科", ["不孕不育", "多囊卵巢综合征", "复发性流产"]),
    ]),
    ("EK", "儿科", "0-14 岁儿童常见病诊治与生长发育评估。", [
        ("ENK", "儿内科", ["小儿呼吸道感染", "小儿腹泻、消化不良", "儿童哮喘"]),
        ("XSE", "新生儿科", ["新生儿黄疸", "早产儿随访", "新生儿喂养问题"]),
        ("XEW", "小儿外科", ["小儿疝气、鞘膜积液", "包茎、隐睾", "小儿骨折"]),
    ]),
    ("YK", "眼科", "眼病诊治与视光服务。", [
        ("BNZ", "白内障门诊", ["白内障超声乳化手术", "人工晶体植入"]),
        ("QGY", "青光眼门诊", ["原发性青光眼", "继发性青光眼"]),
        ("YD", "眼底病门诊", ["糖尿病视网膜病变", "黄斑病变", "视网膜脱离"]),
    ]),
    ("KQ", "口腔科", "口腔疾病的预防、治疗与修复。", [
        ("KQN", "口腔内科", ["龋病、牙髓病", "牙周病", "口腔黏膜病"]),
        ("HM", "口腔颌面外科", ["智齿拔除", "颌面部外伤", "口腔肿物"]),
        ("ZJ", "口腔正畸科", ["青少年错颌畸形", "成人隐形矫治"]),
    ]),
    ("EBH", "耳鼻咽喉科", "耳、鼻、咽喉及头颈部疾病。", [
        ("ER", "耳科", ["中耳炎", "耳鸣耳聋", "眩晕"]),
        ("BK", "鼻科", ["过敏性鼻炎", "慢性鼻窦炎", "鼻中隔偏曲"]),
        ("YH", "咽喉科", ["慢性咽炎", "声带息肉", "扁桃体疾病"]),
    ]),
    ("PF", "皮肤科", "皮肤病、性病与皮肤美容。", [
        ("PFB", "皮肤病门诊", ["湿疹、荨麻疹", "银屑病", "痤疮"]),
        ("MR", "皮肤美容科", ["色斑、痤疮瘢痕", "激光美容"]),
    ]),
    ("ZY", "中医科", "中医辨证论治与特色疗法。", [
        ("ZYN", "中医内科", ["脾胃病调理", "失眠、慢性疲劳", "体质调理"]),
        ("ZJTN", "针灸推拿科", ["颈肩腰腿痛针灸", "面瘫", "中风后康复"]),
    ]),
]

_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡"
             "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙")
_GIVEN = ("建国", "秀兰", "志强", "丽华", "海燕", "文博", "晓明", "静怡", "明轩", "思远", "雨桐",
          "国华", "春梅", "立新", "佳琪", "宏伟", "玉珍", "振华", "淑芬", "浩然", "欣怡", "俊杰",
          "婉清", "慧敏", "永刚", "雪梅", "学军", "若曦", "卫东", "红霞", "子健", "书宁", "敏")
# title: (weight at a large hospital, weight at a community centre, fee choices in fen,
#         slots per clinic, years of practice)
_TITLES = {
    "主任医师": (2, 0, (5000, 6000, 8000, 10000), (10, 20), "三十余年"),
    "副主任医师": (3, 1, (3000, 4000, 5000), (15, 30), "二十余年"),
    "主治医师": (3, 3, (1500, 2000, 2500), (20, 40), "十余年"),
    "住院医师": (1, 2, (800, 1000, 1200), (20, 40), "五年"),
    "医师": (1, 2, (500, 600, 800), (20, 40), "五年"),
}
_SEED_PERIODS = {"morning": ("08:00", "12:00"), "afternoon": ("13:30", "17:00")}


def seed_demo_hospitals(now=None) -> list[str]:
    """~20 hospitals with departments and doctors (once, by hospital code) and their schedules
    for every day of each booking window (by doctor, date and period)."""
    lines = []
    created = _seed_catalogue()
    if created:
        lines.append(f"created {created['hospitals']} demo hospitals with "
                     f"{created['departments']} departments and {created['doctors']} doctors")
    located = _fill_hospital_coordinates()
    if located:
        lines.append(f"set the coordinates of {located} demo hospitals")
    added, last_day = _seed_schedules(now)
    if added:
        lines.append(f"added {added} demo schedules (through {last_day.isoformat()})")
    if created or located or added:
        cache.invalidate_catalogue()
    return lines


def seed_demo_hospital_key() -> list[str]:
    """The first demo hospital's open API key, from DEMO_HOSPITAL_KEY_ID / _SECRET (only the
    development configuration has them), once."""
    from app.hospital_onboarding.models import HospitalApiKey

    key_id = current_app.config.get("DEMO_HOSPITAL_KEY_ID")
    secret = current_app.config.get("DEMO_HOSPITAL_SECRET")
    if not key_id or not secret or db.session.scalar(
            select(HospitalApiKey.id).where(HospitalApiKey.key_id == key_id)):
        return []
    code = DEMO_HOSPITALS[0][0]
    hospital = db.session.scalar(select(Hospital).where(Hospital.code == code))
    db.session.add(HospitalApiKey(hospital_id=hospital.id, key_id=key_id, secret=secret,
                                  status="active", created_at=utcnow()))
    db.session.commit()
    return [f"created the open API key {key_id} of demo hospital {hospital.name} ({code})"]


def _seed_catalogue() -> dict:
    codes = [row[0] for row in DEMO_HOSPITALS]
    present = set(db.session.scalars(select(Hospital.code).where(Hospital.code.in_(codes))))
    counts = {"hospitals": 0, "departments": 0, "doctors": 0}
    for code, name, level, region, address, phone, window in DEMO_HOSPITALS:
        if code in present:
            continue
        rng = random.Random(f"demo-hospital:{code}")
        days_ahead, release, stop, cancel_days, cancel = window
        latitude, longitude = DEMO_HOSPITAL_COORDINATES[code]
        hospital = Hospital(
            code=code, name=name, level=level, province_code=region[0], city_code=region[1],
            district_code=region[2], address=address, phone=phone, is_active=True,
            latitude=latitude, longitude=longitude,
            intro=f"{name}是一所集医疗、教学、科研、预防保健于一体的"
                  f"{'综合性医院' if level != '1' else '基层医疗卫生机构'},"
                  "秉承“以患者为中心”的服务理念,为群众提供优质、便捷的医疗服务。",
            notice=(f"1. 本院实行实名制预约挂号,每日 {release} 放出第 {days_ahead} 天的号源;"
                    f"就诊前一日 {stop} 停止预约。\n"
                    f"2. 已预约的号源可在就诊前一日 {cancel} 前取消,逾期不可退号。\n"
                    "3. 就诊当日请携带本人有效身份证件,按预约时段提前 30 分钟到院签到。\n"
                    "4. 如遇医生停诊,平台将第一时间通知您并全额退还挂号费。"),
            booking_days_ahead=days_ahead, release_time=time.fromisoformat(release),
            stop_time=time.fromisoformat(stop), cancel_days_before=cancel_days,
            cancel_time=time.fromisoformat(cancel))
        db.session.add(hospital)
        db.session.flush()
        counts["hospitals"] += 1
        catalogue = list(DEMO_DEPARTMENTS)
        chosen = sorted(rng.sample(range(len(catalogue)), rng.randint(3, 5)))
        if "中医" in name and 8 not in chosen:
            chosen = sorted([8, *chosen[1:]])
        used_names = set()
        for order, index in enumerate(chosen, start=1):
            top_code, top_name, top_intro, children = catalogue[index]
            top = Department(hospital_id=hospital.id, code=top_code, name=top_name,
                             intro=top_intro, sort_order=order)
            db.session.add(top)
            db.session.flush()
            counts["departments"] += 1
            picked = sorted(rng.sample(range(len(children)), min(len(children),
                                                                 rng.randint(2, 3))))
            for child_order, child_index in enumerate(picked, start=1):
                child_code, child_name, specialties = children[child_index]
                child = Department(hospital_id=hospital.id, parent_id=top.id,
                                   code=f"{top_code}-{child_code}", name=child_name,
                                   intro=f"{child_name}擅长{'、'.join(specialties[:2])}等疾病的诊治。",
                                   sort_order=child_order)
                db.session.add(child)
                db.session.flush()
                counts["departments"] += 1
                for _ in range(rng.randint(1, 3)):
                    doctor_name = _doctor_name(rng, used_names)
                    title = _doctor_title(rng, level)
                    specialty = rng.choice(specialties)
                    db.session.add(Doctor(
                        hospital_id=hospital.id, department_id=child.id, name=doctor_name,
                        title=title, specialty=specialty,
                        intro=f"{title},从事{child_name}临床工作{_TITLES[title][4]},"
                              f"擅长{specialty}。"))
                    counts["doctors"] += 1
    if counts["hospitals"]:
        db.session.commit()
    return counts if counts["hospitals"] else {}


def _fill_hospital_coordinates() -> int:
    """Demo hospitals made before hospitals had coordinates get them (rows that have any are
    left alone: staff may have corrected them)."""
    missing = db.session.scalars(select(Hospital).where(
        Hospital.code.in_(list(DEMO_HOSPITAL_COORDINATES)),
        Hospital.latitude.is_(None) | Hospital.longitude.is_(None))).all()
    for hospital in missing:
        hospital.latitude, hospital.longitude = DEMO_HOSPITAL_COORDINATES[hospital.code]
    if missing:
        db.session.commit()
    return len(missing)


def _doctor_name(rng, used: set) -> str:
    while True:
        name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
        if name not in used:
            used.add(name)
            return name


def _doctor_title(rng, level: str) -> str:
    community = level == "1"
    titles = list(_TITLES)
    weights = [_TITLES[t][1] if community else _TITLES[t][0] for t in titles]
    return rng.choices(titles, weights)[0]


def _seed_schedules(now=None):
    """Schedules for every day of each demo hospital's window that has none yet. Each doctor's
    week is decided by a pseudo-random draw seeded with the hospital, doctor and date, so any
    run (today's, tomorrow's) draws the same clinics for the same day."""
    codes = [row[0] for row in DEMO_HOSPITALS]
    hospitals = db.session.scalars(select(Hospital).where(Hospital.code.in_(codes))).all()
    if not hospitals:
        return 0, None
    now = rules.now_local() if now is None else to_local(now)
    windows = {h.id: rules.window_days(h, now) for h in hospitals}
    first_day = min(days[0] for days in windows.values())
    existing = set(db.session.execute(
        select(Schedule.doctor_id, Schedule.work_date, Schedule.period)
        .where(Schedule.hospital_id.in_(list(windows)), Schedule.work_date >= first_day)).all())
    departments = {d.id: d.code for d in db.session.scalars(
        select(Department).where(Department.hospital_id.in_(list(windows))))}
    doctors = db.session.scalars(select(Doctor).where(Doctor.hospital_id.in_(list(windows)))
                                 .order_by(Doctor.id)).all()
    by_hospital = {h.id: h for h in hospitals}
    first_in_department = {}
    for doctor in doctors:
        first_in_department.setdefault(doctor.department_id, doctor.id)
    rows, last_day = [], None
    for doctor in doctors:
        hospital = by_hospital[doctor.hospital_id]
        identity = f"{hospital.code}:{departments[doctor.department_id]}:{doctor.name}"
        fees, slots = _TITLES.get(doctor.title, _TITLES["医师"])[2:4]
        fee_fen = random.Random(f"fee:{identity}").choice(fees)
        lead = first_in_department[doctor.department_id] == doctor.id
        for day in windows[hospital.id]:
            rng = random.Random(f"clinic:{identity}:{day.isoformat()}")
            weekend = day.weekday() >= 5
            for period, (start, end) in _SEED_PERIODS.items():
                draw = rng.random()
                # the first doctor of a department holds every morning clinic, so no
                # department has an empty day; the others work about half their sessions
                works = (lead and period == "morning") or draw < (0.35 if weekend else 0.6)
                total = rng.randint(*slots)
                if not works or (doctor.id, day, period) in existing:
                    continue
                rows.append({"hospital_id": hospital.id, "department_id": doctor.department_id,
                             "doctor_id": doctor.id, "work_date": day, "period": period,
                             "start_time": time.fromisoformat(start),
                             "end_time": time.fromisoformat(end), "total": total,
                             "available": total, "numbers_issued": 0, "fee_fen": fee_fen,
                             "status": "open"})
                last_day = max(last_day or day, day)
    if rows:
        db.session.execute(insert(Schedule), rows)
        db.session.commit()
    else:
        db.session.rollback()
    return len(rows), last_day


# ---- caregivers ------------------------------------------------------------------------------
# ~50 approved caregivers across the demo cities, the demo caregiver login, a few applications
# and documents waiting for review. Natural key: the user's openid (one per wx.login code), so
# a second run, or a run on a later day, adds nothing.

DEMO_CAREGIVER_LOGIN_CODE = "demo-caregiver"
DEMO_CAREGIVER_COUNT = 50       # approved, codes demo-caregiver-1 … -50
DEMO_APPLICANT_COUNT = 4        # pending_review, codes demo-applicant-1 … -4
# approved caregivers that also have a nursing certificate waiting for review
DEMO_PENDING_DOCUMENT_OF = (3, 11)
# this one's nursing certificate expires within the warning period
DEMO_EXPIRING_CERTIFICATE_OF = 5

_CG_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘蒋蔡余杜叶"
_CG_GIVEN = {
    "female": ("秀英", "桂兰", "玉梅", "春燕", "小红", "丽娟", "美玲", "凤霞", "素琴", "翠萍",
               "雪芳", "金凤", "晓燕", "秋菊", "海霞", "慧琳", "彩云", "爱华", "淑珍", "月娥"),
    "male": ("建军", "志刚", "国庆", "德明", "永福", "海涛", "春生", "立军", "长青", "文斌"),
}
_CG_BIOS = ("做事细心,有耐心,擅长照顾行动不便的老人,能配合家属做好康复训练。",
            "性格开朗,沟通能力强,熟悉医院就诊流程,可陪同挂号、检查、取药。",
            "多年三甲医院陪护经验,熟悉术后翻身、拍背、管路护理等操作。",
            "持证上岗,懂营养配餐,能协助进食、洗漱、如厕,夜间照护经验丰富。",
            "为人踏实可靠,照顾过多位认知症老人,懂得安抚情绪、预防走失。",
            "有母婴护理经验,会产后护理和新生儿照护,讲究卫生,作息规律。")
_CG_EMPLOYERS = ("家政服务有限公司", "养老服务中心", "护理院", "社区居家养老服务站",
                 "医院陪护中心", "康复医院")
_CG_ROLES = ("护理员", "陪护员", "养老护理员", "陪诊员", "医疗护理员")
# weekly patterns: weekday → [(start_minute, end_minute)], 30-minute grid; a night across
# midnight is two windows (evening on its day, morning on the next)
_NIGHTS = [(0, 480), (1200, 1440)]
_CG_PATTERNS = {
    "weekday_days": {d: [(480, 1080)] for d in range(5)},
    "day_shifts": {d: [(420, 1140)] for d in range(7)},
    "nights": {d: list(_NIGHTS) for d in range(7)},
    "live_in": {d: [(0, 1440)] for d in range(7)},
    "part_time": {d: [(540, 720), (840, 1020)] for d in (0, 2, 4, 5)},
    "weekends": {d: [(480, 1200)] for d in (5, 6)},
    "days_and_weekend_live_in": {**{d: [(480, 1080)] for d in range(5)},
                                 **{d: [(0, 1440)] for d in (5, 6)}},
}
# the care types each pattern suits (a caregiver prices 2–5 of them)
_CG_PATTERN_TYPES = {
    "weekday_days": ("day_shift", "hourly", "escort"),
    "day_shifts": ("day_shift", "hourly", "escort", "full_day"),
    "nights": ("night_shift", "full_day", "hourly"),
    "live_in": ("full_day", "day_shift", "night_shift", "hourly", "escort"),
    "part_time": ("hourly", "escort"),
    "weekends": ("day_shift", "hourly", "escort"),
    "days_and_weekend_live_in": ("full_day", "day_shift", "hourly", "escort"),
}


def seed_demo_caregivers(now=None) -> list[str]:
    """`now` (aware, default the current time) places documents' dates and busy blocks."""
    now = to_local(now) if now is not None else to_local(utcnow())
    cities = _demo_cities()
    if not cities:
        return []
    reviewer_id = db.session.scalar(select(StaffUser.id).where(StaffUser.username == "reviewer"))
    specs = [_caregiver_spec(DEMO_CAREGIVER_LOGIN_CODE, 0, cities, "approved")]
    specs += [_caregiver_spec(f"demo-caregiver-{n}", n, cities, "approved")
              for n in range(1, DEMO_CAREGIVER_COUNT + 1)]
    specs += [_caregiver_spec(f"demo-applicant-{n}", DEMO_CAREGIVER_COUNT + n, cities,
                              "pending_review") for n in range(1, DEMO_APPLICANT_COUNT + 1)]
    openids = {spec["code"]: openid_for_code(spec["code"]) for spec in specs}
    present = set(db.session.scalars(select(User.openid).where(
        User.openid.in_(list(openids.values())))))
    made = {"approved": 0, "pending_review": 0, "pending_documents": 0}
    demo_id, new_ids = None, []
    for spec in specs:
        if openids[spec["code"]] in present:
            continue
        caregiver = _make_caregiver(spec, openids[spec["code"]], now, reviewer_id)
        new_ids.append(caregiver.id)
        made[spec["status"]] += 1
        made["pending_documents"] += int(spec["status"] == "approved"
                                         and spec["n"] in DEMO_PENDING_DOCUMENT_OF)
        if spec["code"] == DEMO_CAREGIVER_LOGIN_CODE:
            demo_id = caregiver.id
    if not new_ids:
        return []
    db.session.commit()
    # their working days for the horizon, as any change of hours does (commits itself)
    from app.availability.services import rebuild_day_windows
    rebuild_day_windows(new_ids)
    lines = []
    if made["approved"]:
        lines.append(f"created {made['approved']} approved demo caregivers in "
                     f"{len(cities)} cities with documents, prices and weekly hours")
    if demo_id is not None:
        lines.append(f"created demo caregiver #{demo_id} (wx.login code "
                     f"'{DEMO_CAREGIVER_LOGIN_CODE}')")
    if made["pending_review"] or made["pending_documents"]:
        lines.append(f"created {made['pending_review']} caregiver applications and "
                     f"{made['pending_documents']} documents of listed caregivers "
                     "waiting for review")
    return lines


def _demo_cities() -> dict:
    """city_code → [(hospital id, district code, latitude, longitude)] of the demo hospitals."""
    cities = {}
    rows = db.session.execute(select(Hospital.code, Hospital.id, Hospital.city_code,
                                     Hospital.district_code).where(
        Hospital.code.in_([row[0] for row in DEMO_HOSPITALS])).order_by(Hospital.code)).all()
    for code, hospital_id, city_code, district_code in rows:
        latitude, longitude = DEMO_HOSPITAL_COORDINATES[code]
        cities.setdefault(city_code, []).append((hospital_id, district_code, latitude, longitude))
    return cities


def _caregiver_spec(code: str, n: int, cities: dict, status: str) -> dict:
    """Everything about one demo caregiver, drawn from a generator seeded with its code (the
    same code always yields the same person)."""
    from app.caregivers.models import CARE_TYPES, DEFAULT_SKILLS

    rng = random.Random(f"demo-caregiver:{code}")
    city_codes = sorted(cities)
    city = "110100" if n == 0 else city_codes[(n - 1) % len(city_codes)]
    hospitals = cities[city]
    gender = "male" if rng.random() < 0.2 else "female"
    name = rng.choice(_CG_SURNAMES) + rng.choice(_CG_GIVEN[gender])
    if n == 0:
        name, gender = "陈秀梅", "female"
    chosen = rng.sample(hospitals, min(len(hospitals), rng.randint(1, 3)))
    home = chosen[0]
    pattern = "days_and_weekend_live_in" if n == 0 else rng.choice(sorted(_CG_PATTERNS))
    suited = _CG_PATTERN_TYPES[pattern]
    types = rng.sample(suited, min(len(suited), rng.randint(2, 5)))  # each suits >= 2
    skills = sorted(rng.sample([c for c, _ in DEFAULT_SKILLS], rng.randint(1, 4)))
    if n == 0:
        # the demo care orders (seed_demo_care_orders) are 全天, 钟点 and 陪诊 bookings: the
        # draw gives these three today; pinned so a change to the draws cannot take one away
        skills = ["elderly", "escort", "post_surgery"]
        types = ["full_day", "hourly", "escort"]
    age = rng.randint(28, 58)
    years = rng.randint(1, min(25, age - 20))
    birth = date(2026 - age, rng.randint(1, 12), rng.randint(1, 28))
    history = []
    year = 2025
    for _ in range(rng.randint(1, 3)):
        start = year - rng.randint(1, 4)
        history.append({"start": f"{start}-{rng.randint(1, 12):02d}",
                        "end": None if not history else f"{year}-{rng.randint(1, 12):02d}",
                        "employer": rng.choice(("安心", "康乐", "福寿", "仁和", "益康", "暖阳"))
                        + rng.choice(_CG_EMPLOYERS),
                        "role": rng.choice(_CG_ROLES)})
        year = start
    return {
        "code": code, "n": n, "status": status, "rng": rng, "name": name, "gender": gender,
        "birth_date": birth, "city": city, "districts": sorted({h[1] for h in chosen}),
        "hospital_ids": sorted(h[0] for h in chosen),
        "latitude": round(home[2] + rng.uniform(-0.03, 0.03), 6),
        "longitude": round(home[3] + rng.uniform(-0.03, 0.03), 6),
        "years": years, "bio": rng.choice(_CG_BIOS), "history": history, "skills": skills,
        "types": [t for t in CARE_TYPES if t in types], "pattern": pattern,
        "phone": f"137{n:04d}{rng.randint(0, 9999):04d}",
        "id_number": _demo_resident_id(home[1], birth, gender, rng),
    }


def _demo_resident_id(district: str, birth: date, gender: str, rng) -> str:
    from app.common.identity import resident_id_check_char

    sequence = rng.randrange(1, 999, 2) if gender == "male" else rng.randrange(0, 998, 2)
    first17 = f"{district}{birth:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_char(first17)


def _demo_prices(spec) -> dict:
    """Whole yuan inside the platform's price standards, varied per caregiver."""
    limits = _price_limits()
    rng = spec["rng"]
    prices = {}
    for care_type in spec["types"]:
        low, high = limits[care_type]
        # most ask for the lower half of the range; a few experienced ones more
        share = rng.uniform(0.05, 0.5) + (0.3 if spec["years"] > 15 else 0)
        prices[care_type] = max(low, min(high, (low + int((high - low) * share)) // 1000 * 1000))
    return prices


def _price_limits() -> dict:
    try:
        from app.caregivers.services import price_limits
    except ImportError:  # the caregivers services are not there yet
        return {k: tuple(v) for k, v in current_app.config["CARE_PRICE_LIMITS"].items()}
    return price_limits()


def _make_caregiver(spec, openid, now, reviewer_id):
    from app.availability.models import WeeklyWindow
    from app.availability.services import add_busy_block
    from app.caregivers.models import (Caregiver, CaregiverDistrict, CaregiverHospital,
                                       CaregiverPrice, CaregiverSkill)

    rng = spec["rng"]
    approved = spec["status"] == "approved"
    user = User(openid=openid, nickname=spec["name"][0] + ("阿姨" if spec["gender"] == "female"
                                                           else "师傅"),
                real_name_status="verified", gender=spec["gender"])
    user.phone = spec["phone"]
    user.real_name_encrypted = spec["name"]
    db.session.add(user)
    db.session.flush()
    submitted = _utc(now - timedelta(days=rng.randint(30, 400) if approved
                                     else rng.randint(0, 3), hours=rng.randint(0, 12)))
    caregiver = Caregiver(
        user_id=user.id, status=spec["status"], name=spec["name"], gender=spec["gender"],
        birth_date=spec["birth_date"], city_code=spec["city"], latitude=spec["latitude"],
        longitude=spec["longitude"], years_experience=spec["years"], bio=spec["bio"],
        work_history=spec["history"], accepts_urgent=rng.random() < 0.4,
        night_service=spec["pattern"] in ("nights", "live_in") or rng.random() < 0.2,
        review_round=1, suspension_count=0, submitted_at=submitted,
        rating_count=0, completed_orders=0)
    caregiver.phone = spec["phone"]
    caregiver.night_surcharge_fen = rng.choice((0, 2000, 3000, 5000)) \
        if caregiver.night_service else 0
    if approved:
        caregiver.reviewed_at = caregiver.approved_at = submitted + timedelta(days=1)
        caregiver.reviewed_by_staff_id = reviewer_id
        # what past orders and reviews would have added up to, so rating and order sorts
        # show a spread (the demo has no order history behind them)
        caregiver.completed_orders = rng.randint(0, 12 * spec["years"])
        if caregiver.completed_orders:
            caregiver.rating_count = rng.randint(0, caregiver.completed_orders)
            if caregiver.rating_count:
                caregiver.rating_avg = round(rng.uniform(4.2, 5.0), 1)
    caregiver.skills = [CaregiverSkill(skill_code=code) for code in spec["skills"]]
    caregiver.districts = [CaregiverDistrict(district_code=code) for code in spec["districts"]]
    caregiver.hospitals = [CaregiverHospital(hospital_id=h) for h in spec["hospital_ids"]]
    caregiver.prices = [CaregiverPrice(care_type=t, price_fen=p)
                        for t, p in _demo_prices(spec).items()]
    caregiver.photo_file_id = _demo_file(user, "photo", spec["code"], purpose="attachment").id
    db.session.add(caregiver)
    db.session.flush()
    _demo_documents(caregiver, user, spec, now, reviewer_id)
    for weekday, windows in sorted(_CG_PATTERNS[spec["pattern"]].items()):
        for start, end in windows:
            db.session.add(WeeklyWindow(caregiver_id=caregiver.id, weekday=weekday,
                                        start_minute=start, end_minute=end))
    if approved:
        # a few bookings already taken in the next two weeks, inside their working hours (the
        # demo caregiver's time is held by its care orders instead: seed_demo_care_orders;
        # drawn all the same, so every other draw stays as it was)
        today = now.date()
        for offset in rng.sample(range(1, 14), rng.randint(1, 3)):
            day = today + timedelta(days=offset)
            windows = _CG_PATTERNS[spec["pattern"]].get(day.weekday())
            if not windows:
                continue
            start, end = max(windows, key=lambda w: w[1] - w[0])
            length = min(end - start, rng.choice((240, 480)))
            begins = datetime.combine(day, time(0), now.tzinfo) + timedelta(minutes=start)
            if spec["n"] != 0:
                add_busy_block(caregiver.id, begins, begins + timedelta(minutes=length),
                               ref_type="manual", ref_id=None)
    return caregiver


def _demo_documents(caregiver, user, spec, now, reviewer_id):
    """ID card and health certificate (approved and valid for a listed caregiver, pending for
    an applicant), a nursing certificate for about half, each with an uploaded image."""
    from app.qualifications.models import Qualification, QualificationFile

    rng = spec["rng"]
    today = now.date()
    approved = spec["status"] == "approved"
    n = spec["n"]
    id_issued = today - timedelta(days=rng.randint(400, 3000))
    health_issued = today - timedelta(days=rng.randint(30, 300))
    documents = [
        ("id_card", "居民身份证", spec["id_number"], "公安局", id_issued,
         id_issued + timedelta(days=365 * 20), approved),
        ("health_certificate", "健康证明", f"JK{today.year}{n:04d}{rng.randint(0, 9999):04d}",
         "疾病预防控制中心", health_issued, health_issued + timedelta(days=365), approved),
    ]
    if n == DEMO_EXPIRING_CERTIFICATE_OF or n == 0 or rng.random() < 0.5 or not approved:
        issued = today - timedelta(days=rng.randint(200, 1500))
        expires = today + timedelta(days=20) if n == DEMO_EXPIRING_CERTIFICATE_OF \
            else issued + timedelta(days=365 * 5)
        documents.append(("nursing_certificate", rng.choice(
            ("养老护理员职业技能等级证书", "医疗护理员培训合格证", "母婴护理职业技能证书")),
            f"HL{n:04d}{rng.randint(0, 99999999):08d}", "人力资源和社会保障局", issued,
            max(expires, today + timedelta(days=20)), approved))
    if approved and n in DEMO_PENDING_DOCUMENT_OF:
        documents.append(("nursing_certificate", "医疗护理员培训合格证",
                          f"HP{n:04d}{rng.randint(0, 99999999):08d}", "人力资源和社会保障局",
                          today - timedelta(days=10), today + timedelta(days=365 * 3), False))
    for kind, title, number, issuer, issued, expires, is_approved in documents:
        qualification = Qualification(
            caregiver_id=caregiver.id, kind=kind, title=title, number=number,
            number_index=_qualification_number_index(kind, number), issuer=issuer,
            issued_on=issued, expires_on=expires, review_round=1,
            status="approved" if is_approved else "pending")
        if is_approved:
            qualification.reviewed_by_staff_id = reviewer_id
            qualification.reviewed_at = caregiver.reviewed_at
        stored = _demo_file(user, kind, f"{spec['code']}:{kind}:{number}",
                            purpose="qualification")
        qualification.files = [QualificationFile(file_id=stored.id)]
        db.session.add(qualification)
    db.session.flush()


def _qualification_number_index(kind: str, number: str) -> str:
    """The blind index the qualifications service keeps (one number cannot back two people)."""
    from app.common.crypto import cipher

    return cipher().blind_index(number, f"qualification:{kind}")


def _demo_file(user, label: str, seed: str, *, purpose: str):
    """A tiny valid PNG (a coloured square, different per file) stored like an upload."""
    import hashlib
    import uuid

    from app.files.models import StoredFile
    from app.files.storage import storage

    data = tiny_png(hashlib.sha256(seed.encode()).digest()[:3])
    key = f"{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.png"
    storage().save(key, data)
    record = StoredFile(owner_user_id=user.id, purpose=purpose, content_type="image/png",
                        size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                        storage_key=key, original_name=f"{label}.png")
    db.session.add(record)
    db.session.flush()
    return record


def tiny_png(rgb: bytes, size: int = 8) -> bytes:
    import struct
    import zlib

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + rgb * size for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _utc(moment: datetime) -> datetime:
    """Aware local → naive UTC (as stored)."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


# ---- care orders -----------------------------------------------------------------------------
# The demo family (demo-user) has a care order in every status, all but one with the demo
# caregiver, written as the use cases would have left them: the quote at the caregiver's price,
# the payment and its refunds, the assignment, the timeline, service records, the busy block
# of every order that holds time, the ledger (paid = refunded + Σ net + Σ commission, settled
# by the weekly runs that would have happened), a review and two disputes. Natural key: the
# order number prefix; all of it is one commit, so a second run (or one on a later day) adds
# nothing. Times are relative to `now`: the live ones move on as the cron says (the offer
# times out after accept_minutes, the unpaid one closes after the payment TTL, the ended one
# completes itself after auto_complete_hours), as any order's would.

DEMO_ORDER_PREFIX = "CDEMO"

_DEMO_NEEDS = {
    "post_surgery": "腹腔镜胆囊切除术后第 2 天,需协助翻身、下床活动,注意切口敷料有无渗血。",
    "stroke": "脑梗死恢复期,右侧肢体无力,需协助进食、如厕,按康复师要求做床边训练。",
    "spine": "腰椎间盘突出术后,佩戴腰围,需轴线翻身,避免久坐。",
    "diabetes": "2 型糖尿病、高血压,餐前监测血糖,按时提醒服药,低盐低糖饮食。",
    "escort": "复查胃镜,需陪同挂号、缴费、检查后取药,检查前禁食。",
    "fracture": "右桡骨骨折石膏固定,需协助洗漱、穿衣,观察手指血运。",
}
# the department the family names for each kind of need
_DEMO_DEPARTMENTS = {"post_surgery": "普通外科", "stroke": "神经内科", "spine": "骨科",
                     "diabetes": "内分泌科", "escort": "消化内科", "fracture": "骨科"}
# (condition, care given) as a caregiver writes them
_DEMO_RECORDS = (
    ("体温 36.6℃,血压 128/82 mmHg,精神可,切口敷料干燥。", "协助翻身 2 次,温水擦浴,按医嘱协助服药。"),
    ("午餐进食半碗粥,无恶心呕吐,诉切口轻微疼痛。", "协助进食、漱口,扶行至走廊活动 10 分钟。"),
    ("下午睡眠约 1 小时,醒后无头晕。", "协助如厕 2 次,记录出入量,整理床单位。"),
    ("夜间睡眠 5 小时左右,无明显疼痛主诉。", "每 2 小时协助翻身,拍背排痰,观察输液情况。"),
    ("血糖餐前 6.8 mmol/L,血压平稳。", "提醒服药,陪同完成 B 超检查,送检尿标本。"),
)


def seed_demo_care_orders(now=None) -> list[str]:
    """`now` (aware, default the current time) places every order's window and timeline."""
    from app.care_orders.models import CareOrder
    from app.caregivers.models import Caregiver

    if db.session.scalar(select(CareOrder.id).where(
            CareOrder.order_no.like(f"{DEMO_ORDER_PREFIX}%")).limit(1)) is not None:
        return []
    family = db.session.scalar(select(User).where(
        User.openid == openid_for_code(DEMO_LOGIN_CODE)))
    caregiver = db.session.scalar(select(Caregiver).join(User, User.id == Caregiver.user_id)
                                  .where(User.openid == openid_for_code(
                                      DEMO_CAREGIVER_LOGIN_CODE)))
    if family is None or caregiver is None or not caregiver.hospitals or not caregiver.prices:
        return []
    patients = db.session.scalars(select(Patient).where(
        Patient.user_id == family.id, Patient.alive.is_(True)).order_by(Patient.id)).all()
    if not patients:
        return []
    # demo data made before the demo caregiver had orders gave it a few manual busy blocks:
    # its orders hold its time now
    from app.availability.models import BusyBlock

    db.session.execute(delete(BusyBlock).where(BusyBlock.caregiver_id == caregiver.id,
                                               BusyBlock.ref_type == "manual"))
    book = _DemoCareOrders(to_local(now) if now is not None else to_local(utcnow()),
                           family, patients, caregiver)
    count = book.write()
    db.session.commit()
    book.tell_simulator()
    return [f"created {count} demo care orders (every status) for demo user #{family.id} "
            f"and demo caregiver #{caregiver.id}"]


def _grid_ceil(moment: datetime) -> datetime:
    """The first half-hour mark at or after `moment`."""
    floor = moment.replace(minute=moment.minute // 30 * 30, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=30)


class _DemoCareOrders:
    """Plans the demo orders around `now` on the demo caregiver's time, then writes them."""

    HOUR = timedelta(hours=1)
    DAY = timedelta(days=1)

    def __init__(self, now, family, patients, caregiver):
        from app.availability.models import BusyBlock, WeeklyWindow
        from app.availability.services import merge_intervals
        from app.care_orders import pricing

        self.now, self.family, self.patients, self.caregiver = now, family, patients, caregiver
        self.grid = now.replace(minute=now.minute // 30 * 30, second=0, microsecond=0)
        self.policy = pricing.care_policy()
        self.ttl = timedelta(seconds=current_app.config["PAYMENT_TTL_SECONDS"])
        self.prices = {price.care_type: price.price_fen for price in caregiver.prices}
        self.skills = {skill.skill_code for skill in caregiver.skills}
        self.hospitals = [db.session.get(Hospital, hospital_id) for hospital_id in
                          sorted(link.hospital_id for link in caregiver.hospitals)]
        self.operator_id = db.session.scalar(select(StaffUser.id).where(
            StaffUser.username == "operator"))
        weekly = {}
        for row in db.session.scalars(select(WeeklyWindow).where(
                WeeklyWindow.caregiver_id == caregiver.id)):
            weekly.setdefault(row.weekday, []).append((row.start_minute, row.end_minute))
        first = now.date() - timedelta(days=40)
        working = []
        for offset in range(80):
            day = first + timedelta(days=offset)
            midnight = datetime.combine(day, time(0), now.tzinfo)
            working += [(midnight + timedelta(minutes=low), midnight + timedelta(minutes=high))
                        for low, high in weekly.get(day.weekday(), ())]
        self.working = merge_intervals(working)
        # what already holds the caregiver's time (orders booked by hand before this ran),
        # and what the orders below take
        self.blocked = [(to_local(block.start_at), to_local(block.end_at))
                        for block in db.session.scalars(select(BusyBlock).where(
                            BusyBlock.caregiver_id == caregiver.id))]
        self.taken = []
        self.paid = []  # (payment, refunds) for the simulator
        self.rng = random.Random("demo-care-orders")

    # -- windows --

    def _type(self, *wanted):
        return next((t for t in wanted if t in self.prices), sorted(self.prices)[0])

    def find(self, after, hours, before=None, *, day_only=True, take=True):
        """The first [start, start + hours) on the half-hour grid from `after` inside the
        caregiver's weekly hours, free of busy blocks and of the orders placed so far; with
        `day_only` between 08:00 and 20:00 (daytime: no night surcharge or opt-in)."""
        from app.availability.services import subtract_intervals

        length = timedelta(hours=hours)
        pieces = subtract_intervals(self.working, self.blocked + self.taken)
        if day_only:
            days = []
            for start, end in pieces:
                day = start.date()
                while datetime.combine(day, time(0), start.tzinfo) < end:
                    midnight = datetime.combine(day, time(0), start.tzinfo)
                    low, high = max(start, midnight + 8 * self.HOUR), \
                        min(end, midnight + 20 * self.HOUR)
                    if low < high:
                        days.append((low, high))
                    day += timedelta(days=1)
            pieces = days
        window = None
        for start, end in pieces:
            start = _grid_ceil(max(start, after))
            if start + length <= end and (before is None or start + length <= before):
                window = (start, start + length)
                break
        if window is None:  # the demo caregiver's hours were changed by hand: any time will do
            window = (_grid_ceil(after), _grid_ceil(after) + length)
        if take:
            self.taken.append(window)
        return window

    # -- the plan --

    def plans(self) -> list[dict]:
        """Every order's window, care type and timeline (aware local times)."""
        g, now, H, D = self.grid, self.now, self.HOUR, self.DAY
        full = "full_day" in self.prices
        hourly = self._type("hourly", "escort", "day_shift")
        escort = self._type("escort", "hourly", "day_shift")
        zhang, li = self.patients[0], self.patients[-1]
        big, community = self.hospitals[0], self.hospitals[-1]
        plans = []

        def plan(status, window, care_type, created, patient, hospital, needs, **steps):
            plans.append({"status": status, "window": window, "care_type": care_type,
                          "created": created, "patient": patient, "hospital": hospital,
                          "needs": needs, **steps})

        def booked(window, days, clock):
            """Booked `days` before the start, at `clock` (HH:MM) that day."""
            day = window[0].date() - timedelta(days=days)
            return datetime.combine(day, time.fromisoformat(clock), now.tzinfo)

        # live: a 全天 (round the clock, from 08:00) that ended at the last 08:00 and the next
        # one under way since, then the future ones; without 全天 in the price list, hours
        if full:
            shift = now.replace(hour=8, minute=0, second=0, microsecond=0)
            shift -= D if shift > now else timedelta(0)
            ended, serving_start, serving_end = (shift - D, shift), shift, shift + 2 * D
        else:
            ended, serving_start, serving_end = (g - 11 * H, g - 3 * H), g - 2 * H, g + 6 * H
        following = min([s for s, _ in self.blocked if s > now] + [serving_end])
        serving = (serving_start, following)
        self.taken += [ended, serving]
        accepted = self.find(serving[1] + 12 * H, 4)
        offered = self.find(accepted[1] + 12 * H, 4)
        unpaid = self.find(offered[1] + 12 * H, 6)
        # done: a month of history
        resolved = self.find(now - 30 * D, 6, now - 20 * D)
        reviewed = self.find(now - 21 * D, 48 if full else 8, now - 9 * D, day_only=not full)
        cancelled = self.find(now - 12 * D, 4, now - 6 * D)
        completed = self.find(now - 6 * D, 8, ended[0] - 2 * H)
        disputed = self.find(now - 5 * D, 4, now - 2 * D)
        # these never held the time (closed unpaid; refused, then refunded)
        closed = self.find(now - 3 * D, 3, now - D, take=False)
        refunded = self.find(unpaid[1] + D, 4, take=False)

        created = booked(resolved, 3, "19:26")
        plan("resolved", resolved, hourly, created, li, big, "stroke",
             paid=created + timedelta(minutes=2), accepted=created + timedelta(minutes=21),
             started=resolved[0] - timedelta(minutes=8), records=2,
             ended=resolved[1] + timedelta(minutes=3),
             completed=(resolved[1] + timedelta(hours=1, minutes=40), "family"),
             disputed=(resolved[1] + timedelta(days=1, hours=2),
                       "护工下午离开病房约两个小时,期间患者需要如厕无人协助,希望平台核实。"),
             resolved=(resolved[1] + timedelta(days=3, hours=1), 2,
                       "经核实护工中途离开约 2 小时,按未服务时长退还 2 小时服务费。"))
        created = booked(reviewed, 4, "10:37")
        plan("completed", reviewed, "full_day" if full else hourly, created, zhang, big,
             "post_surgery", paid=created + timedelta(minutes=3),
             accepted=created + timedelta(minutes=14),
             started=reviewed[0] - timedelta(minutes=12), records=4,
             ended=reviewed[1] + timedelta(minutes=2),
             completed=(reviewed[1] + timedelta(hours=2, minutes=5), "family"),
             review=(reviewed[1] + timedelta(hours=2, minutes=20), 5,
                     ["punctual", "professional", "patient"],
                     "陈阿姨很细心,术后两天翻身、擦洗都很到位,夜里也很警醒,下次还找她。",
                     reviewed[1] + timedelta(hours=9), "谢谢您的认可!出院后也要注意休息,祝早日康复。"))
        created = booked(cancelled, 5, "09:12")
        plan("cancelled", cancelled, hourly, created, li, community, "diabetes",
             paid=created + timedelta(minutes=4), accepted=created + timedelta(minutes=30),
             cancelled=(booked(cancelled, 1, "18:45"), "家人调休,这几天可以自己照顾了"))
        created = booked(completed, 2, "15:03")
        plan("completed", completed, hourly, created, zhang, big, "spine",
             paid=created + timedelta(minutes=1), accepted=created + timedelta(minutes=9),
             started=completed[0] - timedelta(minutes=5), records=3,
             ended=completed[1] + timedelta(minutes=1),
             completed=(completed[1] + timedelta(hours=24, minutes=2), "auto"))
        created = booked(disputed, 2, "20:18")
        plan("disputed", disputed, hourly, created, li, big, "fracture",
             paid=created + timedelta(minutes=2), accepted=created + timedelta(minutes=18),
             started=disputed[0] - timedelta(minutes=3), records=2,
             ended=disputed[1] + timedelta(minutes=4),
             completed=(disputed[1] + timedelta(hours=3), "family"),
             disputed=(disputed[1] + timedelta(days=1, hours=1),
                       "护工没有按约定帮忙洗漱、穿衣,石膏边缘的皮肤磨红了也没有告诉家属,"
                       "要求平台处理。"))
        created = booked(closed, 2, "21:40")
        plan("closed", closed, hourly, created, zhang, big, "post_surgery",
             closed=created + self.ttl + timedelta(minutes=1))
        created = min(datetime.combine(now.date() - D, time(20, 5), now.tzinfo), now - 3 * H)
        plan("refunded", refunded, hourly, created, li, community, "diabetes",
             paid=created + timedelta(minutes=3),
             rejected=(created + timedelta(minutes=24), "那天已经答应了老客户,实在抽不开身,抱歉"))
        created = booked(ended, 2, "16:50")
        plan("awaiting_confirmation", ended, "full_day" if full else hourly, created, zhang,
             big, "post_surgery", paid=created + timedelta(minutes=2),
             accepted=created + timedelta(minutes=11),
             started=ended[0] - timedelta(minutes=9), records=3,
             ended=min(ended[1] + timedelta(minutes=2), now))
        created = booked(serving, 3, "11:24")
        plan("in_service", serving, "full_day" if full else hourly, created, li, big,
             "stroke", paid=created + timedelta(minutes=5),
             accepted=created + timedelta(minutes=40),
             started=min(serving[0] + timedelta(minutes=6), now), records=2)
        created = min(datetime.combine(now.date() - D, time(21, 8), now.tzinfo),
                      now - 3 * H)
        plan("accepted", accepted, hourly, created, zhang, big, "fracture",
             paid=created + timedelta(minutes=2), accepted=created + timedelta(minutes=25))
        created = now - timedelta(minutes=6)
        plan("awaiting_acceptance", offered, escort, created, li, big, "escort",
             paid=created + timedelta(minutes=2))
        plan("pending_payment", unpaid, hourly, now - timedelta(minutes=1), zhang, big,
             "post_surgery")
        return sorted(plans, key=lambda p: p["created"])

    # -- writing --

    def write(self) -> int:
        plans = self.plans()
        for number, plan in enumerate(plans, start=1):
            self._order(number, plan)
        self._rate()
        self._settle()
        db.session.flush()
        return len(plans)

    def _order(self, number, p):
        from app.availability.services import add_busy_block
        from app.care_disputes.models import CareDispute
        from app.care_orders import pricing
        from app.care_orders.models import (HOLDING_STATUSES, CareAssignment, CareOrder,
                                            CareOrderEvent, CareServiceRecord)
        from app.care_reviews.models import CareReview
        from app.caregivers.models import CARE_TYPES
        from app.earnings.models import EarningEntry
        from app.payments.models import Payment, Refund

        caregiver, family, hospital, rng = self.caregiver, self.family, p["hospital"], self.rng
        start, end = p["window"]
        created = p["created"]
        quote = pricing.quote(care_type=p["care_type"], start=start, end=end, now=created,
                              unit_price_fen=self.prices[p["care_type"]],
                              night_surcharge_fen=caregiver.night_surcharge_fen or 0,
                              policy=self.policy)
        skills = [s for s in (("escort",) if p["needs"] == "escort" else
                              ("post_surgery", "elderly")) if s in self.skills]
        order = CareOrder(
            order_no=f"{DEMO_ORDER_PREFIX}{number:02d}{created:%Y%m%d%H%M}",
            user_id=family.id, patient_id=p["patient"].id, patient_name=p["patient"].name,
            caregiver_id=caregiver.id, dispatch_mode="chosen", care_type=p["care_type"],
            start_at=_utc(start), end_at=_utc(end), city_code=hospital.city_code,
            hospital_id=hospital.id,
            department=_DEMO_DEPARTMENTS[p["needs"]],
            bed=None if p["needs"] == "escort" else
            f"{rng.randint(3, 12)} 病区 {rng.randint(1, 40)} 床",
            latitude=hospital.latitude, longitude=hospital.longitude, skills=skills,
            needs=_DEMO_NEEDS[p["needs"]], units=quote.units,
            unit_price_fen=quote.unit_price_fen, base_fen=quote.base_fen,
            night_fen=quote.night_fen, urgent_fen=quote.urgent_fen,
            discount_fen=quote.discount_fen, total_fen=quote.total_fen, refunded_fen=0,
            status=p["status"], dispatch_count=0, created_at=_utc(created))
        events = [(created, "created", "pending_payment", "family", None)]
        state = "pending_payment"

        def event(at, kind, status, actor, note=None):
            nonlocal state
            state = status
            events.append((at, kind, status, actor, note))

        refunds, earnings, records = [], [], []
        deadline = None
        if p.get("closed"):
            order.closed_at = _utc(p["closed"])
            event(p["closed"], "closed", "closed", "system")
        if p.get("paid"):
            order.paid_at = _utc(p["paid"])
            order.dispatch_count = 1
            deadline = min(p["paid"] + timedelta(minutes=int(self.policy["accept_minutes"])),
                           start)
            event(p["paid"], "paid", "awaiting_acceptance", "family")
            if p["status"] == "awaiting_acceptance":
                order.acceptance_deadline = _utc(deadline)
        if p.get("rejected"):
            at, reason = p["rejected"]
            event(at, "rejected", "awaiting_acceptance", "caregiver", reason)
            refunded_at = at + timedelta(seconds=40)
            order.caregiver_id, order.refunded_at = None, _utc(refunded_at)
            event(refunded_at, "refunded", "refunded", "system", "暂无可接单的护工")
            refunds.append((refunded_at, order.total_fen, "暂无护工接单,全额退款", "system"))
        if p.get("accepted"):
            order.accepted_at = _utc(p["accepted"])
            event(p["accepted"], "accepted", "accepted", "caregiver")
        if p.get("cancelled"):
            at, reason = p["cancelled"]
            order.cancelled_at, order.cancelled_by, order.cancel_reason = _utc(at), "family", \
                reason
            back = pricing.share(order.total_fen,
                                 self.policy["cancel_after_accept_refund_bp"])
            earnings.append((at, order.total_fen - back, "cancellation"))
            refunds.append((at, back, "用户取消陪护订单", "system"))
            event(at, "cancelled", "cancelled", "family", reason)
        if p.get("started"):
            order.started_at = _utc(p["started"])
            order.start_latitude = round(hospital.latitude + rng.uniform(-0.0005, 0.0005), 6)
            order.start_longitude = round(hospital.longitude + rng.uniform(-0.0005, 0.0005), 6)
            event(p["started"], "started", "in_service", "caregiver")
            last = min(p.get("ended") or self.now, end)
            step = (last - p["started"]) / (p["records"] + 1)
            for k in range(p["records"]):
                at = p["started"] + step * (k + 1)
                records.append((at, *_DEMO_RECORDS[(number + k) % len(_DEMO_RECORDS)]))
                event(at, "record", "in_service", "caregiver")
        if p.get("ended"):
            order.ended_at = _utc(p["ended"])
            event(p["ended"], "ended", "awaiting_confirmation", "caregiver")
        if p.get("completed"):
            at, by = p["completed"]
            order.completed_at, order.completed_by = _utc(at), by
            earnings.append((at, order.total_fen, "completion"))
            caregiver.completed_orders = (caregiver.completed_orders or 0) + 1
            event(at, "completed", "completed", "family" if by == "family" else "system")
        if p.get("review"):
            event(p["review"][0], "reviewed", "completed", "family")
        if p.get("disputed"):
            at, _ = p["disputed"]
            order.status_before_dispute, order.disputed_at = state, _utc(at)
            event(at, "disputed", "disputed", "family", "用户申请纠纷处理")
        if p.get("resolved"):
            at, hours, _ = p["resolved"]
            back = min(hours * order.unit_price_fen if order.care_type == "hourly"
                       else order.total_fen // 4, order.total_fen - 1)
            order.resolved_at = _utc(at)
            refunds.append((at, back, "纠纷处理:部分退款", f"staff:{self.operator_id}"))
            earnings.append((at, -back, "dispute"))
            event(at, "dispute_resolved", "resolved", "staff", "部分退款")
        assert state == p["status"], (state, p["status"])
        order.refunded_fen = sum(amount for _, amount, _, _ in refunds)
        order.updated_at = _utc(events[-1][0])
        db.session.add(order)
        db.session.flush()

        for seq, (at, kind, status, actor, note) in enumerate(events, start=1):
            db.session.add(CareOrderEvent(order_id=order.id, seq=seq, at=_utc(at), kind=kind,
                                          status=status, actor=actor, note=note))
        payment = None
        if p.get("paid") or p.get("closed"):
            opened = created + timedelta(seconds=rng.randint(3, 20))
            payment = Payment(
                out_trade_no="P" + order.order_no[1:], order_type="care_order",
                order_id=order.id, user_id=family.id, payer_openid=family.openid,
                description=f"陪护服务-{CARE_TYPES[order.care_type][0]}-{order.order_no}"[:40],
                amount_fen=order.total_fen, refunded_fen=order.refunded_fen,
                prepay_id=f"wx{opened:%Y%m%d%H%M%S}{rng.getrandbits(40):010x}",
                expires_at=_utc(min(opened + self.ttl, start)), created_at=_utc(opened),
                updated_at=_utc(refunds[-1][0] if refunds else p.get("paid") or p["closed"]))
            if p.get("paid"):
                payment.status = ("paid" if not refunds else "refunded"
                                  if order.refunded_fen >= order.total_fen
                                  else "partially_refunded")
                payment.paid_at = _utc(p["paid"])
                payment.transaction_id = (f"4200{p['paid']:%Y%m%d}"
                                          f"{rng.randrange(10 ** 16):016d}")
            else:
                payment.status, payment.closed_at = "closed", _utc(p["closed"])
            db.session.add(payment)
            db.session.flush()
        made = []
        for k, (at, amount, reason, by) in enumerate(refunds, start=1):
            refund = Refund(out_refund_no=f"R{order.order_no[1:]}{k}", payment_id=payment.id,
                            amount_fen=amount, reason=reason, requested_by=by,
                            status="succeeded", refund_id=f"50300{rng.randrange(10 ** 24):024d}",
                            succeeded_at=_utc(at + timedelta(seconds=rng.randint(2, 30))),
                            attempts=0, created_at=_utc(at),
                            updated_at=_utc(at + timedelta(seconds=30)))
            db.session.add(refund)
            made.append(refund)
        if payment is not None and payment.transaction_id:
            self.paid.append((payment, made))
        hold = timedelta(days=int(self.policy["settlement_hold_days"]))
        due = None
        for at, amount, kind in earnings:
            bp = int(self.policy["commission_bp"])
            commission = pricing.share(amount, bp) if amount > 0 else -pricing.share(-amount, bp)
            # a dispute's correction falls due with the entry it corrects (still pending)
            due = due if kind == "dispute" and due is not None else at + hold
            db.session.add(EarningEntry(
                caregiver_id=caregiver.id, order_id=order.id, kind=kind, amount_fen=amount,
                commission_fen=commission, net_fen=amount - commission, commission_bp=bp,
                status="pending", due_at=_utc(due), created_at=_utc(at), updated_at=_utc(at)))
        assignment = None
        if p.get("paid"):
            outcome = ("rejected", *p["rejected"]) if p.get("rejected") else \
                ("accepted", p["accepted"], None) if p.get("accepted") else \
                ("offered", None, None)
            assignment = CareAssignment(
                order_id=order.id, caregiver_id=caregiver.id, status=outcome[0], by="family",
                deadline=_utc(deadline), decided_at=_utc(outcome[1]) if outcome[1] else None,
                reason=outcome[2], quote_fen=order.total_fen, created_at=_utc(p["paid"]),
                updated_at=_utc(outcome[1] or p["paid"]))
            db.session.add(assignment)
        for at, condition, care_given in records:
            db.session.add(CareServiceRecord(
                order_id=order.id, caregiver_id=caregiver.id, recorded_at=_utc(at),
                condition=condition, care_given=care_given, photo_file_ids=[],
                created_at=_utc(at), updated_at=_utc(at)))
        if p["status"] in HOLDING_STATUSES:
            for block in add_busy_block(caregiver.id, start, end, ref_type="care_order",
                                        ref_id=order.id):
                block.created_at = block.updated_at = _utc(created)
        if p.get("review"):
            at, stars, tags, text, replied, reply = p["review"]
            db.session.add(CareReview(order_id=order.id, caregiver_id=caregiver.id,
                                      user_id=family.id, stars=stars, tags=tags, text=text,
                                      reply=reply, replied_at=_utc(replied),
                                      created_at=_utc(at), updated_at=_utc(replied)))
        dispute = None
        if p.get("disputed"):
            at, text = p["disputed"]
            dispute = CareDispute(order_id=order.id, opened_by="family",
                                  opened_by_user_id=family.id, text=text,
                                  evidence_file_ids=[], status="open",
                                  created_at=_utc(at), updated_at=_utc(at))
            if p.get("resolved"):
                resolved_at, _, note = p["resolved"]
                dispute.status, dispute.outcome = "resolved", "partial_refund"
                dispute.refund_fen, dispute.note = order.refunded_fen, note
                dispute.resolved_by_staff_id, dispute.resolved_at = self.operator_id, \
                    _utc(resolved_at)
                dispute.updated_at = _utc(resolved_at)
            db.session.add(dispute)
        db.session.flush()
        self._notify(order, p, assignment, dispute, made)

    def _notify(self, order, p, assignment, dispute, refunds):
        """What the latest steps of the order told each side (older messages read)."""
        from app.care_orders.core import fen_to_yuan, order_summary
        from app.notifications.models import Notification

        family, worker = self.family.id, self.caregiver.user_id
        summary = order_summary(order)
        hours = int(self.policy["auto_complete_hours"])
        sent = []
        status = p["status"]
        if status == "awaiting_acceptance":
            sent += [(family, "care_order_paid", "支付成功",
                      f"{summary}已支付 {fen_to_yuan(order.total_fen)} 元,等待护工接单。",
                      "care_order", order.id, p["paid"]),
                     (worker, "care_order_offered", "新的陪护订单",
                      f"您有一笔新订单:{summary},请在 "
                      f"{to_local(order.acceptance_deadline):%m-%d %H:%M} 前确认接单。",
                      "care_assignment", assignment.id, p["paid"])]
        if status in ("accepted", "in_service"):
            sent.append((family, "care_order_accepted", "护工已接单",
                         f"{summary}已由护工接单,请留意服务开始时间。", "care_assignment",
                         assignment.id, p["accepted"]))
        if status == "in_service":
            sent.append((family, "care_service_started", "服务已开始", f"{summary}已开始服务。",
                         "care_order", order.id, p["started"]))
        if status == "awaiting_confirmation":
            sent.append((family, "care_service_ended", "服务已结束,请确认",
                         f"{summary}已结束服务,请确认完成并评价;{hours} 小时后将自动确认。",
                         "care_order", order.id, p["ended"]))
        if p.get("completed"):
            sent.append((worker, "care_order_completed", "订单已完成",
                         f"{summary}已完成,收入将在结算后到账。", "care_order", order.id,
                         p["completed"][0]))
        if status == "cancelled":
            at = p["cancelled"][0]
            sent += [(family, "care_order_cancelled", "订单已取消",
                      f"{summary}已取消,将退款 {fen_to_yuan(order.refunded_fen)} 元。",
                      "care_order", order.id, at),
                     (worker, "care_order_cancelled", "订单已取消", f"{summary}已被用户取消。",
                      "care_order", order.id, at)]
        if status == "closed":
            sent.append((family, "care_order_closed", "订单已关闭",
                         f"{summary}超时未支付,订单已关闭。", "care_order", order.id,
                         p["closed"]))
        if status == "refunded":
            sent.append((family, "care_order_unmatched", "暂无护工接单",
                         f"很抱歉,{summary}暂无可接单的护工,费用将全额原路退回。",
                         "care_order", order.id, to_local(order.refunded_at)))
        if dispute is not None:
            sent.append((worker, "care_dispute_opened", "用户申请了纠纷处理",
                         f"{summary}已进入纠纷处理,平台将核实后处理,期间订单暂停。",
                         "care_dispute", dispute.id, p["disputed"][0]))
        if status == "resolved":
            at, _, note = p["resolved"]
            sent += [(family, "care_dispute_resolved", "纠纷已处理",
                      f"{summary}的纠纷已处理:部分退款,将退款 "
                      f"{fen_to_yuan(order.refunded_fen)} 元。处理说明:{note}",
                      "care_dispute", dispute.id, at),
                     (worker, "care_dispute_resolved", "纠纷已处理",
                      f"{summary}的纠纷已处理:部分退款。处理说明:{note}", "care_dispute",
                      dispute.id, at)]
        for refund in refunds:
            sent.append((family, "refund_succeeded", "退款成功",
                         f"{summary}的 {fen_to_yuan(refund.amount_fen)} 元已原路退回。",
                         "refund", refund.id, to_local(refund.succeeded_at)))
        for user_id, kind, title, body, ref_type, ref_id, at in sent:
            db.session.add(Notification(
                user_id=user_id, kind=kind, title=title, body=body, ref_type=ref_type,
                ref_id=ref_id, created_at=_utc(at), updated_at=_utc(at),
                read_at=_utc(at + timedelta(hours=1)) if at < self.now - self.DAY else None))

    def _rate(self):
        """The caregiver's rating from their reviews, as the reviews service keeps it."""
        from sqlalchemy import func

        from app.care_reviews.models import CareReview

        db.session.flush()
        total, count = db.session.execute(select(
            func.coalesce(func.sum(CareReview.stars), 0), func.count(CareReview.id)).where(
            CareReview.caregiver_id == self.caregiver.id)).one()
        if count:
            self.caregiver.rating_count = int(count)
            self.caregiver.rating_avg = int(total) / int(count)

    def _settle(self):
        """The weekly settlements that would have run since (Monday 02:00): each settles the
        entries due by then, of orders not in dispute, into that week's batch."""
        from app.care_orders.models import CareOrder
        from app.earnings.models import EarningEntry, SettlementBatch

        db.session.flush()
        entries = db.session.scalars(select(EarningEntry).join(
            CareOrder, CareOrder.id == EarningEntry.order_id).where(
            EarningEntry.caregiver_id == self.caregiver.id, EarningEntry.status == "pending",
            CareOrder.status != "disputed").order_by(EarningEntry.id)).all()
        if not entries:
            return
        first = to_local(min(entry.due_at for entry in entries))
        run = datetime.combine(first.date() - timedelta(days=first.weekday()), time(2),
                               self.now.tzinfo)
        while run <= self.now:
            due = [e for e in entries if e.status == "pending" and to_local(e.due_at) <= run]
            year, week, _ = run.isocalendar()
            key = f"{year}-W{week:02d}"
            if due and db.session.scalar(select(SettlementBatch.id).where(
                    SettlementBatch.caregiver_id == self.caregiver.id,
                    SettlementBatch.period_key == key)) is None:
                batch = SettlementBatch(caregiver_id=self.caregiver.id, period_key=key,
                                        entries=len(due), net_fen=sum(e.net_fen for e in due),
                                        settled_at=_utc(run), created_at=_utc(run),
                                        updated_at=_utc(run))
                db.session.add(batch)
                db.session.flush()
                for entry in due:
                    entry.settle(batch.id, _utc(run))
                    entry.updated_at = _utc(run)
            run += timedelta(days=7)

    def tell_simulator(self):
        """The WeChat Pay simulator learns the demo payments (and their refunds), so a refund
        of a demo order (a cancel, a dispute) goes through it like any other. Its state lives
        in Redis under sim:pay:* (app/wechat/simulator/pay.py)."""
        if not current_app.config.get("WECHAT_SIMULATOR"):
            return
        from app.wechat.simulator import pay as simulator

        notify_url = current_app.config.get("WECHATPAY_NOTIFY_URL") or \
            "http://127.0.0.1/wechat/pay/notify"
        for payment, refunds in self.paid:
            paid_at = to_local(payment.paid_at).replace(microsecond=0).isoformat()
            params = {"appid": simulator._appid(), "mchid": simulator._mchid(),
                      "description": payment.description, "out_trade_no": payment.out_trade_no,
                      "notify_url": notify_url, "amount_total": payment.amount_fen,
                      "openid": payment.payer_openid,
                      "time_expire": to_local(payment.expires_at).isoformat(),
                      "attach": f"care_order:{payment.order_id}"}
            simulator._store(simulator._tx_key(payment.out_trade_no), {
                **params, "params": params, "trade_state": "REFUND" if refunds else "SUCCESS",
                "prepay_id": payment.prepay_id,
                "created_at": to_local(payment.created_at).isoformat(),
                "transaction_id": payment.transaction_id, "success_time": paid_at,
                "closed_at": None, "refunds": [r.out_refund_no for r in refunds],
                "notifications": []})
            connection = simulator._conn()
            connection.set(f"sim:pay:txid:{payment.transaction_id}", payment.out_trade_no,
                           ex=simulator.STATE_TTL)
            connection.set(f"sim:pay:prepay:{payment.prepay_id}", payment.out_trade_no,
                           ex=simulator.STATE_TTL)
            for refund in refunds:
                simulator._store(simulator._refund_key(refund.out_refund_no), {
                    "out_refund_no": refund.out_refund_no, "refund": refund.amount_fen,
                    "total": payment.amount_fen, "reason": refund.reason, "notify_url": None,
                    "out_trade_no": payment.out_trade_no, "mchid": params["mchid"],
                    "transaction_id": payment.transaction_id, "refund_id": refund.refund_id,
                    "status": "SUCCESS",
                    "create_time": to_local(refund.created_at).replace(microsecond=0).isoformat(),
                    "success_time": to_local(refund.succeeded_at).replace(
                        microsecond=0).isoformat(),
                    "notifications": []})
