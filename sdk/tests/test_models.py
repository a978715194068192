import json
from datetime import date, time

import pytest

from hospital_sdk import UNSET, BatchResult, ChangesPage, Department, Doctor, Schedule


def test_schedule_serialises_to_plain_json():
    s = Schedule("S1", "DR1", date(2026, 6, 1), "afternoon", time(13, 30), "17:00",
                 total=20, fee_fen=1500)
    assert s.to_dict() == {"external_id": "S1", "doctor_external_id": "DR1",
                           "work_date": "2026-06-01", "period": "afternoon",
                           "start_time": "13:30", "end_time": "17:00", "total": 20,
                           "fee_fen": 1500}
    json.dumps(s.to_dict())
    assert Schedule.from_dict(s.to_dict()).work_date == date(2026, 6, 1)


def test_optional_fields_left_unset_are_left_out_and_none_is_sent_as_null():
    assert Department("D1", "内科").to_dict() == {
        "external_id": "D1", "name": "内科", "parent_external_id": None}
    assert Doctor("DR1", "D1", "张三", "主任医师").to_dict() == {
        "external_id": "DR1", "department_external_id": "D1", "name": "张三",
        "title": "主任医师"}
    assert Doctor("DR1", "D1", "张三", "主任医师", specialty="冠心病", intro=None).to_dict() == {
        "external_id": "DR1", "department_external_id": "D1", "name": "张三",
        "title": "主任医师", "specialty": "冠心病", "intro": None}
    assert Department("D1", "内科", sort_order=0, intro="").to_dict()["sort_order"] == 0
    assert repr(UNSET) == "UNSET" and not UNSET


@pytest.mark.parametrize("change", [
    {"period": "night"}, {"total": -1}, {"total": 0}, {"total": 1001}, {"fee_fen": 12.5},
    {"fee_fen": -1}, {"total": True},
    {"work_date": "2026-13-01"}, {"external_id": ""},
])
def test_schedule_refuses_bad_values_before_sending(change):
    fields = dict(external_id="S1", doctor_external_id="DR1", work_date=date(2026, 6, 1),
                  period="morning", start_time="08:00", end_time="12:00", total=1, fee_fen=0)
    with pytest.raises(ValueError):
        Schedule(**{**fields, **change})


def test_batch_result_merges_counts_and_items():
    result = BatchResult()
    result.add({"created": 2, "updated": 1, "items": [{"external_id": "a"}]})
    result.add({"created": 1, "unchanged": 4, "items": [{"external_id": "b"}]})
    result.add(None)
    assert (result.created, result.updated, result.unchanged, result.total) == (3, 1, 4, 8)
    assert [i["external_id"] for i in result.items] == ["a", "b"]
    assert result.requests == 3


def test_changes_page_reads_the_wire_shape():
    page = ChangesPage.from_dict({"items": [{"order_no": "R1", "status": "refunded",
                                             "updated_at": "2026-06-01T08:00:00+08:00"}],
                                  "next_cursor": "c2", "has_more": True})
    assert page.has_more and page.next_cursor == "c2"
    assert page.items[0].changed_at == "2026-06-01T08:00:00+08:00"
