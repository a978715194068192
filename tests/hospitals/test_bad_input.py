"""No input to the browse API produces a 500: a 4xx with a stable code and a Chinese message."""
from datetime import timedelta

import pytest

from tests.hospitals.conftest import today
from tests.platform.test_bad_input import assert_clean_4xx

LONG = "长" * 33


def hospital_urls(c):
    h, d = c["h1"], c["cardio"]
    base = f"/api/v1/hospitals/{h}/departments/{d}"
    return [
        ("/api/v1/hospitals?level=4A", "validation_error"),
        ("/api/v1/hospitals?level=", "validation_error"),
        (f"/api/v1/hospitals?keyword={LONG}", "validation_error"),
        ("/api/v1/hospitals?region=11000", "validation_error"),
        ("/api/v1/hospitals?region=1100000", "validation_error"),
        ("/api/v1/hospitals?region=abcdef", "validation_error"),
        ("/api/v1/hospitals?region=000000", "validation_error"),
        ("/api/v1/hospitals?page=0", "validation_error"),
        ("/api/v1/hospitals?page=abc", "validation_error"),
        ("/api/v1/hospitals?page_size=1000", "validation_error"),
        ("/api/v1/hospitals?page=99999999999999999999", "validation_error"),
        ("/api/v1/hospitals/abc", "not_found"),
        ("/api/v1/hospitals/-1", "not_found"),
        ("/api/v1/hospitals/1.5", "not_found"),
        # beyond 64 bits the id names no row (app.BoundedIntConverter): the view's own 404
        ("/api/v1/hospitals/99999999999999999999999", "hospital_not_found"),
        ("/api/v1/hospitals/9223372036854775807", "hospital_not_found"),
        ("/api/v1/hospitals/999999", "hospital_not_found"),
        (f"/api/v1/hospitals/{h}/departments/abc/calendar", "not_found"),
        (f"/api/v1/hospitals/{h}/departments/9223372036854775807/calendar",
         "department_not_found"),
        (f"/api/v1/hospitals/{h}/departments/{c['h2_cardio']}/calendar", "department_not_found"),
        (f"{base}/schedules", "validation_error"),
        (f"{base}/schedules?date=", "validation_error"),
        (f"{base}/schedules?date=2026-13-45", "validation_error"),
        (f"{base}/schedules?date=20260101", "date_out_of_window"),  # ISO basic format
        (f"{base}/schedules?date={'9' * 40}", "validation_error"),
        (f"{base}/schedules?date={today().isoformat()}", "date_out_of_window"),
        (f"{base}/schedules?date={(today() + timedelta(days=8)).isoformat()}",
         "date_out_of_window"),
        (f"{base}/schedules?date=0001-01-01", "date_out_of_window"),
        (f"{base}/schedules?date=9999-12-31", "date_out_of_window"),
        ("/api/v1/doctors/abc", "not_found"),
        ("/api/v1/doctors/0", "doctor_not_found"),
        ("/api/v1/doctors/999999", "doctor_not_found"),
    ]


def test_malformed_browse_requests_are_clean_4xx(client, catalogue):
    for url, code in hospital_urls(catalogue):
        response = client.get(url)
        assert 400 <= response.status_code < 500, url
        assert_clean_4xx(response)
        assert response.get_json()["error"]["code"] == code, (url, response.get_json())


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_browse_api_is_read_only(client, catalogue, method):
    for url in ("/api/v1/hospitals", f"/api/v1/hospitals/{catalogue['h1']}",
                f"/api/v1/doctors/{catalogue['dr_li']}"):
        response = getattr(client, method)(url, json={"name": "x"})
        assert response.status_code == 405, (method, url)
        assert_clean_4xx(response)
