"""Demo data for `make run`. Every row is looked up by a natural key first, so running it
again adds nothing (hospitals by code, schedules by doctor, date and period: a run on a later
day adds only the days that have come into the booking window)."""
import random
from datetime import date, time

from flask import current_app
from sqlalchemy import insert, select

from app.common.time import to_local
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
    if not lines:
        lines.append("demo data already present; nothing added")
    return lines


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
    added, last_day = _seed_schedules(now)
    if added:
        lines.append(f"added {added} demo schedules (through {last_day.isoformat()})")
    if created or added:
        cache.invalidate_catalogue()
    return lines


def _seed_catalogue() -> dict:
    codes = [row[0] for row in DEMO_HOSPITALS]
    present = set(db.session.scalars(select(Hospital.code).where(Hospital.code.in_(codes))))
    counts = {"hospitals": 0, "departments": 0, "doctors": 0}
    for code, name, level, region, address, phone, window in DEMO_HOSPITALS:
        if code in present:
            continue
        rng = random.Random(f"demo-hospital:{code}")
        days_ahead, release, stop, cancel_days, cancel = window
        hospital = Hospital(
            code=code, name=name, level=level, province_code=region[0], city_code=region[1],
            district_code=region[2], address=address, phone=phone, is_active=True,
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
