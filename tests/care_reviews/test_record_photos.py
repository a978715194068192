"""Photos of service records: the caregiver's own uploads, read through the order by its family
(/care-orders/...) and its caregiver (/caregiver/care-orders/...); anyone else, another order's
record, an index past the photos: 404. Needs the two photo routes in app/care_orders/views.py."""
import io

from tests.care_orders.conftest import API, CAREGIVER_API
from tests.care_reviews.conftest import order_at

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 64


def upload(client, person, data, name="photo.png"):
    response = client.post("/api/v1/files", headers=person["headers"],
                           content_type="multipart/form-data",
                           data={"purpose": "attachment", "file": (io.BytesIO(data), name)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def as_caregiver(url):
    return url.replace("/api/v1/care-orders/", "/api/v1/caregiver/care-orders/", 1)


def error_code(response):
    return response.get_json()["error"]["code"]


def test_family_and_caregiver_read_the_photos_nobody_else(app, client, care_world):
    caregiver, other_caregiver = care_world["caregiver"](), care_world["caregiver"]()
    family, stranger = care_world["family"](), care_world["family"]("孙七")
    photos = [upload(client, caregiver, PNG), upload(client, caregiver, JPEG, "b.jpg")]
    order_id = order_at(app, client, care_world, caregiver, family, stage="in_service",
                        record={"care_given": "擦身、翻身", "photo_file_ids": photos})
    records = client.get(f"{API}/{order_id}/records", headers=family["headers"]).get_json()
    urls = records[0]["photo_urls"]
    assert len(urls) == 2

    for url, data, mimetype in ((urls[0], PNG, "image/png"), (urls[1], JPEG, "image/jpeg")):
        seen = client.get(url, headers=family["headers"])
        assert seen.status_code == 200 and seen.data == data and seen.mimetype == mimetype
        assert seen.headers["Cache-Control"] == "private, no-store"
        assert seen.headers["X-Content-Type-Options"] == "nosniff"
        own = client.get(as_caregiver(url), headers=caregiver["headers"])
        assert own.status_code == 200 and own.data == data and own.mimetype == mimetype

    for person in (stranger, caregiver):  # the family route is the family's
        refused = client.get(urls[0], headers=person["headers"])
        assert refused.status_code == 404 and error_code(refused) == "care_order_not_found"
    refused = client.get(as_caregiver(urls[0]), headers=other_caregiver["headers"])
    assert refused.status_code == 404 and error_code(refused) == "care_order_not_found"
    refused = client.get(as_caregiver(urls[0]), headers=family["headers"])
    assert refused.status_code == 404 and error_code(refused) == "caregiver_not_found"
    assert client.get(urls[0]).status_code == 401
    # the file itself stays the caregiver's: the family cannot fetch it by id
    assert client.get(f"/api/v1/files/{photos[0]}", headers=family["headers"]).status_code == 404

    base = urls[0].rsplit("/", 1)[0]
    for index in ("2", "99999999", "-1", "x"):
        for url, person in ((f"{base}/{index}", family),
                            (as_caregiver(f"{base}/{index}"), caregiver)):
            missing = client.get(url, headers=person["headers"])
            assert missing.status_code == 404, (url, missing.get_json())

    # still readable once the order is done
    client.post(f"{CAREGIVER_API}/{order_id}/end", headers=caregiver["headers"])
    client.post(f"{API}/{order_id}/confirm", headers=family["headers"])
    assert client.get(urls[1], headers=family["headers"]).data == JPEG


def test_a_record_is_read_only_through_its_own_order(app, client, care_world):
    from app.care_orders.models import CareServiceRecord
    from app.extensions import db

    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    photo = upload(client, caregiver, PNG)
    first = order_at(app, client, care_world, caregiver, family, stage="in_service",
                     record={"condition": "平稳", "photo_file_ids": [photo]})
    client.post(f"{CAREGIVER_API}/{first}/end", headers=caregiver["headers"])
    second = order_at(app, client, care_world, caregiver, family, days_ahead=5,
                      stage="in_service", record={"condition": "平稳"})
    url = client.get(f"{API}/{first}/records",
                     headers=family["headers"]).get_json()[0]["photo_urls"][0]
    record_id = int(url.split("/records/")[1].split("/")[0])
    assert client.get(url, headers=family["headers"]).status_code == 200
    for path in (f"{API}/{second}/records/{record_id}/photos/0",
                 f"{API}/{first}/records/{record_id + 100}/photos/0"):
        for candidate, person in ((path, family), (as_caregiver(path), caregiver)):
            missing = client.get(candidate, headers=person["headers"])
            assert missing.status_code == 404 and error_code(missing) == "file_not_found"

    # a record pointing at someone else's file (never through add_record) shows nothing
    outsider = care_world["family"]("周八")
    foreign = upload(client, outsider, JPEG)
    with app.app_context():
        db.session.get(CareServiceRecord, record_id).photo_file_ids = [foreign]
        db.session.commit()
        db.session.remove()
    for candidate, person in ((url, family), (as_caregiver(url), caregiver)):
        refused = client.get(candidate, headers=person["headers"])
        assert refused.status_code == 404 and error_code(refused) == "file_not_found"
