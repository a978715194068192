"""A "hospital system" pushing a week of its own schedules to the platform through the SDK.

    python scripts/hospital_demo.py --base-url http://127.0.0.1:5000 \
        --key-id hk_... --secret hs_... [--days 7] [--start YYYY-MM-DD]

(--key-id / --secret default to $HOSPITAL_KEY_ID / $HOSPITAL_SECRET, else to the key `make run`'s
demo data gives the first demo hospital: DEMO_HOSPITAL_KEY_ID / _SECRET in config.py's
development configuration.) It upserts two departments,
three doctors and, for each of the next --days days, a morning and an afternoon clinic per
doctor; prints the created / updated / unchanged counts of each batch (run it twice: the
second run is all "unchanged"), then the registrations changed since the start of the feed.

Getting a key for another hospital (a secret is shown once only):
1. as a user, POST /api/v1/hospital-applications (name, level, region codes, address,
   contact, licence_file_id of a file uploaded with purpose "qualification");
2. as staff with the operator role, POST /api/v1/staff/hospital-applications/<id>/approve:
   the answer's "key" holds key_id and secret (shown once). Rotate with
   POST /api/v1/staff/hospitals/<hospital_id>/api-keys/rotate.

Exit status: 0 when every batch was accepted, 1 on an API error (printed with its code).
"""
import argparse
import os
import sys
from datetime import date, time, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # config.py: the demo key

from config import DevelopmentConfig  # noqa: E402

# the SDK as a hospital installs it (requirements.txt installs sdk/ into .venv)
from hospital_sdk import Department, Doctor, OpenApiClient, OpenApiError, Schedule  # noqa: E402

# the hospital system's own ids (the platform's demo departments already use NK, XXG…)
DEPARTMENTS = [Department("HIS-NK", "内科", sort_order=1),
               Department("HIS-XNK", "心血管内科", parent_external_id="HIS-NK", sort_order=1)]
DOCTORS = [Doctor("DR001", "HIS-XNK", "李建华", "主任医师", specialty="冠心病、高血压"),
           Doctor("DR002", "HIS-XNK", "王芳", "副主任医师", specialty="心律失常"),
           Doctor("DR003", "HIS-XNK", "赵磊", "主治医师")]
CLINICS = [("morning", time(8, 0), time(12, 0), 20), ("afternoon", time(13, 30), time(17, 0), 15)]
FEES = {"主任医师": 5000, "副主任医师": 3000, "主治医师": 1500}


def week(start: date, days: int) -> list[Schedule]:
    clinics = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        for doctor in DOCTORS:
            for period, begin, end, total in CLINICS:
                clinics.append(Schedule(f"{doctor.external_id}-{day:%Y%m%d}-{period[:2].upper()}",
                                        doctor.external_id, day, period, begin, end,
                                        total=total, fee_fen=FEES[doctor.title]))
    return clinics


def report(label: str, result) -> None:
    print(f"{label:<12} created={result.created:<4} updated={result.updated:<4} "
          f"unchanged={result.unchanged:<4} requests={result.requests}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("PLATFORM_URL",
                                                             "http://127.0.0.1:5000"))
    parser.add_argument("--key-id", default=os.environ.get("HOSPITAL_KEY_ID",
                                                           DevelopmentConfig.DEMO_HOSPITAL_KEY_ID))
    parser.add_argument("--secret", default=os.environ.get("HOSPITAL_SECRET",
                                                           DevelopmentConfig.DEMO_HOSPITAL_SECRET))
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--start", type=date.fromisoformat,
                        default=date.today() + timedelta(days=1),
                        help="first clinic day (default: tomorrow)")
    args = parser.parse_args(argv)
    if not args.key_id or not args.secret:
        parser.error("--key-id and --secret are required (see the module docstring for how to "
                     "get them through the staff API)")

    clinics = week(args.start, args.days)
    print(f"hospital system → {args.base_url} as {args.key_id}: {len(DEPARTMENTS)} departments, "
          f"{len(DOCTORS)} doctors, {len(clinics)} clinics from {args.start}")
    with OpenApiClient(args.base_url, args.key_id, args.secret) as client:
        try:
            report("departments", client.upsert_departments(DEPARTMENTS))
            report("doctors", client.upsert_doctors(DOCTORS))
            report("schedules", client.upsert_schedules(clinics))
            count = 0
            print("registration changes:")
            for page in client.iter_registration_change_pages(limit=100):
                for change in page.items:
                    count += 1
                    print(f"  {change.order_no} {change.status:<10} "
                          f"schedule={change.schedule_external_id} "
                          f"day={change.data.get('visit_date')} "
                          f"patient={change.data.get('patient_name')} at {change.changed_at}")
                cursor = page.next_cursor
            print(f"  {count} change(s); next cursor: {cursor or '(none)'}")
        except OpenApiError as error:
            print(f"error: {error}", file=sys.stderr)
            if error.details:
                print(f"details: {error.details}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
