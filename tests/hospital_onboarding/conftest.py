import io

import pytest

PDF = b"%PDF-1.7\n" + b"0" * 64

APPLICATION = {"name": "测试协和医院", "level": "3A", "province_code": "110000",
               "city_code": "110100", "district_code": "110101", "address": "北京市东城区帅府园1号",
               "phone": "010-69156114", "contact_name": "张建国", "contact_phone": "13812345678"}


def upload_licence(client, user) -> int:
    response = client.post("/api/v1/files", headers=user["headers"],
                           content_type="multipart/form-data",
                           data={"purpose": "qualification", "file": (io.BytesIO(PDF), "l.pdf")})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def apply(client, user, **overrides):
    body = {**APPLICATION, "licence_file_id": upload_licence(client, user), **overrides}
    return client.post("/api/v1/hospital-applications", headers=user["headers"], json=body)


@pytest.fixture
def approved_hospital(client, staff_factory):
    """Apply as a fresh user and approve as an operator: {hospital_id, key_id, secret, staff}."""
    from tests.conftest import login, auth

    operator = staff_factory("operator")
    counter = {"n": 0}

    def make(name="测试协和医院"):
        counter["n"] += 1
        data = login(client, f"wx-hospital-{counter['n']}-{name}")
        user = {"headers": auth(data["token"])}
        created = apply(client, user, name=name)
        assert created.status_code == 201, created.get_json()
        approved = client.post(f"/api/v1/staff/hospital-applications/{created.get_json()['id']}"
                               "/approve", headers=operator["headers"])
        assert approved.status_code == 200, approved.get_json()
        key = approved.get_json()["key"]
        return {"hospital_id": key["hospital_id"], "key_id": key["key_id"],
                "secret": key["secret"], "operator": operator}

    return make
