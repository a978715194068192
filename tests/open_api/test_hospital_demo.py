"""scripts/hospital_demo.py run as a subprocess against the suite's live server: a first run
creates everything, a second is all unchanged and lists a booking made in between."""
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from app.common.time import local_today
from app.extensions import db
from app.open_api.models import ExternalId
from tests.booking.conftest import book, verified  # noqa: F401  (fixture)

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "hospital_demo.py"


def run(app, made, start):
    key = ["--key-id", made["key_id"], "--secret", made["secret"]] if made else []
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("HOSPITAL_KEY_ID", "HOSPITAL_SECRET")}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--base-url", app.config["LIVE_URL"], *key,
         "--start", start.isoformat()],
        capture_output=True, text=True, timeout=120, env=environment)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def counts(output, label):
    line = next(line for line in output.splitlines() if line.startswith(label))
    return tuple(int(n) for n in re.findall(r"(?:created|updated|unchanged)=(\d+)", line))


def test_the_demo_pushes_a_week_and_prints_what_happened(app, client, approved_hospital,
                                                         verified, no_lag):  # noqa: F811
    made = approved_hospital("演示接入医院")
    start = local_today() + timedelta(days=1)
    first = run(app, made, start)
    assert counts(first, "departments") == (2, 0, 0)
    assert counts(first, "doctors") == (3, 0, 0)
    assert counts(first, "schedules") == (42, 0, 0)  # 7 days × 3 doctors × 2 clinics
    assert "0 change(s)" in first

    visit_day = start + timedelta(days=2)
    with app.app_context():
        schedule_id = db.session.scalar(select(ExternalId.internal_id).where(
            ExternalId.hospital_id == made["hospital_id"], ExternalId.kind == "schedule",
            ExternalId.external_id == f"DR001-{visit_day:%Y%m%d}-MO"))
        db.session.remove()
    assert book(client, verified(1)[0], schedule_id).status_code == 201

    second = run(app, made, start)
    assert counts(second, "schedules") == (0, 0, 42)
    assert counts(second, "departments") == (0, 0, 2)
    assert f"schedule=DR001-{visit_day:%Y%m%d}-MO" in second and "1 change(s)" in second


def test_the_demo_runs_with_the_demo_datas_key(app, client):
    """`make run` seeds the first demo hospital's key (development configuration): the script
    needs no key arguments there."""
    from config import DevelopmentConfig

    from app.seed import seed_demo_data

    app.config.update(DEMO_HOSPITAL_KEY_ID=DevelopmentConfig.DEMO_HOSPITAL_KEY_ID,
                      DEMO_HOSPITAL_SECRET=DevelopmentConfig.DEMO_HOSPITAL_SECRET)
    try:
        with app.app_context():
            lines = seed_demo_data()
            again = seed_demo_data()
            db.session.remove()
    finally:
        app.config.pop("DEMO_HOSPITAL_KEY_ID")
        app.config.pop("DEMO_HOSPITAL_SECRET")
    assert any(line.startswith("created the open API key hk_") for line in lines), lines
    assert not any("open API key" in line for line in again)
    output = run(app, None, local_today() + timedelta(days=1))
    assert counts(output, "departments") == (2, 0, 0)
    assert counts(output, "schedules") == (42, 0, 0)
