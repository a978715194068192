"""A random marketplace (caregivers, hospitals, weekly windows, busy blocks) written through
the models and the availability services, and the same rows kept as plain Python so a
brute-force filter can be compared with the search."""
import os
import random
from datetime import date, datetime, timedelta

import pytest

from app.common.time import LOCAL_TZ, local_today
from app.extensions import db

API = "/api/v1/caregivers"
SKILLS = ["post_surgery", "elderly", "disability", "postpartum", "escort", "rehabilitation",
          "dementia", "pediatric", "oncology", "stroke"]
CARE_TYPES = ["full_day", "day_shift", "night_shift", "hourly", "escort"]
CITIES = {"110100": ["110101", "110102", "110105"], "310100": ["310101", "310104"]}


def grid(base: float, rng: random.Random) -> float:
    """A coordinate exactly representable in single precision (MariaDB's FLOAT), so the
    database and Python compute bit-identical distances."""
    return base + rng.randrange(0, 256) / 256


def birth_dates(today: date, rng: random.Random):
    """Random birth dates plus the edges of the age filter: a birthday today, tomorrow,
    yesterday, and 29 February."""
    def years_ago(years, shift=0):
        try:
            day = today.replace(year=today.year - years)
        except ValueError:
            day = today.replace(year=today.year - years, day=28)
        return day + timedelta(days=shift)
    edges = [years_ago(40), years_ago(40, 1), years_ago(40, -1), years_ago(18), years_ago(70),
             years_ago(69, 1), date(1980, 2, 29), date(1996, 2, 29), None]
    return edges + [date(rng.randint(1950, 2006), rng.randint(1, 12), rng.randint(1, 28))
                    for _ in range(60)]


def build_marketplace(app, seed: int = 20260501, count: int = 40,
                      off_grid_busy: bool = False) -> dict:
    """Write `count` caregivers (every status, some banned users) with random attributes,
    3 hospitals, weekly windows and busy blocks (on the half-hour grid, as orders are; with
    off_grid_busy a third of their edges are off it). Returns the rows as plain dicts."""
    from app.availability.models import WeeklyWindow
    from app.availability.services import add_busy_block, rebuild_day_windows
    from app.caregivers.models import (Caregiver, CaregiverDistrict, CaregiverHospital,
                                       CaregiverPrice, CaregiverSkill)
    from app.hospitals.models import Hospital
    from app.users.models import User

    rng = random.Random(seed)
    today = local_today()
    births = birth_dates(today, rng)
    world = {"today": today, "caregivers": [], "hospitals": []}
    with app.app_context():
        for index in range(3):
            hospital = Hospital(code=f"MH{index}", name=f"测试医院{index}", level="3A",
                                province_code="110000", city_code="110100",
                                district_code="110101", address="测试地址", phone="010-1",
                                latitude=grid(39.5, rng), longitude=grid(116.0, rng))
            db.session.add(hospital)
            db.session.flush()
            world["hospitals"].append({"id": hospital.id, "lat": hospital.latitude,
                                       "lng": hospital.longitude})
        hospital_ids = [h["id"] for h in world["hospitals"]]
        for index in range(count):
            user_status = "banned" if rng.random() < 0.08 else "active"
            user = User(openid=f"mk-{index}-{os.urandom(4).hex()}", status=user_status)
            db.session.add(user)
            db.session.flush()
            status = rng.choices(["approved", "pending_review", "suspended", "rejected", "draft"],
                                 [0.75, 0.07, 0.08, 0.05, 0.05])[0]
            city = rng.choice(list(CITIES))
            has_location = rng.random() < 0.85
            row = {
                "user_status": user_status, "status": status,
                "gender": rng.choice(["male", "female", "female", None]),
                "birth_date": births[index % len(births)] if index < 9 else rng.choice(births),
                "years_experience": rng.randint(0, 30),
                "city_code": city,
                "districts": sorted(rng.sample(CITIES[city], rng.randint(0, 2))),
                "hospitals": sorted(rng.sample(hospital_ids, rng.randint(0, 2))),
                "skills": sorted(rng.sample(SKILLS, rng.randint(0, 4))),
                "prices": {t: rng.randrange(5, 60) * 1000
                           for t in rng.sample(CARE_TYPES, rng.randint(0, 4))},
                "rating_avg": (None if rng.random() < 0.25
                               else round(rng.randint(10, 50) / 10, 1)),
                "completed_orders": rng.randint(0, 6),
                "accepts_urgent": rng.random() < 0.4,
                "night_service": rng.random() < 0.4,
                "lat": grid(39.5, rng) if has_location else None,
                "lng": grid(116.0, rng) if has_location else None,
            }
            caregiver = Caregiver(
                user_id=user.id, status=status, name="测试护工", gender=row["gender"],
                birth_date=row["birth_date"], years_experience=row["years_experience"],
                city_code=city, latitude=row["lat"], longitude=row["lng"],
                rating_avg=row["rating_avg"], rating_count=0 if row["rating_avg"] is None else 3,
                completed_orders=row["completed_orders"], accepts_urgent=row["accepts_urgent"],
                night_service=row["night_service"], night_surcharge_fen=0, review_round=1,
                suspension_count=0)
            caregiver.skills = [CaregiverSkill(skill_code=c) for c in row["skills"]]
            caregiver.districts = [CaregiverDistrict(district_code=c) for c in row["districts"]]
            caregiver.hospitals = [CaregiverHospital(hospital_id=h) for h in row["hospitals"]]
            caregiver.prices = [CaregiverPrice(care_type=t, price_fen=p)
                                for t, p in row["prices"].items()]
            db.session.add(caregiver)
            db.session.flush()
            row["id"] = caregiver.id
            row["weekly"] = _random_weekly(rng)
            for weekday, start, end in row["weekly"]:
                db.session.add(WeeklyWindow(caregiver_id=caregiver.id, weekday=weekday,
                                            start_minute=start, end_minute=end))
            row["busy"] = []
            for _ in range(rng.choice([0, 0, 1, 2, 4])):
                start = (datetime.combine(today, datetime.min.time(), tzinfo=LOCAL_TZ)
                         + timedelta(days=rng.randint(1, 9), minutes=30 * rng.randint(0, 47)))
                end = start + timedelta(minutes=30 * rng.randint(1, 60))
                if off_grid_busy:
                    start += timedelta(minutes=rng.choice((0, 0, 0, 0, 10, 20)))
                    end += timedelta(minutes=rng.choice((0, 0, 0, 0, 5, 25)))
                add_busy_block(caregiver.id, start, end, ref_type="manual", ref_id=None)
                row["busy"].append((start, end))
            world["caregivers"].append(row)
        db.session.commit()
        rebuild_day_windows([row["id"] for row in world["caregivers"]])
        db.session.remove()
    return world


def _random_weekly(rng: random.Random):
    """Weekly windows [(weekday, start, end)] on the 30-minute grid: round the clock, day
    hours, nights across midnight, split days, or nothing."""
    kind = rng.choice(["always", "days", "nights", "split", "sparse", "none"])
    windows = []
    for weekday in range(7):
        if kind == "always":
            windows.append((weekday, 0, 1440))
        elif kind == "days":
            windows.append((weekday, 480, 1200))
        elif kind == "nights":  # 20:00 → 08:00 the next morning: two windows
            windows += [(weekday, 1200, 1440), (weekday, 0, 480)]
        elif kind == "split":
            windows += [(weekday, 420, 720), (weekday, 780, 1080)]
        elif kind == "sparse" and rng.random() < 0.5:
            start = 30 * rng.randint(0, 40)
            windows.append((weekday, start, min(1440, start + 30 * rng.randint(1, 16))))
    return windows


# ---- the brute-force reference ---------------------------------------------------------------

def working_intervals(row, today: date, days: int = 60):
    """The caregiver's working time over the materialised horizon, merged (touching joins)."""
    spans = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        midnight = datetime.combine(day, datetime.min.time(), tzinfo=LOCAL_TZ)
        for weekday, start, end in row["weekly"]:
            if weekday == day.weekday():
                spans.append((midnight + timedelta(minutes=start),
                              midnight + timedelta(minutes=end)))
    spans.sort()
    merged = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def is_free(row, today: date, start: datetime, end: datetime) -> bool:
    if any(b_start < end and start < b_end for b_start, b_end in row["busy"]):
        return False
    if "working" not in row:
        row["working"] = working_intervals(row, today)
    return any(w_start <= start and end <= w_end for w_start, w_end in row["working"])


def age(birth: date | None, today: date):
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


@pytest.fixture
def marketplace(app):
    return build_marketplace(app)
