"""The API docs page (Swagger UI at /api/docs) in a real headless Chromium, with every host but
this machine unresolvable: the page must load its assets from the app and list the operations.

Needs Debian's chromium (`apt-get install chromium chromium-driver`; .ci/run installs it). A
missing browser fails the test: it is never skipped.
"""
import os
import re
import shutil
import subprocess
import tempfile
from html import unescape

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_binary() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("headless Chromium is needed for the docs page test and was not found: "
                "apt-get install -y chromium chromium-driver")


def rendered_dom(url: str) -> str:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        result = subprocess.run([
            chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--disable-default-apps", "--disable-extensions", f"--user-data-dir={profile}",
            # offline: no name resolves except this machine, so a CDN asset could not load
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--virtual-time-budget=15000", "--dump-dom", url,
        ], capture_output=True, text=True, timeout=120,
            env={**os.environ, "HOME": profile})
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_docs_page_is_served_without_any_cdn(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, html
    assert all(asset.startswith("/") and not asset.startswith("//") for asset in assets), assets
    for asset in assets:
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert len(answer.data) > 1000, asset


def test_chromium_renders_every_operation_and_the_authorize_button(app, client):
    spec = client.get("/api/openapi.json").get_json()
    dom = unescape(rendered_dom(app.config["LIVE_URL"] + "/api/docs"))

    assert "swagger-ui" in dom and 'class="info"' in dom, dom[:2000]
    assert spec["info"]["title"] in dom
    # the bearer scheme gives the page its Authorize button
    assert re.search(r'class="btn authorize[^"]*"', dom), "no Authorize button"
    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            summary = operation.get("summary")
            if not summary or summary not in dom:
                missing.append(f"{method.upper()} {path}: {summary!r}")
    assert not missing, "operations not listed on the docs page:\n" + "\n".join(missing)
    # what a developer reads: the operation's method and path
    assert "/api/v1/registrations" in dom and "/api/v1/hospitals/{hospital_id}" in dom.replace(
        "\u200b", "")
