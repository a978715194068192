"""The SDK (sdk/, package hospital_sdk) drives the running app end to end over real HTTP.

The suite's live server (tests/conftest.py: LIVE_URL) serves the same app the test client
talks to. A hospital applies and is approved through the staff API (key and secret shown
once), pushes its catalogue and a week of clinics with the SDK (a second run changes
nothing), a patient books one clinic through the normal public and booking APIs, the hospital
sees it in the changes feed, marks it visited on the visit day, stops another clinic, and its
keys are rotated (both valid in the overlap) and revoked (key_revoked).

The SDK is the package requirements.txt installs from sdk/ (`-e ./sdk`), as a hospital would.
"""
import time as time_module
from datetime import date, time, timedelta

import pytest
import requests

from app.common.time import local_today
from tests.booking.conftest import book, pay, verified  # noqa: F401  (fixture)

from hospital_sdk import AuthenticationError, Department, Doctor, OpenApiClient, Schedule

BOOK_OFFSET = 3  # a day inside the booking window whatever the hour (release D-7, stop D-1)


def week_of_clinics(first: date) -> list[Schedule]:
    """Two doctors, mornings and afternoons, for seven days from `first`."""
    clinics = []
    for offset in range(7):
        day = first + timedelta(days=offset)
        for doctor in ("DR001", "DR002"):
            clinics.append(Schedule(f"{doctor}-{day:%Y%m%d}-AM", doctor, day, "morning",
                                    time(8, 0), time(12, 0), total=20, fee_fen=5000))
            clinics.append(Schedule(f"{doctor}-{day:%Y%m%d}-PM", doctor, day, "afternoon",
                                    "13:30", "17:00", total=15, fee_fen=3000))
    return clinics


CATALOGUE = {
    "departments": [Department("XNK", "心血管内科", parent_external_id="NK", sort_order=1),
                    Department("NK", "内科"), Department("WK", "外科", sort_order=2)],
    "doctors": [Doctor("DR001", "XNK", "李建华", "主任医师", specialty="冠心病、高血压"),
                Doctor("DR002", "XNK", "王芳", "主治医师")],
}


@pytest.fixture
def staff_api(app, staff_factory):
    operator = staff_factory("operator")
    base = app.config["LIVE_URL"]

    def call(method, path, **kwargs):
        return requests.request(method, base + path, headers=operator["headers"], timeout=30,
                                **kwargs)
    return call


def test_the_sdk_drives_the_running_app(app, client, approved_hospital, staff_api, verified,
                                        no_lag, monkeypatch):  # noqa: F811
    base = app.config["LIVE_URL"]
    made = approved_hospital("同仁接入医院")  # applied, approved through the staff API
    hospital_id = made["hospital_id"]
    sdk = OpenApiClient(base, made["key_id"], made["secret"], max_retries=0)

    # catalogue and a week of clinics; a second identical run changes nothing
    first = local_today() + timedelta(days=1)
    clinics = week_of_clinics(first)
    departments = sdk.upsert_departments(CATALOGUE["departments"])
    doctors = sdk.upsert_doctors(CATALOGUE["doctors"])
    schedules = sdk.upsert_schedules(clinics)
    assert (departments.created, doctors.created, schedules.created) == (3, 2, 28)
    assert {i["result"] for i in schedules.items} == {"created"}
    assert [i["external_id"] for i in schedules.items] == [c.external_id for c in clinics]
    again = [sdk.upsert_departments(CATALOGUE["departments"]),
             sdk.upsert_doctors(CATALOGUE["doctors"]), sdk.upsert_schedules(clinics)]
    assert [(r.created, r.updated, r.unchanged) for r in again] == [(0, 0, 3), (0, 0, 2),
                                                                     (0, 0, 28)]
    changed = sdk.upsert_schedules([Schedule(**{**clinics[0].to_dict(), "total": 25})])
    assert (changed.updated, changed.items) == (1, [{"external_id": clinics[0].external_id,
                                                      "result": "updated"}])

    # a patient finds the clinic in the public catalogue and books it through the booking API
    visit_day = local_today() + timedelta(days=BOOK_OFFSET)
    detail = client.get(f"/api/v1/hospitals/{hospital_id}").get_json()
    node = next(child for top in detail["departments"] for child in top["children"]
                if child["code"] == "XNK")
    day = client.get(f"/api/v1/hospitals/{hospital_id}/departments/{node['id']}/schedules",
                     query_string={"date": visit_day.isoformat()})
    assert day.status_code == 200, day.get_json()
    offered = {(item["doctor"]["name"], item["period"]): item for item in day.get_json()["items"]}
    assert len(offered) == 4
    morning = offered[("李建华", "morning")]
    assert (morning["total"], morning["fee_fen"], morning["start_time"]) == (20, 5000, "08:00")
    person = verified(1)[0]
    booking = book(client, person, morning["id"])
    assert booking.status_code == 201, booking.get_json()
    pay(app, booking.get_json())

    # the hospital sees the booking in its changes feed, with its own ids
    changes = list(sdk.iter_registration_changes(limit=10))
    assert len(changes) == 1
    change = changes[0]
    assert change.status == "booked"
    assert change.schedule_external_id == f"DR001-{visit_day:%Y%m%d}-AM"
    assert (change.doctor_external_id, change.department_external_id) == ("DR001", "XNK")
    assert change.data["visit_date"] == visit_day.isoformat() and "*" in \
        change.data["patient_name"]
    page = sdk.registration_changes()
    assert sdk.registration_changes(page.next_cursor).items == []  # nothing new after it

    # on the visit day (the clock of the booking service set to it) the visit is marked; a
    # second later: MariaDB keeps updated_at to the second and the feed runs without its lag
    # here (no_lag), so a change in the cursor's own second would sort behind it
    time_module.sleep(1.1)
    monkeypatch.setattr("app.booking.services.local_today", lambda: visit_day)
    visited = sdk.mark_visited(change.order_no)
    assert visited["status"] == "visited" and visited["visited_at"]
    assert sdk.mark_visited(change.order_no)["status"] == "visited"  # a repeat is harmless
    after_visit = sdk.registration_changes(page.next_cursor)
    assert [(c.order_no, c.status) for c in after_visit.items] == [(change.order_no, "visited")]

    # 停诊 of another clinic: the public catalogue shows it stopped
    stopped = sdk.stop_schedule(f"DR002-{visit_day:%Y%m%d}-PM", "医生外出会诊")
    assert stopped == {"external_id": f"DR002-{visit_day:%Y%m%d}-PM", "status": "stopped",
                       "stopped": 0, "closed": 0}
    day = client.get(f"/api/v1/hospitals/{hospital_id}/departments/{node['id']}/schedules",
                     query_string={"date": visit_day.isoformat()}).get_json()
    statuses = {(i["doctor"]["name"], i["period"]): i["status"] for i in day["items"]}
    assert statuses[("王芳", "afternoon")] == "stopped"
    assert statuses[("李建华", "morning")] == "open"

    # rotation: old and new keys both work during the overlap; a revoked key is refused
    keys = f"/api/v1/staff/hospitals/{hospital_id}/api-keys"
    rotated = staff_api("POST", keys + "/rotate")
    assert rotated.status_code == 201, rotated.text
    new = OpenApiClient(base, rotated.json()["key_id"], rotated.json()["secret"], max_retries=0)
    assert sdk.upsert_departments(CATALOGUE["departments"]).unchanged == 3  # old, in overlap
    assert new.upsert_departments(CATALOGUE["departments"]).unchanged == 3
    revoked = staff_api("POST", f"{keys}/{made['key_id']}/revoke")
    assert revoked.status_code == 200, revoked.text
    with pytest.raises(AuthenticationError) as refused:
        sdk.upsert_doctors(CATALOGUE["doctors"])
    assert (refused.value.status, refused.value.code) == (401, "key_revoked")
    assert refused.value.request_id
    assert new.upsert_doctors(CATALOGUE["doctors"]).unchanged == 2
    sdk.close()
    new.close()
