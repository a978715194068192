"""The public caregiver marketplace: search, detail, photo. No login needed.

Listed = caregiver status "approved" and the user not banned (users.status "active"); nothing
else is ever shown, and what is shown never includes the phone, the full name, document
numbers or files (qualifications only as verified badges).

Search is one SQL statement for the page's ids and the total (ids and sort keys only, with
COUNT(*) OVER ()), then one load by id of the page's display columns and one batch load each
for its skills, districts, prices and badges. With a free-time window the statement returns
every candidate whose day windows cover it (no LIMIT), busy_caregiver_ids drops the busy ones
in one range scan, and the page is sliced in Python. The answer is the response body's JSON
bytes, which go through the Redis cache (cache.py): every check that needs no database runs
before the cache, and a refusal is never cached.

The SQL search and the public detail read through `reader()` (the read replica when one is
configured, app/common/replica.py): they decide no write. The in-process index stays on the
primary: it is patched by the ids each commit changed, and a lagging replica would make it
miss a change for good.
"""
import math
from datetime import date, datetime, timedelta

from flask import g
from sqlalchemy import and_, exists, func, literal, or_, select

from app.caregivers.models import (CARE_TYPES, PRICE_UNITS, Caregiver, CaregiverDistrict,
                                   CaregiverHospital, CaregiverPrice, CaregiverSkill, CareSkill)
from app.common.masking import mask_name
from app.common.replica import reader
from app.common.time import LOCAL_TZ, local_today, to_local, utcnow
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.files.models import StoredFile
from app.hospitals.models import Hospital
from app.marketplace import cache
from app.marketplace.live_index import live_index
from app.users.models import User
from app.caregivers.ownership import CaregiverNotFound, listed_clause  # noqa: F401  (views name it)

NEXT_FREE_DAYS = 7
NEXT_FREE_MAX = 20
EARTH_RADIUS_KM = 6371.0088



class PhotoNotFound(NotFound):
    code = "caregiver_photo_not_found"
    message = "该护工暂无照片"


class HospitalNotFound(NotFound):
    code = "hospital_not_found"
    message = "医院不存在"


class UnknownSkill(ValidationFailed):
    code = "unknown_skill"
    message = "技能不存在"


class InvalidAgeRange(ValidationFailed):
    code = "invalid_age_range"
    message = "最小年龄不能大于最大年龄"


class CareTypeRequired(ValidationFailed):
    code = "care_type_required"
    message = "按价格筛选或排序时需指定服务类型"


class InvalidPriceRange(ValidationFailed):
    code = "invalid_price_range"
    message = "最低价格不能高于最高价格"


class TimeRangeIncomplete(ValidationFailed):
    code = "time_range_incomplete"
    message = "开始时间和结束时间需同时提供"


class LocationIncomplete(ValidationFailed):
    code = "location_incomplete"
    message = "经度和纬度需同时提供"


class LocationRequired(ValidationFailed):
    code = "location_required"
    message = "按距离排序需提供位置(经纬度或医院)"


def _refuse(error_class, field: str):
    return error_class(details={field: [error_class.message]})


# ---- search ----------------------------------------------------------------------------------

def search_caregivers(*, skills=(), skills_match: str = "any", min_experience: int | None = None,
                      gender: str | None = None, min_age: int | None = None,
                      max_age: int | None = None, care_type: str | None = None,
                      min_price_fen: int | None = None, max_price_fen: int | None = None,
                      city_code: str | None = None, district_code: str | None = None,
                      hospital_id: int | None = None, start: datetime | None = None,
                      end: datetime | None = None, min_rating: float | None = None,
                      accepts_urgent: bool | None = None, night_service: bool | None = None,
                      lat: float | None = None, lng: float | None = None, sort: str = "rating",
                      page: int = 1, page_size: int = 20) -> dict:
    """A page of listed caregivers matching every filter given, in `sort` order (ties by id),
    as the JSON bytes of the response body ({"items", "page", "page_size", "total"} dumped with
    page_schema(PublicCaregiverSchema)). A care_type limits the answer to caregivers offering
    it (and prices filter and sort it)."""
    from app.availability.services import check_query_window

    if min_age is not None and max_age is not None and min_age > max_age:
        raise _refuse(InvalidAgeRange, "min_age")
    if care_type is None and (min_price_fen is not None or max_price_fen is not None
                              or sort in ("price_asc", "price_desc")):
        raise _refuse(CareTypeRequired, "care_type")
    if min_price_fen is not None and max_price_fen is not None and min_price_fen > max_price_fen:
        raise _refuse(InvalidPriceRange, "min_price_fen")
    if (start is None) != (end is None):
        raise _refuse(TimeRangeIncomplete, "end" if end is None else "start")
    if start is not None:
        start, end = _aware(start), _aware(end)
        check_query_window(start, end)
    if (lat is None) != (lng is None):
        raise _refuse(LocationIncomplete, "lng" if lng is None else "lat")
    if sort == "distance" and lat is None and hospital_id is None:
        raise _refuse(LocationRequired, "lat")
    page_size = min(page_size, 50)
    query = {
        "skills": sorted(set(skills or ())), "skills_match": skills_match,
        "min_experience": min_experience, "gender": gender, "min_age": min_age,
        "max_age": max_age, "care_type": care_type, "min_price_fen": min_price_fen,
        "max_price_fen": max_price_fen, "city_code": city_code, "district_code": district_code,
        "hospital_id": hospital_id,
        "start": None if start is None else start.astimezone(LOCAL_TZ).isoformat(),
        "end": None if end is None else end.astimezone(LOCAL_TZ).isoformat(),
        "min_rating": min_rating, "accepts_urgent": bool(accepts_urgent),
        "night_service": bool(night_service), "lat": lat, "lng": lng, "sort": sort,
        "page": page, "page_size": page_size,
    }
    known = cache.search_data_version()
    index = None if known is None else live_index.serving(*known)
    if index is not None:
        g.search_source, g.search_version = "index", known
        return _index_page(index, query, start, end)
    g.search_source = "database"
    return cache.cached_search(query, lambda: _search(query, start, end))


def _index_page(index, query: dict, start, end) -> bytes:
    offset = (query["page"] - 1) * query["page_size"]
    positions, price, origin = index.match(query, start, end, index.today,
                                           limit=offset + query["page_size"])
    shown = positions[offset:offset + query["page_size"]]
    ids = index.ids[shown].tolist()
    missing = [i for i in ids if i not in index.cards]
    if missing:  # rendered at load; only a caregiver patched in a moment ago can miss
        index.cards.update(public_cards(missing, index.today))
    prices = [None] * len(ids) if price is None else price[shown].tolist()
    return _page_body(ids, prices, index.cards, origin, query, len(positions))


def _page_body(ids, prices, cards: dict, origin, query: dict, total: int) -> bytes:
    """The response body (page_schema(PublicCaregiverSchema)): the stored card bytes of each id
    (public_cards) with the wanted price and the distance put in front, so a page costs byte
    joins, not a schema dump and a JSON encode of every card."""
    parts = [b'{"items":[']
    origin = None if origin is None else _Origin(origin)
    for caregiver_id, price_fen in zip(ids, prices):
        card, point = cards[caregiver_id]
        parts.append(b'{"distance_km":%s,"price_fen":%s,' % (
            b"null" if origin is None or point is None else b"%.1f" % origin.km(point),
            b"null" if price_fen is None else b"%d" % int(price_fen)))
        parts.append(card)
        parts.append(b"},")
    if len(parts) > 1:
        parts[-1] = b"}"
    parts.append(b'],"page":%d,"page_size":%d,"total":%d}\n' % (
        query["page"], query["page_size"], total))
    return b"".join(parts)


def public_cards(ids: list[int], today: date, session=None) -> dict:
    """id → (card bytes, point) of each caregiver in `ids` (listed or not: the caller chose
    them). The card bytes are the public card dumped with PublicCaregiverSchema as UTF-8 JSON
    members without the enclosing braces and without the two members that depend on the
    search (price_fen, distance_km), which _page_body puts in front; the point is
    _Origin.point(latitude, longitude)."""
    from flask import current_app

    from app.marketplace.schemas import PublicCaregiverSchema

    if not ids:
        return {}
    session = session if session is not None else db.session
    schema = _CARD_SCHEMA.get("schema")
    if schema is None:
        schema = _CARD_SCHEMA["schema"] = PublicCaregiverSchema(
            exclude=("price_fen", "distance_km"))
    extras = _page_extras(ids, session)
    cards = {}
    for row in session.execute(select(
            Caregiver.id, Caregiver.name, Caregiver.gender, Caregiver.birth_date,
            Caregiver.years_experience, Caregiver.city_code, Caregiver.latitude,
            Caregiver.longitude, Caregiver.rating_avg, Caregiver.rating_count,
            Caregiver.completed_orders, Caregiver.accepts_urgent, Caregiver.night_service,
            Caregiver.photo_file_id).where(Caregiver.id.in_(ids))):
        text = current_app.json.dumps(schema.dump(_card(row, extras, today)))
        cards[row.id] = (text[1:-1].encode(), _Origin.point(row.latitude, row.longitude))
    return cards


_CARD_SCHEMA: dict = {}


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=LOCAL_TZ) if value.tzinfo is None else value


def birth_date_bound(today: date, years: int) -> date:
    """The latest birth date of someone at least `years` old today (29 Feb → 28 Feb)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def age_on(birth: date | None, today: date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def refuse_unknown_skills(asked, known) -> None:
    unknown = [code for code in asked if code not in known]
    if unknown:
        message = f"技能不存在: {', '.join(unknown)}"
        raise UnknownSkill(message, details={"skills": [message]})


def search_origin(query: dict, hospital: tuple | None) -> tuple | None:
    """Where distances are measured from: the given point, else (for sort=distance) the
    hospital's coordinates. `hospital` is (is_active, latitude, longitude) of query's
    hospital_id, None when there is no such hospital; an unknown or inactive one is a 404."""
    origin = None if query["lat"] is None else (query["lat"], query["lng"])
    if query["hospital_id"] is None:
        return origin
    if hospital is None or not hospital[0]:
        raise HospitalNotFound(details={"hospital_id": [HospitalNotFound.message]})
    if origin is None and query["sort"] == "distance":
        if hospital[1] is None or hospital[2] is None:
            raise LocationRequired("该医院暂无位置信息,请提供经纬度",
                                   details={"lat": ["该医院暂无位置信息,请提供经纬度"]})
        origin = (hospital[1], hospital[2])
    return origin


def _search(query: dict, start: datetime | None, end: datetime | None) -> dict:
    session = reader()
    if query["skills"]:
        known = set(session.scalars(select(CareSkill.code).where(
            CareSkill.code.in_(query["skills"]))))
        refuse_unknown_skills(query["skills"], known)
    hospital = None
    if query["hospital_id"] is not None:
        row = session.get(Hospital, query["hospital_id"])
        hospital = None if row is None else (row.is_active, row.latitude, row.longitude)
    origin = search_origin(query, hospital)

    today = local_today()
    price = None
    conditions = [listed_clause()]
    statement_from = select(Caregiver.id).join(User, User.id == Caregiver.user_id)
    if query["care_type"]:
        price = CaregiverPrice.__table__.alias("wanted_price")
        price_conditions = [price.c.caregiver_id == Caregiver.id,
                            price.c.care_type == query["care_type"]]
        if query["min_price_fen"] is not None:
            price_conditions.append(price.c.price_fen >= query["min_price_fen"])
        if query["max_price_fen"] is not None:
            price_conditions.append(price.c.price_fen <= query["max_price_fen"])
        statement_from = statement_from.join(price, and_(*price_conditions))
    if query["skills"]:
        def has(code):
            return exists().where(CaregiverSkill.caregiver_id == Caregiver.id,
                                  CaregiverSkill.skill_code == code)
        combine = and_ if query["skills_match"] == "all" else or_
        conditions.append(combine(*(has(code) for code in query["skills"])))
    if query["min_experience"] is not None:
        conditions.append(Caregiver.years_experience >= query["min_experience"])
    if query["gender"]:
        conditions.append(Caregiver.gender == query["gender"])
    if query["min_age"] is not None:
        conditions.append(Caregiver.birth_date <= birth_date_bound(today, query["min_age"]))
    if query["max_age"] is not None:
        conditions.append(Caregiver.birth_date > birth_date_bound(today, query["max_age"] + 1))
    if query["city_code"]:
        conditions.append(Caregiver.city_code == query["city_code"])
    if query["district_code"]:
        conditions.append(exists().where(CaregiverDistrict.caregiver_id == Caregiver.id,
                                         CaregiverDistrict.district_code == query["district_code"]))
    if query["hospital_id"] is not None:
        conditions.append(exists().where(CaregiverHospital.caregiver_id == Caregiver.id,
                                         CaregiverHospital.hospital_id == query["hospital_id"]))
    if query["min_rating"] is not None:
        conditions.append(Caregiver.rating_avg >= query["min_rating"])
    if query["accepts_urgent"]:
        conditions.append(Caregiver.accepts_urgent.is_(True))
    if query["night_service"]:
        conditions.append(Caregiver.night_service.is_(True))
    if start is not None:
        from app.availability.services import working_during_clause
        # the busy-block half of free_during_clause is applied below, on the candidate ids
        conditions.append(working_during_clause(Caregiver.id, start, end))

    order = _order_by(query["sort"], price, origin)
    price_column = price.c.price_fen if price is not None else literal(None)
    # ids and sort keys only (a deferred join): the page's display columns, the encrypted name
    # among them, are loaded by id afterwards instead of riding through the sort of every match
    ranked = (statement_from.add_columns(price_column.label("wanted_price_fen"))
              .where(*conditions).order_by(*order))
    page, page_size = query["page"], query["page_size"]
    offset = (page - 1) * page_size
    if start is not None:
        from app.availability.services import busy_caregiver_ids
        # every candidate in order (no LIMIT), then one range scan for the busy ones: far
        # cheaper than a correlated NOT EXISTS per candidate over its whole busy history
        candidates = session.execute(ranked).all()
        busy = busy_caregiver_ids([row.id for row in candidates], start, end, session=session)
        free = [row for row in candidates if row.id not in busy]
        total = len(free)
        ranked_rows = free[offset:offset + page_size]
    else:
        ranked_rows = session.execute(ranked.add_columns(func.count().over().label("total"))
                                         .limit(page_size).offset(offset)).all()
        if ranked_rows:
            total = ranked_rows[0].total
        elif page == 1:
            total = 0
        else:  # past the last page: the window function had no row to ride on
            total = session.scalar(select(func.count()).select_from(
                statement_from.where(*conditions).subquery()))
    ids = [row.id for row in ranked_rows]
    cards = public_cards(ids, today, session)
    # a caregiver gone between the two statements is not possible in one transaction; never
    # a KeyError either
    shown = [(row.id, row.wanted_price_fen) for row in ranked_rows if row.id in cards]
    return _page_body([i for i, _ in shown], [p for _, p in shown], cards, origin, query, total)


def _order_by(sort: str, price, origin):
    if sort == "rating":
        return [Caregiver.rating_avg.is_(None), Caregiver.rating_avg.desc(), Caregiver.id]
    if sort == "price_asc":
        return [price.c.price_fen, Caregiver.id]
    if sort == "price_desc":
        return [price.c.price_fen.desc(), Caregiver.id]
    if sort == "experience":
        return [Caregiver.years_experience.desc(), Caregiver.id]
    if sort == "orders":
        return [Caregiver.completed_orders.desc(), Caregiver.id]
    # distance: the equirectangular approximation orders like the true distance at city scale;
    # cos(lat0) is computed here so the database only adds and multiplies
    lat0, lng0 = origin
    scale = math.cos(math.radians(lat0))
    d_lat = Caregiver.latitude - lat0
    d_lng = (Caregiver.longitude - lng0) * scale
    return [or_(Caregiver.latitude.is_(None), Caregiver.longitude.is_(None)),
            d_lat * d_lat + d_lng * d_lng, Caregiver.id]


class _Origin:
    """A distance origin, its trigonometry done once per page; km() is the great-circle
    (haversine) distance to a point, shown to 0.1 km ("%.1f" rounds as round(km, 1) does:
    both are the correctly rounded decimal). A point's own trigonometry is done once, when its
    card is rendered (point())."""

    __slots__ = ("lat", "lng", "cos_lat")

    def __init__(self, origin):
        self.lat, self.lng = map(math.radians, origin)
        self.cos_lat = math.cos(self.lat)

    @staticmethod
    def point(latitude, longitude):
        """(latitude and longitude in radians, cos of the latitude), or None without both."""
        if latitude is None or longitude is None:
            return None
        lat = math.radians(latitude)
        return lat, math.radians(longitude), math.cos(lat)

    def km(self, point) -> float:
        lat2, lng2, cos_lat2 = point
        h = (math.sin((lat2 - self.lat) / 2) ** 2
             + self.cos_lat * cos_lat2 * math.sin((lng2 - self.lng) / 2) ** 2)
        return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _page_extras(ids: list[int], session=None) -> dict:
    """Skills, districts, prices and badges of the page's caregivers: one query each."""
    from app.qualifications.services import verified_badges

    session = session if session is not None else db.session
    extras = {i: {"skills": [], "district_codes": [], "prices": []} for i in ids}
    if not ids:
        return extras
    for caregiver_id, code, name in session.execute(
            select(CaregiverSkill.caregiver_id, CareSkill.code, CareSkill.name)
            .join(CareSkill, CareSkill.code == CaregiverSkill.skill_code)
            .where(CaregiverSkill.caregiver_id.in_(ids))
            .order_by(CaregiverSkill.caregiver_id, CareSkill.sort_order, CareSkill.code)):
        extras[caregiver_id]["skills"].append({"code": code, "name": name})
    for caregiver_id, code in session.execute(
            select(CaregiverDistrict.caregiver_id, CaregiverDistrict.district_code)
            .where(CaregiverDistrict.caregiver_id.in_(ids))
            .order_by(CaregiverDistrict.caregiver_id, CaregiverDistrict.district_code)):
        extras[caregiver_id]["district_codes"].append(code)
    care_rank = {care_type: rank for rank, care_type in enumerate(CARE_TYPES)}
    prices = session.execute(
        select(CaregiverPrice.caregiver_id, CaregiverPrice.care_type, CaregiverPrice.price_fen)
        .where(CaregiverPrice.caregiver_id.in_(ids))).all()
    for caregiver_id, care_type, price_fen in sorted(
            prices, key=lambda p: (p[0], care_rank.get(p[1], 99), p[1])):
        name, unit = CARE_TYPES.get(care_type, (care_type, None))
        extras[caregiver_id]["prices"].append({
            "care_type": care_type, "name": name, "unit": unit,
            "unit_name": PRICE_UNITS.get(unit), "price_fen": price_fen})
    badges = verified_badges(ids, session=session)
    for caregiver_id in ids:
        extras[caregiver_id]["badges"] = list(badges.get(caregiver_id, []))
    return extras


def _card(row, extras: dict, today: date) -> dict:
    """The public card of a caregiver; `row` has the Caregiver columns by name."""
    extra = extras[row.id]
    rating = row.rating_avg
    return {
        "id": row.id, "display_name": mask_name(row.name), "gender": row.gender,
        "age": age_on(row.birth_date, today), "years_experience": row.years_experience,
        "skills": extra["skills"], "city_code": row.city_code,
        "district_codes": extra["district_codes"],
        "rating_avg": None if rating is None else round(rating, 2),
        "rating_count": row.rating_count or 0, "completed_orders": row.completed_orders or 0,
        "accepts_urgent": bool(row.accepts_urgent), "night_service": bool(row.night_service),
        "prices": extra["prices"], "price_fen": None, "badges": extra["badges"],
        "photo_url": (None if row.photo_file_id is None
                      else f"/api/v1/caregivers/{row.id}/photo"),
        "distance_km": None,
    }


# ---- detail ----------------------------------------------------------------------------------

def _listed(caregiver_id: int, session=None) -> Caregiver:
    session = session if session is not None else db.session
    caregiver = session.execute(
        select(Caregiver).join(User, User.id == Caregiver.user_id)
        .where(Caregiver.id == caregiver_id, listed_clause())).scalar_one_or_none()
    if caregiver is None:
        raise CaregiverNotFound()
    return caregiver


def get_caregiver(*, caregiver_id: int, now: datetime | None = None) -> dict:
    """A listed caregiver's public profile with its next free windows (today and the 6 days after, at most 20),
    its latest reviews and how often each review tag was picked."""
    from app.availability.services import free_windows
    from app.care_reviews.services import recent_reviews, review_summary

    session = reader()
    caregiver = _listed(caregiver_id, session)
    today = local_today()
    card = _card(caregiver, _page_extras([caregiver.id], session), today)
    hospitals = session.execute(
        select(Hospital.id, Hospital.name)
        .join(CaregiverHospital, CaregiverHospital.hospital_id == Hospital.id)
        .where(CaregiverHospital.caregiver_id == caregiver.id, Hospital.is_active.is_(True))
        .order_by(Hospital.id)).all()
    start = to_local(now or utcnow()).replace(second=0, microsecond=0)
    # 7 calendar days counting today, so the list never ends in a sliver of the 8th morning.
    end = datetime.combine(start.date() + timedelta(days=NEXT_FREE_DAYS), datetime.min.time(),
                           tzinfo=LOCAL_TZ)
    windows = free_windows(caregiver.id, start, end)
    reviews = review_summary(caregiver)
    return {
        **card,
        "bio": caregiver.bio,
        "work_history": [_work_entry(entry) for entry in (caregiver.work_history or [])
                         if isinstance(entry, dict)],
        "hospitals": [{"id": h.id, "name": h.name} for h in hospitals],
        "rating": {"avg": card["rating_avg"], "count": card["rating_count"],
                   "distribution": reviews["distribution"]},
        "recent_reviews": recent_reviews(caregiver.id),
        "review_tags": reviews["tags"],
        "next_free_windows": [
            {"start": to_local(a).isoformat(timespec="seconds"),
             "end": to_local(b).isoformat(timespec="seconds")}
            for a, b in windows[:NEXT_FREE_MAX]],
    }


def _work_entry(entry: dict) -> dict:
    return {key: (None if entry.get(key) is None else str(entry.get(key)))
            for key in ("start", "end", "employer", "role")}


def get_photo(*, caregiver_id: int) -> tuple[str, bytes]:
    """(content type, bytes) of a listed caregiver's photo."""
    from app.files.storage import storage

    caregiver = _listed(caregiver_id)
    record = (None if caregiver.photo_file_id is None
              else db.session.get(StoredFile, caregiver.photo_file_id))
    if record is None or not record.content_type.startswith("image/"):
        raise PhotoNotFound()
    try:
        data = storage().read(record.storage_key)
    except (FileNotFoundError, ValueError):
        raise PhotoNotFound() from None
    return record.content_type, data
