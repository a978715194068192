"""The dictionary's console pages: browse, search, edit, upload and watch the import, export."""
import io

from tests.console.conftest import console, csrf, text  # noqa: F401  (the console fixture)
from tests.dictionary.test_dictionary import sheet_rows, snapshot, workbook


def test_browse_search_and_edit(app, console):  # noqa: F811
    client, _ = console("admin")
    page = client.get("/console/dictionary?category=region&parent=440100")
    assert page.status_code == 200
    body = text(page)
    assert "越秀区" in body and "广东省" in body and 'id="node-440104"' in body
    assert "越秀区" in text(client.get("/console/dictionary?category=region&q=440104"))
    token = csrf(client, "/console/dictionary/region/440104")
    saved = client.post("/console/dictionary/region/440104", data={
        "csrf_token": token, "name": "越秀区(改)", "sort_order": "3", "is_active": "1",
        "parent_code": "440100"})
    assert saved.status_code == 303
    assert "越秀区(改)" in text(client.get("/console/dictionary/region/440104"))
    # a move into its own subtree: the error page, nothing changed
    before = snapshot(app)
    refused = client.post("/console/dictionary/region/440000", data={
        "csrf_token": csrf(client, "/console/dictionary/region/440000"), "name": "广东省",
        "sort_order": "0", "is_active": "1", "parent_code": "440104"})
    assert refused.status_code == 409 and "不能" in text(refused)
    assert snapshot(app) == before
    created = client.post("/console/dictionary/education", data={
        "csrf_token": csrf(client, "/console/dictionary?category=education"), "code": "16",
        "name": "博士后", "parent_code": "10", "sort_order": "1"})
    assert created.status_code == 303
    assert ("education", "16", "博士后", "10", 1, True) in snapshot(app)


def test_upload_report_and_export(app, console):  # noqa: F811
    client, _ = console("admin")
    token = csrf(client, "/console/dictionary")
    bad = workbook([("民族", "5", "一位", None, 0, "是")])
    before = snapshot(app)
    page = client.post("/console/dictionary/import", data={
        "csrf_token": token, "mode": "upsert", "file": (io.BytesIO(bad), "bad.xlsx")},
        content_type="multipart/form-data")
    assert page.status_code == 422 and 'id="import-errors"' in text(page)
    assert "<td>2</td>" in text(page) and snapshot(app) == before
    good = workbook([("民族", "97", "其他未识别民族", None, 970, "是")])
    done = client.post("/console/dictionary/import", data={
        "csrf_token": csrf(client, "/console/dictionary"), "mode": "upsert",
        "file": (io.BytesIO(good), "good.xlsx")}, content_type="multipart/form-data")
    assert done.status_code == 303
    status = client.get(done.headers["Location"])
    assert "已全部导入" in text(status) and 'http-equiv="refresh"' not in text(status)
    export = client.get("/console/dictionary/export?category=ethnicity")
    assert export.status_code == 200
    assert ("民族", "97", "其他未识别民族", None, 970, "是") in sheet_rows(export.data)


def test_operator_reads_but_cannot_edit(console):  # noqa: F811
    client, _ = console("operator")
    assert client.get("/console/dictionary").status_code == 200
    assert client.post("/console/dictionary/education", data={
        "csrf_token": csrf(client, "/console/dictionary"), "code": "16",
        "name": "x"}).status_code == 403
    reviewer, _ = console("reviewer")
    assert reviewer.get("/console/dictionary").status_code == 403
