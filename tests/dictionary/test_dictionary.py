"""Data dictionary: public browsing for pickers, admin edits and refusals, Excel import/export
(every bad workbook refused with nothing changed), a large import through the job, roles."""
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from app.dictionary.models import DictNode
from app.dictionary.reference import reference_nodes
from app.extensions import db
from tests.conftest import add_hospital_with_doctor, row_counts

API = "/api/v1/dictionary"
STAFF = "/api/v1/staff/dictionary"
HEADERS = ["分类", "编码", "名称", "上级编码", "排序", "启用"]


@pytest.fixture
def admin(staff_factory):
    return staff_factory("admin")


@pytest.fixture
def operator(staff_factory):
    return staff_factory("operator")


def snapshot(app):
    """Every node as (category, code, name, parent, sort, active), sorted."""
    with app.app_context():
        rows = sorted(tuple(r) for r in db.session.execute(select(
            DictNode.category, DictNode.code, DictNode.name, DictNode.parent_code,
            DictNode.sort_order, DictNode.is_active)).all())
        db.session.remove()
    return rows


def workbook(rows, headers=HEADERS) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("数据字典")
    if headers is not None:
        sheet.append(headers)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(client, staff, data: bytes, mode="upsert", filename="dict.xlsx"):
    return client.post(f"{STAFF}/imports", headers=staff["headers"],
                       data={"mode": mode, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def sheet_rows(data: bytes):
    book = load_workbook(io.BytesIO(data), read_only=True)
    rows = [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    return rows


# ---- public browsing ---------------------------------------------------------------------------

def test_seeded_reference_data_is_real(app):
    nodes = reference_nodes()
    regions = [n for n in nodes if n[0] == "region"]
    provinces = [n for n in regions if n[3] is None]
    assert len(provinces) == 34  # 31 + 台湾省, 香港, 澳门
    assert sum(1 for n in regions if n[3] and n[3].endswith("0000")) >= 333  # 地级
    ethnic = {n[1]: n[2] for n in nodes if n[0] == "ethnicity"}
    assert len(ethnic) == 56 and ethnic["01"] == "汉族" and ethnic["56"] == "基诺族"
    assert ethnic["10"] == "朝鲜族" and ethnic["23"] == "高山族"
    assert len(snapshot(app)) == len(nodes)


def test_categories_children_and_picker_path(client):
    response = client.get(f"{API}/categories")
    assert response.status_code == 200
    assert "public" in response.headers["Cache-Control"] and response.headers.get("ETag")
    keys = {c["key"]: c for c in response.get_json()["items"]}
    assert set(keys) == {"region", "hospital_level", "id_type", "department", "care_skill",
                         "education", "ethnicity"}
    assert keys["ethnicity"]["count"] == 56

    top = client.get(f"{API}/region/children?page_size=100").get_json()
    assert top["total"] == 34
    guangdong = next(i for i in top["items"] if i["code"] == "440000")
    assert guangdong["name"] == "广东省" and guangdong["has_children"] is True
    cities = client.get(f"{API}/region/children?parent=440000&page_size=100").get_json()
    assert {"440100", "440300"} <= {c["code"] for c in cities["items"]}
    assert all(c["parent_code"] == "440000" for c in cities["items"])
    districts = client.get(f"{API}/region/children?parent=440100&page_size=100").get_json()
    yuexiu = next(d for d in districts["items"] if d["code"] == "440104")
    assert yuexiu["name"] == "越秀区" and yuexiu["has_children"] is False

    node = client.get(f"{API}/region/nodes/440104").get_json()
    assert node["full_name"] == "广东省 广州市 越秀区"
    assert [p["code"] for p in node["path"]] == ["440000", "440100"]
    # the same answer again, revalidated: 304 without a body
    etag = client.get(f"{API}/region/nodes/440104").headers["ETag"]
    again = client.get(f"{API}/region/nodes/440104", headers={"If-None-Match": etag})
    assert again.status_code == 304

    assert client.get(f"{API}/region/nodes/999999").get_json()["error"]["code"] == \
        "dictionary_node_not_found"
    assert client.get(f"{API}/nope/children").status_code == 404
    assert client.get(f"{API}/region/children?parent=999999").status_code == 404


def test_search_by_code_and_name(client):
    body = client.get(f"{API}/search?q=110101").get_json()
    assert body["items"][0]["code"] == "110101" and body["items"][0]["name"] == "东城区"
    body = client.get(f"{API}/search?q=族&category=ethnicity&page_size=100").get_json()
    assert body["total"] == 56
    body = client.get(f"{API}/search?q=4401&category=region&page_size=100").get_json()
    assert body["items"] and all(i["code"].startswith("4401") for i in body["items"])
    assert client.get(f"{API}/search?q=%25").get_json()["total"] == 0  # no LIKE wildcard
    assert client.get(f"{API}/search").status_code == 422
    assert client.get(f"{API}/search?q=x&category=nope").status_code == 422


# ---- admin edits ---------------------------------------------------------------------------------

def test_admin_creates_updates_moves_and_deactivates(client, admin):
    h = admin["headers"]
    created = client.post(f"{STAFF}/education/nodes", headers=h,
                          json={"code": "15", "name": "硕士研究生(专业学位)", "parent_code": "10"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["parent_code"] == "10"
    # move it to the top level, rename, reorder
    moved = client.patch(f"{STAFF}/education/nodes/15", headers=h,
                         json={"parent_code": None, "name": "专业硕士", "sort_order": 5})
    assert moved.status_code == 200
    assert (moved.get_json()["parent_code"], moved.get_json()["name"]) == (None, "专业硕士")
    # deactivated: gone from the picker, still resolvable by code, still in the staff list
    off = client.patch(f"{STAFF}/ethnicity/nodes/56", headers=h, json={"is_active": False})
    assert off.get_json()["is_active"] is False
    picker = client.get(f"{API}/ethnicity/children?page_size=100").get_json()
    assert picker["total"] == 55 and "56" not in {i["code"] for i in picker["items"]}
    assert client.get(f"{API}/ethnicity/nodes/56").get_json()["name"] == "基诺族"
    staff_list = client.get(f"{STAFF}/ethnicity/nodes?page_size=100", headers=h).get_json()
    assert staff_list["total"] == 56
    # a new district under Guangzhou with a consistent code
    ok = client.post(f"{STAFF}/region/nodes", headers=h,
                     json={"code": "440199", "name": "测试新区", "parent_code": "440100"})
    assert ok.status_code == 201


@pytest.mark.parametrize("category,body,status,code", [
    ("education", {"code": "10", "name": "重复"}, 409, "dictionary_code_taken"),
    ("region", {"code": "44010", "name": "五位"}, 422, "dictionary_invalid_code"),
    ("region", {"code": "440198", "name": "越秀", "parent_code": "440000"}, 422,
     "dictionary_invalid_code"),  # a district directly under a province
    ("region", {"code": "450199", "name": "错前缀", "parent_code": "440100"}, 422,
     "dictionary_invalid_code"),
    ("region", {"code": "440100", "name": "重复市"}, 409, "dictionary_code_taken"),
    ("region", {"code": "440199", "name": "孤儿", "parent_code": "449900"}, 422,
     "dictionary_parent_not_found"),
    ("ethnicity", {"code": "57", "name": "下级", "parent_code": "01"}, 422,
     "dictionary_too_deep"),
    ("ethnicity", {"code": "ABC", "name": "字母"}, 422, "dictionary_invalid_code"),
    ("department", {"code": "04.99", "name": "错上级", "parent_code": "03"}, 422,
     "dictionary_invalid_code"),
    ("nope", {"code": "01", "name": "x"}, 404, "dictionary_category_not_found"),
    ("education", {"code": "16", "name": ""}, 422, "validation_error"),
])
def test_create_refusals_change_nothing(app, client, admin, category, body, status, code):
    before = snapshot(app)
    response = client.post(f"{STAFF}/{category}/nodes", headers=admin["headers"], json=body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert snapshot(app) == before


def test_move_into_own_subtree_is_a_cycle(app, client, admin):
    h = admin["headers"]
    before = snapshot(app)
    for category, code, parent in (("education", "10", "11"), ("education", "10", "10"),
                                   ("region", "440000", "440104"),
                                   ("department", "03", "03.01")):
        response = client.patch(f"{STAFF}/{category}/nodes/{code}", headers=h,
                                json={"parent_code": parent})
        assert response.status_code == 409, (category, code, response.get_json())
        assert response.get_json()["error"]["code"] == "dictionary_cycle"
    # a move that breaks the depth limit
    response = client.patch(f"{STAFF}/education/nodes/20", headers=h, json={"parent_code": "11"})
    assert response.get_json()["error"]["code"] == "dictionary_too_deep"
    # a city moved to another province: its code no longer agrees
    response = client.patch(f"{STAFF}/region/nodes/440100", headers=h,
                            json={"parent_code": "450000"})
    assert response.get_json()["error"]["code"] == "dictionary_invalid_code"
    assert client.patch(f"{STAFF}/region/nodes/999999", headers=h,
                        json={"name": "x"}).status_code == 404
    assert snapshot(app) == before


def test_roles(client, operator, staff_factory, alice):
    reviewer = staff_factory("reviewer")
    body = {"code": "16", "name": "新学历"}
    assert client.post(f"{STAFF}/education/nodes", json=body).status_code == 401
    assert client.post(f"{STAFF}/education/nodes", headers=alice["headers"],
                       json=body).status_code == 401
    assert client.post(f"{STAFF}/education/nodes", headers=operator["headers"],
                       json=body).status_code == 403
    assert client.patch(f"{STAFF}/education/nodes/10", headers=operator["headers"],
                        json={"name": "x"}).status_code == 403
    assert upload(client, operator, workbook([])).status_code == 403
    # operators read and export; reviewers do not
    assert client.get(f"{STAFF}/education/nodes", headers=operator["headers"]).status_code == 200
    assert client.get(f"{STAFF}/export", headers=operator["headers"]).status_code == 200
    assert client.get(f"{STAFF}/export", headers=reviewer["headers"]).status_code == 403
    # the public API needs no login
    assert client.get(f"{API}/education/children").status_code == 200


# ---- hospitals get region names from the dictionary --------------------------------------------

def test_hospital_region_names_come_from_the_dictionary(app, client, admin):
    with app.app_context():
        hospital, _, _ = add_hospital_with_doctor("T-GZ", "广州字典测试医院", city_code="440100")
        hospital.district_code = "440103"
        db.session.commit()
        db.session.remove()
    item = client.get("/api/v1/hospitals").get_json()["items"][0]
    assert (item["province_name"], item["city_name"], item["district_name"]) == (
        "广东省", "广州市", "荔湾区")
    # renamed in the dictionary: the hospital list shows the new name (catalogue cache dropped)
    assert client.patch(f"{STAFF}/region/nodes/440103", headers=admin["headers"],
                        json={"name": "荔湾新区"}).status_code == 200
    item = client.get("/api/v1/hospitals").get_json()["items"][0]
    assert item["district_name"] == "荔湾新区"
    detail = client.get(f"/api/v1/hospitals/{item['id']}").get_json()
    assert detail["city_name"] == "广州市"


# ---- export and import -----------------------------------------------------------------------

def test_export_has_fixed_headers_and_every_node(app, client, operator):
    response = client.get(f"{STAFF}/export?category=ethnicity", headers=operator["headers"])
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    rows = sheet_rows(response.data)
    assert list(rows[0]) == HEADERS
    assert rows[1] == ("民族", "01", "汉族", None, 0, "是")
    assert len(rows) == 57
    everything = sheet_rows(client.get(f"{STAFF}/export", headers=operator["headers"]).data)
    assert len(everything) == len(reference_nodes()) + 1


def test_round_trip_is_exact(app, client, admin):
    h = admin["headers"]
    # make the dictionary differ from the seed first, so the round trip carries real edits
    client.patch(f"{STAFF}/ethnicity/nodes/56", headers=h, json={"is_active": False})
    client.post(f"{STAFF}/department/nodes", headers=h,
                json={"code": "04.10", "name": "肛肠外科专业", "parent_code": "04",
                      "sort_order": -3})
    exported = client.get(f"{STAFF}/export", headers=h).data
    expected = snapshot(app)
    # now spoil it: rename, move, add; a replace import of the export must undo all of it
    client.patch(f"{STAFF}/region/nodes/440104", headers=h, json={"name": "改名"})
    client.patch(f"{STAFF}/education/nodes/14", headers=h, json={"parent_code": None})
    client.post(f"{STAFF}/education/nodes", headers=h, json={"code": "99", "name": "多余"})
    assert snapshot(app) != expected
    response = upload(client, admin, exported, mode="replace")
    assert response.status_code == 202, response.get_json()  # 3,500 rows: a job
    from tests.announcements.conftest import run_worker
    run_worker(app, queues=("default",))
    status = client.get(f"{STAFF}/imports/{response.get_json()['id']}", headers=h).get_json()
    assert status["status"] == "succeeded", status
    assert status["deleted_count"] == 1 and status["updated_count"] == 2
    assert snapshot(app) == expected
    again = client.get(f"{STAFF}/export", headers=h).data
    assert sheet_rows(again) == sheet_rows(exported)


def test_small_import_upserts_within_the_request(app, client, admin):
    rows = [("学历", "16", "博士后", "10", 30, "是"), ("民族", "01", "汉族(改)", None, 0, "否"),
            ("region", "440199", "测试新区", 440100, None, None)]  # a code typed as a number
    response = upload(client, admin, workbook(rows))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["status"], body["created_count"], body["updated_count"],
            body["total_rows"], body["processed_rows"]) == ("succeeded", 2, 1, 3, 3)
    data = {(c, code): (name, parent, sort, active)
            for c, code, name, parent, sort, active in snapshot(app)}
    assert data[("education", "16")] == ("博士后", "10", 30, True)
    assert data[("ethnicity", "01")] == ("汉族(改)", None, 0, False)
    assert data[("region", "440199")] == ("测试新区", "440100", 0, True)


BAD_ROWS = [
    # (rows, row number, error code)
    ([("民族", "5", "一位", None, 0, "是")], 2, "dictionary_invalid_code"),
    ([("行政区划", "440199", "错上级", "450100", 0, "是")], 2, "dictionary_invalid_code"),
    ([("行政区划", "440199", "无上级", "449900", 0, "是")], 2, "dictionary_parent_not_found"),
    ([("学历", "16", "甲", "17", 0, "是"), ("学历", "17", "乙", "16", 0, "是")], 2,
     "dictionary_cycle"),
    ([("学历", "10", "研究生", "11", 0, "是")], 2, "dictionary_cycle"),  # with the database
    ([("学历", "16", "甲", None, 0, "是"), ("学历", "16", "重复", None, 0, "是")], 3,
     "dictionary_code_taken"),
    ([("星座", "01", "白羊", None, 0, "是")], 2, "dictionary_category_not_found"),
    ([("民族", None, "无编码", None, 0, "是")], 2, "dictionary_import_required"),
    ([("民族", "57", "x", None, "abc", "是")], 2, "dictionary_import_bad_sort"),
    ([("民族", "57", "x", None, 0, "也许")], 2, "dictionary_import_bad_flag"),
    ([("民族", "57", "x" * 65, None, 0, "是")], 2, "dictionary_import_name_too_long"),
    ([("民族", "57", "x", None, 0, "是", "多余")], 2, "dictionary_import_bad_columns"),
]


@pytest.mark.parametrize("rows,row_number,code", BAD_ROWS)
def test_bad_rows_are_reported_and_nothing_changes(app, client, admin, rows, row_number, code):
    good = [("学历", "18", "正常行", None, 0, "是")]  # a valid row first: still nothing written
    before, counts = snapshot(app), row_counts(app)
    response = upload(client, admin, workbook(good + rows))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "dictionary_import_invalid"
    reported = error["details"]["errors"]
    assert any(e["row"] == row_number + 1 and e["code"] == code for e in reported), reported
    assert all(e["message"] for e in error["details"]["errors"])
    assert snapshot(app) == before and row_counts(app) == counts


@pytest.mark.parametrize("data,filename,status,code", [
    (b"hello, this is plain text", "dict.xlsx", 415, "dictionary_import_not_excel"),
    (b"%PDF-1.4 fake", "dict.pdf", 415, "dictionary_import_not_excel"),
    (b"PK\x03\x04 broken zip", "dict.xlsx", 422, "dictionary_import_corrupt"),
    (b"", "dict.xlsx", 422, "dictionary_import_file_missing"),
])
def test_not_excel_or_corrupt_files_are_refused(app, client, admin, data, filename, status, code):
    counts, before = row_counts(app), snapshot(app)
    response = upload(client, admin, data, filename=filename)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert snapshot(app) == before and row_counts(app) == counts


def test_zip_that_is_not_a_workbook_and_wrong_columns(app, client, admin):
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    counts = row_counts(app)
    assert upload(client, admin, buffer.getvalue()).get_json()["error"]["code"] == \
        "dictionary_import_not_excel"
    for headers in (["编码", "名称"], ["分类", "编码", "名称", "上级", "排序", "启用"],
                    ["分类", "编码", "名称", "上级编码", "排序", "启用", "备注"], None):
        response = upload(client, admin, workbook([("民族", "57", "x", None, 0, "是")],
                                                   headers=headers))
        assert response.status_code == 422
        assert response.get_json()["error"]["code"] == "dictionary_import_bad_columns"
    assert upload(client, admin, workbook([])).get_json()["error"]["code"] == \
        "dictionary_import_empty"
    assert client.post(f"{STAFF}/imports", headers=admin["headers"], data={},
                       content_type="multipart/form-data").get_json()["error"]["code"] == \
        "dictionary_import_file_missing"
    assert row_counts(app) == counts


def test_oversized_file_is_refused(app, client, admin):
    counts = row_counts(app)
    response = upload(client, admin, b"PK\x03\x04" + b"0" * (6 * 1024 * 1024))
    assert response.status_code == 413
    assert row_counts(app) == counts


def test_100000_rows_are_refused_before_anything_is_written(app, client, admin):
    rows = (("民族", f"{i % 100:02d}", f"名{i}", None, 0, "是") for i in range(100_000))
    data = workbook(rows)
    counts, before = row_counts(app), snapshot(app)
    response = upload(client, admin, data)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "dictionary_import_too_many_rows" and "50000" in error["message"]
    assert snapshot(app) == before and row_counts(app) == counts


def test_large_import_runs_as_a_job_with_progress(app, client, admin):
    from tests.announcements.conftest import run_worker
    h = admin["headers"]
    # a new city with 99 districts: 100 rows, above the (lowered) inline limit
    rows = [("行政区划", "449900", "测试市", "440000", 0, "是")] + [
        ("行政区划", f"4499{i:02d}", f"测试区{i}", "449900", i, "是") for i in range(1, 100)]
    app.config["DICTIONARY_IMPORT_INLINE_ROWS"] = 50
    app.config["DICTIONARY_IMPORT_PROGRESS_EVERY"] = 20
    try:
        response = upload(client, admin, workbook(rows))
        assert response.status_code == 202, response.get_json()
        queued = response.get_json()
        assert (queued["status"], queued["total_rows"], queued["processed_rows"]) == (
            "queued", 100, 0)
        assert client.get(f"{API}/region/nodes/449901").status_code == 404
        run_worker(app, queues=("default",))
    finally:
        app.config.pop("DICTIONARY_IMPORT_INLINE_ROWS")
        app.config.pop("DICTIONARY_IMPORT_PROGRESS_EVERY")
    done = client.get(f"{STAFF}/imports/{queued['id']}", headers=h).get_json()
    assert (done["status"], done["processed_rows"], done["created_count"], done["errors"]) == (
        "succeeded", 100, 100, [])
    assert client.get(f"{API}/region/nodes/449901").get_json()["full_name"] == \
        "广东省 测试市 测试区1"
    listed = client.get(f"{STAFF}/imports", headers=h).get_json()
    assert listed["items"][0]["id"] == queued["id"]


def test_large_import_with_errors_fails_whole_through_the_job(app, client, admin):
    from tests.announcements.conftest import run_worker
    rows = [("行政区划", "449900", "测试市", "440000", 0, "是")] + [
        ("行政区划", f"4499{i:02d}", f"测试区{i}", "449900", i, "是") for i in range(1, 100)]
    rows[60] = ("行政区划", "459960", "错前缀", "449900", 0, "是")  # Excel row 62
    app.config["DICTIONARY_IMPORT_INLINE_ROWS"] = 50
    try:
        response = upload(client, admin, workbook(rows))
        assert response.status_code == 202
        before = snapshot(app)
        run_worker(app, queues=("default",))
    finally:
        app.config.pop("DICTIONARY_IMPORT_INLINE_ROWS")
    done = client.get(f"{STAFF}/imports/{response.get_json()['id']}",
                      headers=admin["headers"]).get_json()
    assert done["status"] == "failed" and done["error_count"] == 1
    assert done["errors"][0]["row"] == 62 and done["errors"][0]["code"] == \
        "dictionary_invalid_code"
    assert snapshot(app) == before
    assert client.get(f"{STAFF}/imports/999999", headers=admin["headers"]).status_code == 404
