"""free_during_clause (SQL over DayWindow rows) and free_windows (Python over DayWindow rows)
against the brute-force reference over the raw rows: random weekly windows (overlapping ones
too), exceptions, busy blocks and query windows (crossing midnight, spanning days, touching
window and block edges)."""
from datetime import datetime, timedelta

from hypothesis import HealthCheck, event, given, settings, strategies as st
from sqlalchemy import delete, select

from app.availability import services
from app.availability.models import AvailabilityException, BusyBlock, DayWindow, WeeklyWindow
from app.caregivers.models import Caregiver
from app.common.time import LOCAL_TZ, local_today
from app.extensions import db
from tests.availability import reference

DAYS = 6  # data and queries live in [today, today + DAYS + 3)

half_hours = st.integers(min_value=0, max_value=47)
window = st.tuples(half_hours, st.integers(min_value=1, max_value=48)).map(
    lambda t: (t[0] * 30, min(1440, (t[0] + t[1]) * 30)))
weekly = st.lists(st.one_of(
    st.tuples(st.integers(0, 6), window),
    st.tuples(st.integers(0, 6), st.just((0, 1440))),  # full days make multi-day spans possible
    st.tuples(st.integers(0, 6), st.sampled_from([(0, 480), (1200, 1440)])),  # night halves
), max_size=8)
exception = st.tuples(st.integers(0, DAYS), st.sampled_from(["off", "extra"]),
                      st.one_of(window, st.just((0, 1440))))
block = st.tuples(st.integers(0, DAYS * 48), st.integers(1, 3 * 48), st.sampled_from([0, 0, 5]))
caregiver_data = st.tuples(weekly, st.lists(exception, max_size=5), st.lists(block, max_size=4))
query = st.tuples(st.integers(0, DAYS * 48), st.sampled_from([0, 0, 0, 1, 29]),
                  st.one_of(st.integers(1, 12), st.integers(1, 3 * 48)),
                  st.sampled_from([0, 0, 0, 1, -1]))


def _midnight():
    today = local_today()
    return datetime(today.year, today.month, today.day, tzinfo=LOCAL_TZ)


def _store(caregiver_id, data, midnight):
    weekly_rows, exceptions, blocks = data
    for model in (WeeklyWindow, AvailabilityException, BusyBlock, DayWindow):
        db.session.execute(delete(model).where(model.caregiver_id == caregiver_id))
    for weekday, (start, end) in weekly_rows:
        db.session.add(WeeklyWindow(caregiver_id=caregiver_id, weekday=weekday,
                                    start_minute=start, end_minute=end))
    for offset, kind, (start, end) in exceptions:
        db.session.add(AvailabilityException(caregiver_id=caregiver_id, kind=kind,
                                             day=midnight.date() + timedelta(days=offset),
                                             start_minute=start, end_minute=end))
    for start, length, jitter in blocks:
        begin = midnight + timedelta(minutes=start * 30 + jitter)
        services.add_busy_block(caregiver_id, begin, begin + timedelta(minutes=length * 30),
                                ref_type="test", ref_id=caregiver_id)
    db.session.commit()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.lists(caregiver_data, min_size=2, max_size=2),
       queries=st.lists(query, min_size=1, max_size=5),
       block_max_days=st.sampled_from([1, 31]))
def test_clause_and_free_windows_agree_with_the_brute_force_reference(app, caregivers, data,
                                                                     queries, block_max_days):
    saved = app.config["AVAILABILITY_BUSY_BLOCK_MAX_DAYS"]
    app.config["AVAILABILITY_BUSY_BLOCK_MAX_DAYS"] = block_max_days
    try:
        with app.app_context():
            midnight = _midnight()
            for caregiver_id, one in zip(caregivers, data):
                _store(caregiver_id, one, midnight)
            services.rebuild_day_windows(caregiver_ids=caregivers, from_day=midnight.date(),
                                         to_day=midnight.date() + timedelta(days=DAYS + 4))
            raw = {c: reference.load_raw(db.session, c) for c in caregivers}
            if block_max_days == 1:  # long blocks were split at the bound
                for blocks in (raw[c][2] for c in caregivers):
                    assert all(e - s <= timedelta(days=1) for s, e in blocks)
            for start_slot, jitter, length, end_jitter in queries:
                start = midnight + timedelta(minutes=start_slot * 30 + jitter)
                end = start + timedelta(minutes=length * 30 + end_jitter)
                expected = {c for c in caregivers if reference.is_free(*raw[c], start, end)}
                found = set(db.session.scalars(select(Caregiver.id).where(
                    Caregiver.id.in_(caregivers),
                    services.free_during_clause(Caregiver.id, start, end))).all())
                assert found == expected, (start, end)
                # the two-step form the search uses: day-window coverage in SQL, then the busy
                # ones dropped by one range scan
                working = set(db.session.scalars(select(Caregiver.id).where(
                    Caregiver.id.in_(caregivers),
                    services.working_during_clause(Caregiver.id, start, end))).all())
                busy = services.busy_caregiver_ids(caregivers, start, end)
                assert busy <= set(caregivers)
                assert working - busy == expected, (start, end)
                start_utc, end_utc = reference._utc(start), reference._utc(end)
                assert busy == {c for c in caregivers if any(
                    s < end_utc and e > start_utc for s, e in raw[c][2])}, (start, end)
                event(f"free caregivers: {len(expected)}")
                for c in caregivers:
                    windows = services.free_windows(c, start, end)
                    assert windows == reference.free_intervals(*raw[c], start, end), (c, start,
                                                                                     end)
                    assert (windows == [(start, end)]) == (c in expected)
                    assert all(w_start.utcoffset() == timedelta(hours=8)
                               for w_start, _ in windows)
            db.session.remove()
    finally:
        app.config["AVAILABILITY_BUSY_BLOCK_MAX_DAYS"] = saved


def test_the_reference_itself_on_a_known_case(app, caregivers):
    """A night across midnight is free only as two halves of consecutive days, and a block
    touching the window's edge does not overlap it."""
    with app.app_context():
        midnight = _midnight()
        monday_offset = (7 - midnight.weekday()) % 7 or 7
        monday = midnight + timedelta(days=monday_offset)
        weekday = monday.weekday()
        data = ([(weekday, (1200, 1440)), ((weekday + 1) % 7, (0, 480))], [],
                [])
        _store(caregivers[0], data, midnight)
        services.add_busy_block(caregivers[0], monday + timedelta(hours=18),
                                monday + timedelta(hours=20), ref_type="test", ref_id=1)
        db.session.commit()
        services.rebuild_day_windows(caregiver_ids=[caregivers[0]])
        start, end = monday + timedelta(hours=20), monday + timedelta(hours=32)
        raw = reference.load_raw(db.session, caregivers[0])
        assert reference.is_free(*raw, start, end)
        assert services.free_windows(caregivers[0], start, end) == [(start, end)]
        clause = services.free_during_clause(Caregiver.id, start, end)
        assert db.session.scalars(select(Caregiver.id).where(clause)).all() == [caregivers[0]]
        later = end + timedelta(minutes=1)
        assert not reference.is_free(*raw, start, later)
        assert services.free_windows(caregivers[0], start, later) == [(start, end)]
        assert db.session.scalars(select(Caregiver.id).where(
            services.free_during_clause(Caregiver.id, start, later))).all() == []
        db.session.remove()
