"""An in-process search index of listed caregivers: the filters and sorts of
services._search over numpy arrays, so a search whose query string never repeats costs tens of
microseconds instead of an SQL round trip. NOT wired into the serving path yet.

One row per listed caregiver (same rule as services.listed_clause), in id order. Working time
is a 48-bit mask per caregiver per local day (availability_day_windows rows are on the
half-hour grid; a row [s, e) sets bits s//30 .. e//30-1); rows off that grid (not writable
through the API) are kept as they are and checked exactly for their caregivers. Busy blocks are
one array sorted by start (UTC epoch microseconds), searched by range with the longest block's
length as the bound.

The answer must equal _search's exactly (tests/marketplace/test_index.py compares both over
random data): same NULL rules, same tiebreak by id, same float arithmetic for distances.
"""
import math
from datetime import date, datetime, timedelta
from functools import partial

import numpy as np
from sqlalchemy import func, literal, literal_column, select

from app.availability.models import BusyBlock, DayWindow
from app.caregivers.models import (CARE_TYPES, Caregiver, CaregiverDistrict, CaregiverHospital,
                                   CaregiverPrice, CaregiverSkill, CareSkill)
from app.common.time import utcnow
from app.hospitals.models import Hospital
from app.users.models import User

SLOT_MINUTES = 30
SLOTS = 48
FULL_DAY = np.uint64((1 << SLOTS) - 1)
_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)
_ONE = np.uint64(1)


def _micros(naive_utc: datetime) -> int:
    return (naive_utc - _EPOCH) // _US


def _datetimes_to_micros(values: list) -> np.ndarray:
    return np.array(values, dtype="datetime64[us]").astype(np.int64)


def _slot_mask(low: int, high: int) -> np.uint64:
    """Bits of every half-hour slot touched by [low, high) minutes (low < high)."""
    first, last = low // SLOT_MINUTES, -(-high // SLOT_MINUTES)
    return np.uint64(((1 << last) - 1) ^ ((1 << first) - 1))


class SearchIndex:
    """Build with SearchIndex.load(session, today); query with search(query, start, end, today)."""

    @classmethod
    def load(cls, session, today: date, now: datetime | None = None) -> "SearchIndex":
        from flask import current_app

        self = cls()
        now = now or utcnow()
        self.loaded_at = now
        self.busy_max = timedelta(days=int(current_app.config["AVAILABILITY_BUSY_BLOCK_MAX_DAYS"]))
        rows = session.execute(
            select(Caregiver.id, Caregiver.gender, Caregiver.birth_date,
                   Caregiver.years_experience, Caregiver.city_code, Caregiver.rating_avg,
                   Caregiver.completed_orders, Caregiver.accepts_urgent, Caregiver.night_service,
                   Caregiver.latitude, Caregiver.longitude)
            .join(User, User.id == Caregiver.user_id)
            .where(Caregiver.status == "approved", User.status == "active")
            .order_by(Caregiver.id)).all()
        n = self.size = len(rows)
        self.ids = np.array([r.id for r in rows], dtype=np.int64)
        self.position = {int(i): p for p, i in enumerate(self.ids.tolist())}
        self.genders = {}
        self.gender = np.array([self.genders.setdefault(r.gender, len(self.genders))
                                if r.gender is not None else -1 for r in rows], dtype=np.int16)
        self.birth = np.array([r.birth_date.toordinal() if r.birth_date is not None else 0
                               for r in rows], dtype=np.int64)
        self.has_birth = np.array([r.birth_date is not None for r in rows], dtype=bool)
        self.experience = np.array([r.years_experience or 0 for r in rows], dtype=np.int64)
        self.has_experience = np.array([r.years_experience is not None for r in rows], dtype=bool)
        self.cities = {}
        self.city = np.array([self.cities.setdefault(r.city_code, len(self.cities))
                              if r.city_code is not None else -1 for r in rows], dtype=np.int32)
        self.rating = np.array([np.nan if r.rating_avg is None else r.rating_avg for r in rows],
                               dtype=np.float64)
        self.orders = np.array([r.completed_orders or 0 for r in rows], dtype=np.int64)
        self.urgent = np.array([bool(r.accepts_urgent) for r in rows], dtype=bool)
        self.night = np.array([bool(r.night_service) for r in rows], dtype=bool)
        self.lat = np.array([np.nan if r.latitude is None else r.latitude for r in rows],
                            dtype=np.float64)
        self.lng = np.array([np.nan if r.longitude is None else r.longitude for r in rows],
                            dtype=np.float64)
        self.no_location = np.isnan(self.lat) | np.isnan(self.lng)
        self.everyone = np.ones(n, dtype=bool)
        self._rating_order = None

        # skills: bit per care_skills row (sort_order, code); several words past 64 skills
        codes = session.scalars(select(CareSkill.code).order_by(CareSkill.sort_order,
                                                                CareSkill.code)).all()
        self.skill_bit = {code: bit for bit, code in enumerate(codes)}
        words = max(1, -(-len(codes) // 64))
        self.skills = np.zeros((words, n), dtype=np.uint64)
        for caregiver_id, code in session.execute(
                select(CaregiverSkill.caregiver_id, CaregiverSkill.skill_code)):
            p, bit = self.position.get(caregiver_id), self.skill_bit.get(code)
            if p is not None and bit is not None:
                self.skills[bit // 64, p] |= _ONE << np.uint64(bit % 64)

        self.districts = {}
        for caregiver_id, code in session.execute(
                select(CaregiverDistrict.caregiver_id, CaregiverDistrict.district_code)):
            p = self.position.get(caregiver_id)
            if p is not None:
                self.districts.setdefault(code, np.zeros(n, dtype=bool))[p] = True
        self.hospital_members = {}
        for caregiver_id, hospital_id in session.execute(
                select(CaregiverHospital.caregiver_id, CaregiverHospital.hospital_id)):
            p = self.position.get(caregiver_id)
            if p is not None:
                self.hospital_members.setdefault(hospital_id, np.zeros(n, dtype=bool))[p] = True
        self.hospitals = {h.id: (bool(h.is_active), h.latitude, h.longitude)
                          for h in session.execute(select(Hospital.id, Hospital.is_active,
                                                          Hospital.latitude, Hospital.longitude))}

        self.prices = {care_type: np.full(n, -1, dtype=np.int64) for care_type in CARE_TYPES}
        for caregiver_id, care_type, price_fen in session.execute(
                select(CaregiverPrice.caregiver_id, CaregiverPrice.care_type,
                       CaregiverPrice.price_fen)):
            p = self.position.get(caregiver_id)
            if p is not None and price_fen is not None:
                self.prices.setdefault(care_type, np.full(n, -1, dtype=np.int64))[p] = price_fen

        # working time: day d (from base_day) → uint64 mask per caregiver, read in chunks
        self.base_day = today - timedelta(days=2)  # a window may start a day before now
        last = session.scalar(select(func.max(DayWindow.day)).where(
            DayWindow.day >= self.base_day)) or self.base_day
        self.days = (last - self.base_day).days + 1
        self.working = np.zeros((self.days, n), dtype=np.uint64)
        base = np.datetime64(self.base_day, "D")
        off_grid = set()
        for chunk in _chunks(session, select(
                DayWindow.caregiver_id, DayWindow.day, DayWindow.start_minute,
                DayWindow.end_minute).where(DayWindow.day >= self.base_day)):
            pos = np.array([self.position.get(r[0], -1) for r in chunk], dtype=np.int64)
            day = (np.array([r[1] for r in chunk], dtype="datetime64[D]") - base).astype(np.int64)
            low = np.array([r[2] for r in chunk], dtype=np.int64)
            high = np.array([r[3] for r in chunk], dtype=np.int64)
            keep = (pos >= 0) & (high > low)
            pos, day, low, high = pos[keep], day[keep], low[keep], high[keep]
            off_grid.update(pos[(low % SLOT_MINUTES != 0) | (high % SLOT_MINUTES != 0)].tolist())
            first = (low // SLOT_MINUTES).astype(np.uint64)
            after = (-(-high // SLOT_MINUTES)).astype(np.uint64)
            masks = ((_ONE << after) - _ONE) ^ ((_ONE << first) - _ONE)
            np.bitwise_or.at(self.working, (day, pos), masks)
        # rows off the half-hour grid (not writable through the API): that caregiver's rows
        # are kept as they are and checked exactly, as the SQL clause does
        self.off_grid = {}
        if off_grid:
            ids = [int(self.ids[p]) for p in off_grid]
            for caregiver_id, day, low, high in session.execute(select(
                    DayWindow.caregiver_id, DayWindow.day, DayWindow.start_minute,
                    DayWindow.end_minute).where(DayWindow.day >= self.base_day,
                                                DayWindow.caregiver_id.in_(ids))):
                by_day = self.off_grid.setdefault(self.position[caregiver_id], {})
                by_day.setdefault((day - self.base_day).days, []).append((low, high))
        self.off_grid_positions = np.array(sorted(off_grid), dtype=np.int64)

        # busy blocks that can still matter (a window starts at most a day before now)
        owners, starts, ends = [], [], []
        if session.get_bind().dialect.name in ("mysql", "mariadb"):
            # microseconds since the epoch computed by the server: the driver parses integers
            # far faster than datetimes (TIMESTAMPDIFF on DATETIME ignores time zones)
            epoch = literal("1970-01-01 00:00:00")
            start_col = func.timestampdiff(literal_column("MICROSECOND"), epoch,
                                           BusyBlock.start_at)
            end_col = func.timestampdiff(literal_column("MICROSECOND"), epoch, BusyBlock.end_at)
            as_micros = partial(np.array, dtype=np.int64)
        else:
            start_col, end_col = BusyBlock.start_at, BusyBlock.end_at
            as_micros = _datetimes_to_micros
        for chunk in _chunks(session, select(BusyBlock.caregiver_id, start_col, end_col)
                             .where(BusyBlock.end_at > now - timedelta(days=1))):
            owner = np.array([self.position.get(r[0], -1) for r in chunk], dtype=np.int64)
            keep = owner >= 0
            owners.append(owner[keep])
            starts.append(as_micros([r[1] for r in chunk])[keep])
            ends.append(as_micros([r[2] for r in chunk])[keep])
        owner = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
        starts = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
        ends = np.concatenate(ends) if ends else np.zeros(0, dtype=np.int64)
        order = np.argsort(starts, kind="stable")
        self.busy_owner, self.busy_start, self.busy_end = owner[order], starts[order], ends[order]
        self.busy_longest = int((ends - starts).max()) if len(starts) else 0
        return self

    def memory_bytes(self) -> int:
        arrays = [v for v in vars(self).values() if isinstance(v, np.ndarray)]
        arrays += list(self.districts.values()) + list(self.hospital_members.values())
        arrays += list(self.prices.values())
        return sum(a.nbytes for a in arrays)

    # ---- search --------------------------------------------------------------------------

    def search(self, query: dict, start: datetime | None, end: datetime | None,
               today: date) -> tuple[list[int], "WantedPrices"]:
        """(every matching id in order, id → wanted price_fen or None), as _search answers.
        Raises the same UnknownSkill / HospitalNotFound / LocationRequired."""
        order = self.match(query, start, end, today)
        return self.ids[order].tolist(), WantedPrices(self, query.get("care_type") or None)

    def match(self, query: dict, start, end, today: date) -> np.ndarray:
        """Row positions of the matches, in order (ids: self.ids[positions])."""
        from app.marketplace.services import (birth_date_bound, refuse_unknown_skills,
                                              search_origin)

        if query["skills"]:
            refuse_unknown_skills(query["skills"], self.skill_bit)
        hospital = None
        if query["hospital_id"] is not None:
            hospital = self.hospitals.get(query["hospital_id"])
        origin = search_origin(query, hospital)

        ok = self.everyone.copy()
        price = None
        if query["care_type"]:
            price = self.prices.get(query["care_type"])
            if price is None:
                return np.zeros(0, dtype=np.int64)
            ok &= price >= 0
            if query["min_price_fen"] is not None:
                ok &= price >= query["min_price_fen"]
            if query["max_price_fen"] is not None:
                ok &= price <= query["max_price_fen"]
        if query["skills"]:
            need = np.zeros(self.skills.shape[0], dtype=np.uint64)
            for code in query["skills"]:
                bit = self.skill_bit[code]
                need[bit // 64] |= _ONE << np.uint64(bit % 64)
            if query["skills_match"] == "all":
                for word in np.nonzero(need)[0]:
                    ok &= (self.skills[word] & need[word]) == need[word]
            else:
                held = np.zeros(self.size, dtype=bool)
                for word in np.nonzero(need)[0]:
                    held |= (self.skills[word] & need[word]) != 0
                ok &= held
        if query["min_experience"] is not None:
            ok &= self.has_experience & (self.experience >= query["min_experience"])
        if query["gender"]:
            ok &= self.gender == self.genders.get(query["gender"], -2)
        if query["min_age"] is not None:
            bound = birth_date_bound(today, query["min_age"]).toordinal()
            ok &= self.has_birth & (self.birth <= bound)
        if query["max_age"] is not None:
            bound = birth_date_bound(today, query["max_age"] + 1).toordinal()
            ok &= self.has_birth & (self.birth > bound)
        if query["city_code"]:
            ok &= self.city == self.cities.get(query["city_code"], -2)
        if query["district_code"]:
            members = self.districts.get(query["district_code"])
            if members is None:
                return np.zeros(0, dtype=np.int64)
            ok &= members
        if query["hospital_id"] is not None:
            members = self.hospital_members.get(query["hospital_id"])
            if members is None:
                return np.zeros(0, dtype=np.int64)
            ok &= members
        if query["min_rating"] is not None:
            ok &= self.rating >= query["min_rating"]  # NaN (no rating) compares False
        if query["accepts_urgent"]:
            ok &= self.urgent
        if query["night_service"]:
            ok &= self.night
        if start is not None:
            self._free(ok, start, end)

        positions = np.flatnonzero(ok)
        return self._ordered(positions, query["sort"], price, origin)

    def _free(self, ok: np.ndarray, start: datetime, end: datetime) -> None:
        """ok &= working through every slot of [start, end) and no busy block overlapping."""
        from app.availability.services import _local_segments, _naive_utc

        first_day, a, last_day, b = _local_segments(start, end)
        if first_day == last_day:
            segments = [(first_day, a, b)]
        else:
            segments = [(first_day, a, 1440)]
            segments += [(first_day + timedelta(days=k), 0, 1440)
                         for k in range(1, (last_day - first_day).days)]
            segments.append((last_day, 0, b))
        exact = {int(p): bool(ok[p]) for p in self.off_grid_positions}
        no_rows = ()
        for day, low, high in segments:
            d = (day - self.base_day).days
            if not 0 <= d < self.days:
                ok[:] = False
                return
            need = _slot_mask(low, high)
            row = self.working[d]
            ok &= (row & need) == need
            for p in exact:  # off-grid rows: a covering row, as the SQL clause asks
                if exact[p]:
                    exact[p] = any(s <= low and e >= high
                                   for s, e in self.off_grid[p].get(d, no_rows))
        for p, value in exact.items():
            ok[p] = value
        if not ok.any() or not len(self.busy_start):
            return
        s, e = _micros(_naive_utc(start)), _micros(_naive_utc(end))
        low = np.searchsorted(self.busy_start, s - self.busy_longest, side="left")
        high = np.searchsorted(self.busy_start, e, side="left")
        ends = self.busy_end[low:high]
        # busy_caregiver_ids' bound on end_at too, so the answer is the SQL one exactly
        hit = (ends > s) & (ends < e + self.busy_max // _US)
        ok[self.busy_owner[low:high][hit]] = False

    def _ordered(self, positions: np.ndarray, sort: str, price, origin) -> np.ndarray:
        if not len(positions):
            return positions
        ids = self.ids[positions]  # ids ascend with positions: a stable sort breaks ties by id
        if sort == "rating":
            if self._rating_order is None:  # one global order, filtered per query
                r = self.rating
                self._rating_order = np.lexsort((self.ids, -np.nan_to_num(r), np.isnan(r)))
                self._rating_rank = np.empty(self.size, dtype=np.int64)
                self._rating_rank[self._rating_order] = np.arange(self.size)
            return positions[np.argsort(self._rating_rank[positions], kind="stable")]
        if sort == "price_asc":
            return positions[np.argsort(price[positions], kind="stable")]
        if sort == "price_desc":
            return positions[np.argsort(-price[positions], kind="stable")]
        if sort == "experience":
            return positions[np.argsort(-self.experience[positions], kind="stable")]
        if sort == "orders":
            return positions[np.argsort(-self.orders[positions], kind="stable")]
        lat0, lng0 = origin
        scale = math.cos(math.radians(lat0))
        d_lat = self.lat[positions] - lat0
        d_lng = (self.lng[positions] - lng0) * scale
        d2 = np.nan_to_num(d_lat * d_lat + d_lng * d_lng)
        return positions[np.lexsort((ids, d2, self.no_location[positions]))]


CHUNK_ROWS = 50_000


def _chunks(session, statement):
    """The rows of `statement` in lists of CHUNK_ROWS, streamed (a server-side cursor on
    MariaDB), so a million busy blocks never sit in memory as Row objects all at once."""
    result = session.execute(statement.execution_options(yield_per=CHUNK_ROWS))
    for chunk in result.partitions():
        yield chunk


class WantedPrices:
    """id → the price of the query's care type (None without one): looked up on demand, so a
    search over thousands of matches builds no dict."""

    __slots__ = ("index", "prices")

    def __init__(self, index: SearchIndex, care_type: str | None):
        self.index = index
        self.prices = None if care_type is None else index.prices.get(care_type)

    def __getitem__(self, caregiver_id: int):
        position = self.index.position[caregiver_id]
        return None if self.prices is None else int(self.prices[position])

    def get(self, caregiver_id: int, default=None):
        if caregiver_id not in self.index.position:
            return default
        return self[caregiver_id]
