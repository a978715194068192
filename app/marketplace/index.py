"""An in-process search index of listed caregivers: the filters and sorts of
services._search over numpy arrays, so a search whose query string never repeats costs tens of
microseconds instead of an SQL round trip. live_index.py keeps one per process, current with the
search-data version, and search answers from it while it is current.

One row per caregiver that was listed at load time (same rule as services.listed_clause), in id
order; `listed` says who still is (a patch that delists someone clears the flag, a caregiver
listed since the load needs a fresh load: positions never move). Working time is a 48-bit mask
per caregiver per local day (availability_day_windows rows are on the half-hour grid; a row
[s, e) sets bits s//30 .. e//30-1); rows off that grid (not writable through the API) are kept
as they are and checked exactly for their caregivers. Busy blocks are summarised the same
way, per local day: the half-hour slots a block touches and the slots it wholly covers. A window
that meets a covered slot is busy, one that meets no touched slot is free, and only what is
left (a block edge off the half-hour grid inside the window's slots) is settled exactly against
the blocks themselves, kept sorted by start (UTC epoch microseconds) and searched by range with
the longest block's length as the bound.

The answer must equal _search's exactly (tests/marketplace/test_index.py compares both over
random data): same NULL rules, same tiebreak by id, same float arithmetic for distances.

An index is never changed once built: `patched` returns a new one sharing the arrays no changed
caregiver touches, so a request thread may go on reading the old one.
"""
import copy
import math
from datetime import date, datetime, timedelta
from functools import partial

import numpy as np
from sqlalchemy import and_, func, literal, literal_column, select

from app.availability.models import BusyBlock, DayWindow
from app.caregivers.models import (CARE_TYPES, Caregiver, CaregiverDistrict, CaregiverHospital,
                                   CaregiverPrice, CaregiverSkill, CareSkill)
from app.common.time import LOCAL_TZ, utcnow
from app.hospitals.models import Hospital
from app.users.models import User

SLOT_MINUTES = 30
SLOTS = 48
SLOT_US = SLOT_MINUTES * 60 * 10**6
FULL_DAY = np.uint64((1 << SLOTS) - 1)
_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)
_ONE = np.uint64(1)
_NO_POSITIONS = np.zeros(0, dtype=np.int64)


def _micros(naive_utc: datetime) -> int:
    return (naive_utc - _EPOCH) // _US


def _datetimes_to_micros(values: list) -> np.ndarray:
    return np.array(values, dtype="datetime64[us]").astype(np.int64)


def _slot_bits(first: np.ndarray, after: np.ndarray) -> np.ndarray:
    """uint64 masks with bits first .. after-1 set (none where after <= first)."""
    first, after = first.astype(np.uint64), np.maximum(after, first).astype(np.uint64)
    return ((_ONE << after) - _ONE) ^ ((_ONE << first) - _ONE)


def _slot_mask(low: int, high: int) -> np.uint64:
    """Bits of every half-hour slot touched by [low, high) minutes (low < high)."""
    return _slot_bits(np.int64(low // SLOT_MINUTES), np.int64(-(-high // SLOT_MINUTES)))


def _only(statement, column, ids):
    return statement if ids is None else statement.where(column.in_(ids))


_SCALARS = (Caregiver.id, Caregiver.gender, Caregiver.birth_date, Caregiver.years_experience,
            Caregiver.city_code, Caregiver.rating_avg, Caregiver.completed_orders,
            Caregiver.accepts_urgent, Caregiver.night_service, Caregiver.latitude,
            Caregiver.longitude)


class _Reload(Exception):
    """A change a patch cannot take in: load a new index."""


class SearchIndex:
    """Build with SearchIndex.load(session, today); query with search(query, start, end, today)
    or match(...); a changed caregiver is taken in with patched(session, ids)."""

    version = None  # the search-data version it reflects (live_index.py sets it)
    epoch = None

    @classmethod
    def load(cls, session, today: date, now: datetime | None = None) -> "SearchIndex":
        from flask import current_app

        self = cls()
        now = now or utcnow()
        self.today = today
        self.loaded_at = now
        self.busy_max = timedelta(days=int(current_app.config["AVAILABILITY_BUSY_BLOCK_MAX_DAYS"]))
        rows = session.execute(
            select(*_SCALARS).join(User, User.id == Caregiver.user_id)
            .where(Caregiver.status == "approved", User.status == "active")
            .order_by(Caregiver.id)).all()
        n = self.size = len(rows)
        self.ids = np.array([r.id for r in rows], dtype=np.int64)
        self.position = {int(i): p for p, i in enumerate(self.ids.tolist())}
        self.listed = np.ones(n, dtype=bool)
        self.genders, self.cities = {}, {}
        for name, values in self._scalar_columns(rows).items():
            setattr(self, name, values)
        self._rating_rank = None
        self.cards = {}

        # skills: bit per care_skills row (sort_order, code); several words past 64 skills
        codes = session.scalars(select(CareSkill.code).order_by(CareSkill.sort_order,
                                                                CareSkill.code)).all()
        self.skill_bit = {code: bit for bit, code in enumerate(codes)}
        self.skills = np.zeros((max(1, -(-len(codes) // 64)), n), dtype=np.uint64)
        self.districts, self.hospital_members = {}, {}
        self.prices = {care_type: np.full(n, -1, dtype=np.int64) for care_type in CARE_TYPES}
        self._fill_memberships(session, None)
        self.hospitals = {h.id: (bool(h.is_active), h.latitude, h.longitude)
                          for h in session.execute(select(Hospital.id, Hospital.is_active,
                                                          Hospital.latitude, Hospital.longitude))}

        # working time: day d (from base_day) → uint64 mask per caregiver, read in chunks
        self.base_day = today - timedelta(days=2)  # a window may start a day before now
        horizon = today + timedelta(days=int(current_app.config["AVAILABILITY_HORIZON_DAYS"]))
        last = session.scalar(select(func.max(DayWindow.day)).where(
            DayWindow.day >= self.base_day)) or horizon
        self.days = (max(last, horizon) - self.base_day).days + 1
        self.working = np.zeros((self.days, n), dtype=np.uint64)
        self.off_grid = {}
        self._fill_working(session, None)

        # busy blocks that can still matter (a window starts at most a day before now)
        blocks = self._busy_rows(session, now, None)
        self.busy = _split_blocks(*blocks)
        self.busy_touched = np.zeros((self.days, n), dtype=np.uint64)
        self.busy_covered = np.zeros((self.days, n), dtype=np.uint64)
        self._fill_busy_slots(*blocks)
        self.partial_days = (self.busy_touched != self.busy_covered).any(axis=1)
        self._derive_planes()
        return self

    # ---- derived layouts a search reads (little memory per query) ----------------------------

    def _derive_planes(self, at=None) -> None:
        """skill_held (a bool row per skill bit) and free_planes (per day and half-hour slot, a
        bit per caregiver: working and no busy block touching it, packed little-endian), from
        skills, working and busy_touched: for everyone, or (at) only those positions' columns
        of copies. A window of k slots then reads k rows of N/8 bytes instead of N words."""
        bits = np.arange(SLOTS, dtype=np.uint64)
        skill_bits = np.arange(self.skills.shape[0] * 64, dtype=np.uint64)
        if at is None:
            self.skill_held = ((self.skills[skill_bits // 64]
                                >> (skill_bits % 64)[:, None]) & _ONE).astype(bool)
            clear = self.working & ~self.busy_touched
            self.free_planes = np.packbits(
                ((clear[:, None, :] >> bits[None, :, None]) & _ONE).astype(bool),
                axis=2, bitorder="little")
            return
        self.skill_held = self.skill_held.copy()
        self.skill_held[:, at] = ((self.skills[(skill_bits // 64)[:, None], at[None, :]]
                                   >> (skill_bits % 64)[:, None]) & _ONE).astype(bool)
        self.free_planes = self.free_planes.copy()
        for p in at.tolist():  # one at a time: two positions may share a byte
            byte, bit = p // 8, np.uint8(1 << (p % 8))
            clear = self.working[:, p] & ~self.busy_touched[:, p]
            column = ((clear[:, None] >> bits[None, :]) & _ONE).astype(bool)
            self.free_planes[:, :, byte] &= ~bit
            self.free_planes[:, :, byte] |= np.where(column, bit, np.uint8(0))

    # ---- loading, for everyone (ids None) or the changed caregivers --------------------------

    def _scalar_columns(self, rows) -> dict:
        """The per-caregiver arrays of Caregiver columns, for `rows` (in their order); codes
        of genders and cities are added to self.genders / self.cities."""
        def coded(codes, value):
            return -1 if value is None else codes.setdefault(value, len(codes))

        lat = np.array([np.nan if r.latitude is None else r.latitude for r in rows],
                       dtype=np.float64)
        lng = np.array([np.nan if r.longitude is None else r.longitude for r in rows],
                       dtype=np.float64)
        return {
            "gender": np.array([coded(self.genders, r.gender) for r in rows], dtype=np.int16),
            "birth": np.array([r.birth_date.toordinal() if r.birth_date is not None else 0
                               for r in rows], dtype=np.int64),
            "has_birth": np.array([r.birth_date is not None for r in rows], dtype=bool),
            "experience": np.array([r.years_experience or 0 for r in rows], dtype=np.int64),
            "has_experience": np.array([r.years_experience is not None for r in rows],
                                       dtype=bool),
            "city": np.array([coded(self.cities, r.city_code) for r in rows], dtype=np.int32),
            "rating": np.array([np.nan if r.rating_avg is None else r.rating_avg for r in rows],
                               dtype=np.float64),
            "orders": np.array([r.completed_orders or 0 for r in rows], dtype=np.int64),
            "urgent": np.array([bool(r.accepts_urgent) for r in rows], dtype=bool),
            "night": np.array([bool(r.night_service) for r in rows], dtype=bool),
            "lat": lat, "lng": lng, "no_location": np.isnan(lat) | np.isnan(lng),
        }

    def _fill_memberships(self, session, ids) -> None:
        """Skills, districts, hospitals and prices of `ids` (None: everyone) into arrays whose
        columns for them are clear."""
        n = self.size
        for caregiver_id, code in session.execute(_only(
                select(CaregiverSkill.caregiver_id, CaregiverSkill.skill_code),
                CaregiverSkill.caregiver_id, ids)):
            p, bit = self.position.get(caregiver_id), self.skill_bit.get(code)
            if p is not None and bit is not None:
                self.skills[bit // 64, p] |= _ONE << np.uint64(bit % 64)
        for caregiver_id, code in session.execute(_only(
                select(CaregiverDistrict.caregiver_id, CaregiverDistrict.district_code),
                CaregiverDistrict.caregiver_id, ids)):
            p = self.position.get(caregiver_id)
            if p is not None:
                self.districts.setdefault(code, np.zeros(n, dtype=bool))[p] = True
        for caregiver_id, hospital_id in session.execute(_only(
                select(CaregiverHospital.caregiver_id, CaregiverHospital.hospital_id),
                CaregiverHospital.caregiver_id, ids)):
            p = self.position.get(caregiver_id)
            if p is not None:
                self.hospital_members.setdefault(hospital_id, np.zeros(n, dtype=bool))[p] = True
        for caregiver_id, care_type, price_fen in session.execute(_only(
                select(CaregiverPrice.caregiver_id, CaregiverPrice.care_type,
                       CaregiverPrice.price_fen), CaregiverPrice.caregiver_id, ids)):
            p = self.position.get(caregiver_id)
            if p is not None and price_fen is not None:
                self.prices.setdefault(care_type, np.full(n, -1, dtype=np.int64))[p] = price_fen

    def _fill_working(self, session, ids) -> None:
        """Day-window masks of `ids` (None: everyone) into self.working (their columns clear)
        and self.off_grid (their entries gone)."""
        base = np.datetime64(self.base_day, "D")
        off_grid = set()
        for chunk in _chunks(session, _only(select(
                DayWindow.caregiver_id, DayWindow.day, DayWindow.start_minute,
                DayWindow.end_minute).where(DayWindow.day >= self.base_day),
                DayWindow.caregiver_id, ids)):
            pos = np.array([self.position.get(r[0], -1) for r in chunk], dtype=np.int64)
            day = (np.array([r[1] for r in chunk], dtype="datetime64[D]") - base).astype(np.int64)
            low = np.array([r[2] for r in chunk], dtype=np.int64)
            high = np.array([r[3] for r in chunk], dtype=np.int64)
            if ids is not None and (day >= self.days).any():
                raise _Reload()  # a day past this index's last: patching cannot take it
            keep = (pos >= 0) & (high > low)
            pos, day, low, high = pos[keep], day[keep], low[keep], high[keep]
            off_grid.update(pos[(low % SLOT_MINUTES != 0) | (high % SLOT_MINUTES != 0)].tolist())
            masks = _slot_bits(low // SLOT_MINUTES, -(-high // SLOT_MINUTES))
            np.bitwise_or.at(self.working, (day, pos), masks)
        # rows off the half-hour grid (not writable through the API): that caregiver's rows
        # are kept as they are and checked exactly, as the SQL clause does
        if off_grid:
            chosen = [int(self.ids[p]) for p in off_grid]
            for caregiver_id, day, low, high in session.execute(select(
                    DayWindow.caregiver_id, DayWindow.day, DayWindow.start_minute,
                    DayWindow.end_minute).where(DayWindow.day >= self.base_day,
                                                DayWindow.caregiver_id.in_(chosen))):
                by_day = self.off_grid.setdefault(self.position[caregiver_id], {})
                by_day.setdefault((day - self.base_day).days, []).append((low, high))
        self.off_grid_positions = np.array(sorted(self.off_grid), dtype=np.int64)

    def _busy_rows(self, session, now: datetime, ids):
        """(owner positions, starts, ends) of the busy blocks of `ids` (None: everyone) that
        can still matter, unsorted."""
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
        for chunk in _chunks(session, _only(
                select(BusyBlock.caregiver_id, start_col, end_col)
                .where(BusyBlock.end_at > now - timedelta(days=1)), BusyBlock.caregiver_id, ids)):
            owner = np.array([self.position.get(r[0], -1) for r in chunk], dtype=np.int64)
            keep = owner >= 0
            owners.append(owner[keep])
            starts.append(as_micros([r[1] for r in chunk])[keep])
            ends.append(as_micros([r[2] for r in chunk])[keep])
        empty = np.zeros(0, dtype=np.int64)
        return tuple(np.concatenate(parts) if parts else empty for parts in (owners, starts, ends))

    def _fill_busy_slots(self, owner, start, end) -> None:
        """OR into busy_touched / busy_covered, per local day of this index, the half-hour
        slots each block [start, end) (UTC epoch µs) touches / wholly covers; the owners'
        columns are clear. Local days are 24 h (LOCAL_TZ, Asia/Shanghai, has no DST)."""
        from app.availability.services import _naive_utc

        day_zero = _micros(_naive_utc(datetime.combine(self.base_day, datetime.min.time(),
                                                       tzinfo=LOCAL_TZ)))
        day_us = 1440 * 60 * 10**6
        keep = (end > day_zero) & (start < day_zero + self.days * day_us) & (end > start)
        owner, start, end = owner[keep], start[keep] - day_zero, end[keep] - day_zero
        first = np.maximum(start // day_us, 0)
        last = np.minimum((end - 1) // day_us, self.days - 1)
        for k in range(int((last - first).max()) + 1 if len(first) else 0):
            day = first + k
            on = day <= last
            d, who = day[on], owner[on]
            low = np.maximum(start[on] - d * day_us, 0)
            high = np.minimum(end[on] - d * day_us, day_us)
            np.bitwise_or.at(self.busy_touched, (d, who),
                             _slot_bits(low // SLOT_US, -(-high // SLOT_US)))
            np.bitwise_or.at(self.busy_covered, (d, who),
                             _slot_bits(-(-low // SLOT_US), high // SLOT_US))

    def patched(self, session, caregiver_ids, now: datetime | None = None):
        """A new index with the current rows of `caregiver_ids` (ids that are not caregivers
        are ignored), or None when one of them became listed after this index was loaded
        (positions are fixed: load a new one)."""
        ids = sorted({int(i) for i in caregiver_ids})
        rows = session.execute(
            select(*_SCALARS, and_(Caregiver.status == "approved",
                                   User.status == "active").label("is_listed"))
            .join(User, User.id == Caregiver.user_id).where(Caregiver.id.in_(ids))).all()
        if any(r.is_listed and r.id not in self.position for r in rows):
            return None
        rows = [r for r in rows if r.id in self.position]
        known = [i for i in ids if i in self.position]
        new = copy.copy(self)
        new._rating_rank = None
        dropped = set(ids)
        new.cards = {i: card for i, card in self.cards.items() if i not in dropped}
        if not known:
            return new
        at = np.array([self.position[i] for i in known], dtype=np.int64)
        new.genders, new.cities = dict(self.genders), dict(self.cities)
        new.listed = self.listed.copy()
        new.listed[at] = False  # a caregiver row gone (deleted) is not listed
        if rows:
            row_at = np.array([self.position[r.id] for r in rows], dtype=np.int64)
            new.listed[row_at] = [bool(r.is_listed) for r in rows]
            for name, values in new._scalar_columns(rows).items():
                column = getattr(self, name).copy()
                column[row_at] = values
                setattr(new, name, column)
        new.skills = self.skills.copy()
        new.skills[:, at] = 0
        new.districts = {code: members.copy() for code, members in self.districts.items()}
        new.hospital_members = {h: members.copy() for h, members in self.hospital_members.items()}
        new.prices = {care_type: price.copy() for care_type, price in self.prices.items()}
        for members in (*new.districts.values(), *new.hospital_members.values()):
            members[at] = False
        for price in new.prices.values():
            price[at] = -1
        new._fill_memberships(session, known)
        new.working = self.working.copy()
        new.working[:, at] = 0
        changed = set(at.tolist())
        new.off_grid = {p: days for p, days in self.off_grid.items() if p not in changed}
        try:
            new._fill_working(session, known)
        except _Reload:
            return None
        # busy blocks: theirs dropped, their current ones merged in by start
        blocks = new._busy_rows(session, now or utcnow(), known)
        fresh = _split_blocks(*blocks)
        new.busy = tuple(old.replaced(at, added) for old, added in zip(self.busy, fresh))
        new.busy_touched, new.busy_covered = self.busy_touched.copy(), self.busy_covered.copy()
        new.busy_touched[:, at] = 0
        new.busy_covered[:, at] = 0
        new._fill_busy_slots(*blocks)
        # a day stays "partial" until the next load: only the slower exact path is taken
        new.partial_days = self.partial_days | (new.busy_touched[:, at]
                                                != new.busy_covered[:, at]).any(axis=1)
        new._derive_planes(at)
        return new

    def memory_bytes(self) -> int:
        """The arrays' size and the cards' text (not Python's per-object overhead)."""
        arrays = [v for v in vars(self).values() if isinstance(v, np.ndarray)]
        arrays += list(self.districts.values()) + list(self.hospital_members.values())
        arrays += list(self.prices.values())
        arrays += [a for blocks in self.busy for a in (blocks.owner, blocks.start, blocks.end)]
        return sum(a.nbytes for a in arrays) + sum(len(card[0]) for card in self.cards.values())

    # ---- search --------------------------------------------------------------------------

    def search(self, query: dict, start: datetime | None, end: datetime | None,
               today: date) -> tuple[list[int], "WantedPrices"]:
        """(every matching id in order, id → wanted price_fen or None), as _search answers.
        Raises the same UnknownSkill / HospitalNotFound / LocationRequired."""
        order, _, _ = self.match(query, start, end, today)
        return self.ids[order].tolist(), WantedPrices(self, query.get("care_type") or None)

    def match(self, query: dict, start, end, today: date, limit: int | None = None):
        """(row positions of the matches in order, the wanted care type's price array or
        None, the distance origin or None). Ids: self.ids[positions]. With a limit only the
        first `limit` positions are in order (a page needs no more); the rest follow."""
        from app.marketplace.services import (birth_date_bound, refuse_unknown_skills,
                                              search_origin)

        if query["skills"]:
            refuse_unknown_skills(query["skills"], self.skill_bit)
        hospital = None
        if query["hospital_id"] is not None:
            hospital = self.hospitals.get(query["hospital_id"])
        origin = search_origin(query, hospital)

        ok = self.listed.copy()
        price = None
        if query["care_type"]:
            price = self.prices.get(query["care_type"])
            if price is None:
                return _NO_POSITIONS, None, origin
            ok &= price >= 0
            if query["min_price_fen"] is not None:
                ok &= price >= query["min_price_fen"]
            if query["max_price_fen"] is not None:
                ok &= price <= query["max_price_fen"]
        if query["skills"]:
            held = [self.skill_held[self.skill_bit[code]] for code in query["skills"]]
            if query["skills_match"] == "all":
                for row in held:
                    ok &= row
            else:
                ok &= held[0] if len(held) == 1 else np.logical_or.reduce(held)
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
                return _NO_POSITIONS, price, origin
            ok &= members
        if query["hospital_id"] is not None:
            members = self.hospital_members.get(query["hospital_id"])
            if members is None:
                return _NO_POSITIONS, price, origin
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
        return self._ordered(positions, query["sort"], price, origin, limit), price, origin

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
        slots = []
        for day, low, high in segments:
            d = (day - self.base_day).days
            if not 0 <= d < self.days:
                ok[:] = False
                return
            slots.append((d, low, high))
        if not self.off_grid and not any(self.partial_days[d] for d, _, _ in slots):
            # every block on these days covers the slots it touches: working and not busy is
            # working and untouched in every slot of the window (free_planes)
            free = None
            for d, low, high in slots:
                planes = self.free_planes[d, low // SLOT_MINUTES:-(-high // SLOT_MINUTES)]
                day_free = np.bitwise_and.reduce(planes, axis=0)
                free = day_free if free is None else free & day_free
            ok &= np.unpackbits(free, count=self.size, bitorder="little").view(bool)
            return
        slots = [(d, _slot_mask(low, high)) for d, low, high in slots]
        exact = {int(p): bool(ok[p]) for p in self.off_grid_positions}
        no_rows = ()
        for (day, low, high), (d, need) in zip(segments, slots):
            row = self.working[d]
            ok &= (row & need) == need
            for p in exact:  # off-grid rows: a covering row, as the SQL clause asks
                if exact[p]:
                    exact[p] = any(s <= low and e >= high
                                   for s, e in self.off_grid[p].get(d, no_rows))
        for p, value in exact.items():
            ok[p] = value
        # the window's slots are exactly those its whole minutes touch (_local_segments): a
        # covered one means busy, no touched one means free, a touched-only one is unsure
        unsure = None
        for d, need in slots:
            ok &= (self.busy_covered[d] & need) == 0
            touched = (self.busy_touched[d] & need) != 0
            unsure = touched if unsure is None else unsure | touched
        if not (ok & unsure).any():
            return
        s, e = _micros(_naive_utc(start)), _micros(_naive_utc(end))
        # busy_caregiver_ids' bound on end_at too, so the answer is the SQL one exactly
        bound = e + self.busy_max // _US
        for blocks in self.busy:
            ok[blocks.overlapping(s, e, bound)] = False

    def _ordered(self, positions: np.ndarray, sort: str, price, origin,
                 limit: int | None = None) -> np.ndarray:
        if not len(positions):
            return positions
        if sort == "rating":
            rank = self._rating_rank
            if rank is None:  # one global order, filtered per query; built whole, then shared
                r = self.rating
                order = np.lexsort((self.ids, -np.nan_to_num(r), np.isnan(r)))
                rank = np.empty(self.size, dtype=np.int64)
                rank[order] = np.arange(self.size)
                self._rating_rank = rank
            key = rank[positions]
        elif sort == "price_asc":
            key = price[positions]
        elif sort == "price_desc":
            key = -price[positions]
        elif sort == "experience":
            key = -self.experience[positions]
        elif sort == "orders":
            key = -self.orders[positions]
        else:
            lat0, lng0 = origin
            scale = math.cos(math.radians(lat0))
            d_lat = self.lat[positions] - lat0
            d_lng = (self.lng[positions] - lng0) * scale
            # no location sorts last
            key = np.where(self.no_location[positions], np.inf, d_lat * d_lat + d_lng * d_lng)
        # a stable sort of positions (ascending ids) breaks ties by id
        return positions[stable_first(key, limit)]


def stable_first(key: np.ndarray, limit: int | None) -> np.ndarray:
    """np.argsort(key, kind="stable"), exact for its first `limit` entries only, the others
    following in index order: a page of 20 among thousands of matches selects its own with
    argpartition instead of sorting them all. Ties at the cut are taken by index, as the
    stable sort takes them."""
    size = len(key)
    if limit is None or limit >= size or size <= 64 or (
            key.dtype.kind == "f" and np.isnan(key).any()):
        return np.argsort(key, kind="stable")
    if limit <= 0:
        return np.arange(size)
    cut = key[np.argpartition(key, limit - 1)[limit - 1]]  # the limit-th smallest key
    below = np.flatnonzero(key < cut)
    head = np.concatenate((below, np.flatnonzero(key == cut)[:limit - len(below)]))
    head = head[np.argsort(key[head], kind="stable")]
    rest = np.ones(size, dtype=bool)
    rest[head] = False
    return np.concatenate((head, np.flatnonzero(rest)))


SHORT_BLOCK_US = 24 * 3600 * 10**6


class _Blocks:
    """Busy blocks sorted by start (owner positions, starts, ends in UTC epoch µs) and an upper
    bound of their length: a window [s, e) can only meet blocks starting in
    [s - longest, e)."""

    __slots__ = ("owner", "start", "end", "longest")

    def __init__(self, owner, start, end):
        order = np.argsort(start, kind="stable")
        self.owner, self.start, self.end = owner[order], start[order], end[order]
        self.longest = int((end - start).max()) if len(start) else 0

    def overlapping(self, s: int, e: int, end_bound: int) -> np.ndarray:
        """Owner positions of the blocks overlapping [s, e) (ending before end_bound)."""
        low = np.searchsorted(self.start, s - self.longest, side="left")
        high = np.searchsorted(self.start, e, side="left")
        ends = self.end[low:high]
        return self.owner[low:high][(ends > s) & (ends < end_bound)]

    def replaced(self, positions: np.ndarray, added: "_Blocks") -> "_Blocks":
        """A copy without the blocks of `positions`, with `added` merged in by start."""
        keep = ~np.isin(self.owner, positions)
        kept_start = self.start[keep]
        slots = np.searchsorted(kept_start, added.start, side="right")
        new = _Blocks.__new__(_Blocks)
        new.start = np.insert(kept_start, slots, added.start)
        new.end = np.insert(self.end[keep], slots, added.end)
        new.owner = np.insert(self.owner[keep], slots, added.owner)
        new.longest = max(self.longest, added.longest)  # an upper bound is enough
        return new


def _split_blocks(owner, start, end) -> tuple[_Blocks, _Blocks]:
    """(blocks up to a day long, longer ones): most blocks are short, and a window then scans
    the short ones from a day before it instead of from the longest block's length."""
    short = (end - start) <= SHORT_BLOCK_US
    return (_Blocks(owner[short], start[short], end[short]),
            _Blocks(owner[~short], start[~short], end[~short]))


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
