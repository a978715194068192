from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select

from app.availability import services
from app.availability.models import BusyBlock, DayWindow, WeeklyWindow
from app.common.time import LOCAL_TZ, local_today
from app.errors import ValidationFailed
from app.extensions import db
from tests.conftest import make_caregiver


def _rows(caregiver_id=None):
    statement = select(DayWindow.caregiver_id, DayWindow.day, DayWindow.start_minute,
                       DayWindow.end_minute).order_by(DayWindow.caregiver_id, DayWindow.day,
                                                      DayWindow.start_minute)
    if caregiver_id is not None:
        statement = statement.where(DayWindow.caregiver_id == caregiver_id)
    return [tuple(r) for r in db.session.execute(statement)]


def test_roll_forward_adds_the_new_day_drops_old_ones_and_is_idempotent(app, monkeypatch):
    first, second, idle = make_caregiver(app), make_caregiver(app), make_caregiver(app)
    horizon = app.config["AVAILABILITY_HORIZON_DAYS"]
    with app.app_context():
        today = local_today()
        for weekday in range(7):
            db.session.add(WeeklyWindow(caregiver_id=first, weekday=weekday, start_minute=480,
                                        end_minute=720))
        db.session.add(WeeklyWindow(caregiver_id=second, weekday=today.weekday(),
                                    start_minute=0, end_minute=1440))
        db.session.commit()
        assert services.rebuild_day_windows() == horizon + horizon // 7 + (
            1 if horizon % 7 else 0)
        # rows left over from earlier days: all go once tomorrow comes (only "yesterday",
        # today's rows by then, is kept)
        db.session.execute(insert(DayWindow), [
            {"caregiver_id": first, "day": today - timedelta(days=n), "start_minute": 480,
             "end_minute": 720} for n in (1, 2, 5)])
        db.session.commit()
        new_day = today + timedelta(days=horizon)
        assert (first, new_day, 480, 720) not in _rows()

        from app.tasks import availability as tasks

        monkeypatch.setattr(services, "local_today", lambda: today + timedelta(days=1))
        result = tasks.roll_forward_day_windows()
        assert result["dropped"] == 3 and result["to"] == new_day.isoformat()
        after = _rows()
        assert (first, new_day, 480, 720) in after
        assert ((second, new_day, 0, 1440) in after) == (new_day.weekday() == today.weekday())
        assert min(day for _, day, _, _ in after) == today
        assert not [r for r in after if r[0] == idle]
        again = tasks.roll_forward_day_windows()
        assert (again["dropped"], again["written"], again["to"]) == (0, 0, result["to"])
        assert _rows() == after
        db.session.remove()


def test_roll_forward_makes_up_for_missed_runs(app, monkeypatch):
    """The job did not run for three days: the next run builds every day since its last."""
    caregiver = make_caregiver(app)
    horizon = app.config["AVAILABILITY_HORIZON_DAYS"]
    from app.tasks import availability as tasks

    with app.app_context():
        today = local_today()
        for weekday in range(7):
            db.session.add(WeeklyWindow(caregiver_id=caregiver, weekday=weekday,
                                        start_minute=480, end_minute=720))
        db.session.commit()
        tasks.roll_forward_day_windows()  # no record yet: the whole horizon
        assert len(_rows(caregiver)) == horizon
        later = today + timedelta(days=3)
        monkeypatch.setattr(services, "local_today", lambda: later)
        result = tasks.roll_forward_day_windows()
        assert result["from"] == (today + timedelta(days=horizon)).isoformat()
        days = {day for _, day, _, _ in _rows(caregiver)}
        assert days == {later - timedelta(days=1) + timedelta(days=n)
                        for n in range(horizon + 1)}
        db.session.remove()


def test_rebuild_by_caregiver_and_range_leaves_others_alone(app):
    first, second = make_caregiver(app), make_caregiver(app)
    with app.app_context():
        today = local_today()
        for caregiver_id in (first, second):
            db.session.add(WeeklyWindow(caregiver_id=caregiver_id, weekday=today.weekday(),
                                        start_minute=60, end_minute=120))
        db.session.commit()
        services.rebuild_day_windows()
        db.session.execute(WeeklyWindow.__table__.update().values(end_minute=180))
        db.session.commit()
        services.rebuild_day_windows(caregiver_ids=[first], from_day=today, to_day=today)
        assert _rows(first)[0] == (first, today, 60, 180)
        assert _rows(first)[1][3] == 120  # next week's row: outside the range, unchanged
        assert all(end == 120 for _, _, _, end in _rows(second))
        db.session.remove()


def test_day_intervals_merge_extra_hours_and_cut_time_off():
    assert services.day_intervals([(480, 720), (720, 900)], [(1000, 1100), (1100, 1440)],
                                  [(600, 630), (1050, 1200)]) == [
        (480, 600), (630, 900), (1000, 1050), (1200, 1440)]
    assert services.day_intervals([(0, 1440)], [], [(0, 1440)]) == []
    assert services.day_intervals([], [(60, 90)], [(0, 60), (90, 120)]) == [(60, 90)]


def test_add_busy_block_normalises_to_utc_and_splits_long_ones(app):
    caregiver_id = make_caregiver(app)
    with app.app_context():
        start = datetime(2030, 3, 1, 8, 0, tzinfo=LOCAL_TZ)
        blocks = services.add_busy_block(caregiver_id, start, start + timedelta(hours=4),
                                         ref_type="care_order", ref_id=1)
        assert [(b.start_at, b.end_at) for b in blocks] == [
            (datetime(2030, 3, 1, 0, 0), datetime(2030, 3, 1, 4, 0))]
        naive = datetime(2030, 4, 1, 0, 0)  # naive = UTC
        max_days = app.config["AVAILABILITY_BUSY_BLOCK_MAX_DAYS"]
        long = services.add_busy_block(caregiver_id, naive,
                                       naive + timedelta(days=2 * max_days + 1, seconds=0.5),
                                       ref_type="care_order", ref_id=2)
        assert [(b.start_at, b.end_at) for b in long] == [
            (naive, naive + timedelta(days=max_days)),
            (naive + timedelta(days=max_days), naive + timedelta(days=2 * max_days)),
            (naive + timedelta(days=2 * max_days),
             naive + timedelta(days=2 * max_days + 1, seconds=1))]  # widened to a whole second
        services.add_busy_block(caregiver_id, naive, naive + timedelta(hours=1),
                                ref_type="manual", ref_id=2)
        db.session.commit()
        stored = db.session.execute(select(BusyBlock.ref_type, BusyBlock.ref_id,
                                           BusyBlock.start_at, BusyBlock.end_at).order_by(
            BusyBlock.start_at, BusyBlock.ref_type)).all()
        assert len(stored) == 5 and all(s.tzinfo is None for _, _, s, _ in stored)

        assert services.remove_busy_blocks(ref_type="care_order", ref_id=2) == 3
        db.session.commit()
        left = db.session.execute(select(BusyBlock.ref_type, BusyBlock.ref_id)).all()
        assert sorted(map(tuple, left)) == [("care_order", 1), ("manual", 2)]
        assert services.remove_busy_blocks(ref_type="care_order", ref_id=2) == 0
        with pytest.raises(ValidationFailed) as refused:
            services.add_busy_block(caregiver_id, naive, naive, ref_type="manual", ref_id=3)
        assert refused.value.code == "invalid_time_range"
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(BusyBlock)) == 2
        db.session.remove()


def test_busy_blocks_stay_in_the_callers_transaction(app):
    caregiver_id = make_caregiver(app)
    with app.app_context():
        start = datetime(2030, 3, 1, tzinfo=timezone.utc)
        services.add_busy_block(caregiver_id, start, start + timedelta(hours=1),
                                ref_type="care_order", ref_id=9)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(BusyBlock)) == 0
        db.session.remove()


def test_check_query_window(app):
    with app.app_context():
        today = local_today()
        soon = datetime(today.year, today.month, today.day, tzinfo=LOCAL_TZ) + timedelta(days=1)
        services.check_query_window(soon, soon + timedelta(days=31))
        cases = [
            (soon.replace(tzinfo=None), soon + timedelta(hours=1), "timezone_required", "start"),
            (soon, (soon + timedelta(hours=1)).replace(tzinfo=None), "timezone_required", "end"),
            (soon, soon, "invalid_time_range", "end"),
            (soon, soon + timedelta(days=31, seconds=1), "time_range_too_long", "end"),
            (soon - timedelta(days=3), soon - timedelta(days=2), "time_range_outside_horizon",
             "start"),
            (services.horizon_end() - timedelta(hours=1),
             services.horizon_end() + timedelta(minutes=1), "time_range_outside_horizon", "end"),
        ]
        for start, end, code, field in cases:
            with pytest.raises(ValidationFailed) as refused:
                services.check_query_window(start, end)
            assert refused.value.code == code and field in refused.value.details, (start, end)
        services.check_query_window(services.horizon_end() - timedelta(days=1),
                                    services.horizon_end())
        assert isinstance(services.horizon_end().date(), date)
