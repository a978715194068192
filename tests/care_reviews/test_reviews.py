"""Reviews of completed care orders through HTTP: the family reviews once, the caregiver's
rating follows, the caregiver replies once, the public reads them masked."""
import json

import pytest

from tests.care_orders.conftest import API, CAREGIVER_API
from tests.care_reviews.conftest import (caregiver_rating, notifications, order_at,
                                         review_rows)

PUBLIC = "/api/v1/caregivers"


def review(client, person, order_id, body=None, **fields):
    return client.post(f"{API}/{order_id}/review", json=body if body is not None else fields,
                       headers=person["headers"])


def error_code(response):
    return response.get_json()["error"]["code"]


def test_whole_flow_review_rating_reply_and_notices(app, client, care_world):
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = order_at(app, client, care_world, caregiver, family)
    assert caregiver_rating(app, caregiver["id"]) == (None, 0)

    nothing = client.get(f"{API}/{order_id}/review", headers=family["headers"])
    assert nothing.status_code == 404 and error_code(nothing) == "review_not_found"
    early_reply = client.post(f"{CAREGIVER_API}/{order_id}/review-reply", json={"reply": "谢谢"},
                              headers=caregiver["headers"])
    assert early_reply.status_code == 404 and error_code(early_reply) == "review_not_found"

    created = review(client, family, order_id, stars=4, tags=["punctual", "patient"],
                     text="  很细心,准时到  ")
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["order_id"], body["caregiver_id"], body["stars"]) == (order_id, caregiver["id"], 4)
    assert body["tags"] == [{"code": "punctual", "name": "准时守约"},
                            {"code": "patient", "name": "耐心周到"}]
    assert body["text"] == "很细心,准时到" and body["reply"] is None
    assert body["care_type"] == "full_day" and body["care_type_name"]
    assert body["created_at"].endswith("+08:00")
    assert caregiver_rating(app, caregiver["id"]) == (4.0, 1)
    assert ("care_order_reviewed", "收到新的评价") in notifications(client, caregiver)

    timeline = client.get(f"{API}/{order_id}", headers=family["headers"]).get_json()["timeline"]
    assert timeline[-1]["kind"] == "reviewed" and timeline[-1]["status"] == "completed"

    seen = client.get(f"{CAREGIVER_API}/{order_id}/review", headers=caregiver["headers"])
    assert seen.status_code == 200 and seen.get_json() == body

    replied = client.post(f"{CAREGIVER_API}/{order_id}/review-reply",
                          json={"reply": " 感谢认可,祝早日康复 "}, headers=caregiver["headers"])
    assert replied.status_code == 200, replied.get_json()
    assert replied.get_json()["reply"] == "感谢认可,祝早日康复"
    assert replied.get_json()["replied_at"]
    again = client.post(f"{CAREGIVER_API}/{order_id}/review-reply", json={"reply": "再说一次"},
                        headers=caregiver["headers"])
    assert again.status_code == 409 and error_code(again) == "already_replied"
    assert review_rows(app)[0][4] == "感谢认可,祝早日康复"
    assert ("care_review_replied", "护工回复了您的评价") in notifications(client, family)

    mine = client.get(f"{API}/{order_id}/review", headers=family["headers"]).get_json()
    assert mine["reply"] == "感谢认可,祝早日康复" and mine["stars"] == 4

    page = client.get(f"{PUBLIC}/{caregiver['id']}/reviews").get_json()
    assert page["total"] == 1 and page["items"][0]["reply"] == "感谢认可,祝早日康复"
    detail = client.get(f"{PUBLIC}/{caregiver['id']}").get_json()
    assert detail["rating_avg"] == 4.0 and detail["rating_count"] == 1
    assert detail["rating"]["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}
    assert [r["id"] for r in detail["recent_reviews"]] == [body["id"]]
    assert detail["review_tags"] == [{"code": "punctual", "name": "准时守约", "count": 1},
                                     {"code": "patient", "name": "耐心周到", "count": 1}]


def test_rating_is_the_average_of_every_review(app, client, care_world):
    caregiver = care_world["caregiver"]()
    first, second = care_world["family"](), care_world["family"]("李四")
    orders = [(first, order_at(app, client, care_world, caregiver, first, days_ahead=2)),
              (second, order_at(app, client, care_world, caregiver, second, days_ahead=4)),
              (first, order_at(app, client, care_world, caregiver, first, days_ahead=6))]
    expected = []
    for (person, order_id), stars in zip(orders, (5, 4, 3)):
        assert review(client, person, order_id, stars=stars).status_code == 201
        expected.append(stars)
        assert caregiver_rating(app, caregiver["id"]) == (sum(expected) / len(expected),
                                                          len(expected))
    assert caregiver_rating(app, caregiver["id"]) == (4.0, 3)
    other = care_world["caregiver"]()  # untouched by someone else's reviews
    assert caregiver_rating(app, other["id"]) == (None, 0)
    card = client.get(f"{PUBLIC}?city_code=110100").get_json()["items"]
    assert {c["id"]: (c["rating_avg"], c["rating_count"]) for c in card}[caregiver["id"]] \
        == (4.0, 3)


def test_reviewing_twice_is_refused_and_changes_nothing(app, client, care_world):
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = order_at(app, client, care_world, caregiver, family)
    assert review(client, family, order_id, stars=5, tags=["professional"],
                  text="很好").status_code == 201
    before = (review_rows(app), caregiver_rating(app, caregiver["id"]))
    twice = review(client, family, order_id, stars=1, tags=["late"], text="改成差评")
    assert twice.status_code == 409 and error_code(twice) == "already_reviewed"
    assert (review_rows(app), caregiver_rating(app, caregiver["id"])) == before
    assert before[1] == (5.0, 1)


@pytest.mark.parametrize("stage", ["paid", "accepted", "in_service", "awaiting_confirmation"])
def test_only_completed_orders_can_be_reviewed(app, client, care_world, stage):
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = order_at(app, client, care_world, caregiver, family, stage=stage)
    refused = review(client, family, order_id, stars=5)
    assert refused.status_code == 409 and error_code(refused) == "order_not_completed"
    assert review_rows(app) == [] and caregiver_rating(app, caregiver["id"]) == (None, 0)


def test_cancelled_order_cannot_be_reviewed(app, client, care_world):
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = order_at(app, client, care_world, caregiver, family, stage="paid")
    cancelled = client.post(f"{API}/{order_id}/cancel", json={}, headers=family["headers"])
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    refused = review(client, family, order_id, stars=1)
    assert refused.status_code == 409 and error_code(refused) == "order_not_completed"


def test_other_peoples_orders_are_not_found(app, client, care_world):
    caregiver, stranger_caregiver = care_world["caregiver"](), care_world["caregiver"]()
    family, stranger = care_world["family"](), care_world["family"]("赵六")
    order_id = order_at(app, client, care_world, caregiver, family)
    for person in (stranger, caregiver):  # the caregiver is not the order's family either
        refused = review(client, person, order_id, stars=5)
        assert refused.status_code == 404 and error_code(refused) == "care_order_not_found"
    missing = review(client, family, order_id + 1000, stars=5)
    assert missing.status_code == 404 and error_code(missing) == "care_order_not_found"
    assert review_rows(app) == []

    assert review(client, family, order_id, stars=5).status_code == 201
    peek = client.get(f"{API}/{order_id}/review", headers=stranger["headers"])
    assert peek.status_code == 404 and error_code(peek) == "care_order_not_found"
    wrong_caregiver = client.get(f"{CAREGIVER_API}/{order_id}/review",
                                 headers=stranger_caregiver["headers"])
    assert wrong_caregiver.status_code == 404
    assert error_code(wrong_caregiver) == "care_order_not_found"
    not_a_caregiver = client.post(f"{CAREGIVER_API}/{order_id}/review-reply",
                                  json={"reply": "冒充"}, headers=family["headers"])
    assert not_a_caregiver.status_code == 404
    assert error_code(not_a_caregiver) == "caregiver_not_found"
    other_reply = client.post(f"{CAREGIVER_API}/{order_id}/review-reply", json={"reply": "冒充"},
                              headers=stranger_caregiver["headers"])
    assert other_reply.status_code == 404 and error_code(other_reply) == "care_order_not_found"
    assert review_rows(app)[0][4] is None


BAD_REVIEWS = [
    {"stars": 0}, {"stars": 6}, {"stars": "5"}, {"stars": 4.0}, {"stars": True},
    {"stars": None}, {}, {"tags": ["punctual"]},
    {"stars": 5, "tags": ["unknown_tag"]}, {"stars": 5, "tags": ["punctual", "punctual"]},
    {"stars": 5, "tags": ["punctual", "professional", "patient", "friendly", "clean",
                          "experienced"]},
    {"stars": 5, "tags": "punctual"}, {"stars": 5, "tags": [1]},
    {"stars": 5, "text": "好" * 501}, {"stars": 5, "text": 5},
    {"stars": 5, "order_id": 1},
]


def test_bad_input_is_422_and_changes_nothing(app, client, care_world):
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = order_at(app, client, care_world, caregiver, family)
    for body in BAD_REVIEWS:
        refused = review(client, family, order_id, body)
        assert refused.status_code == 422, (body, refused.get_json())
    surrogate = client.post(f"{API}/{order_id}/review", headers=family["headers"],
                            data='{"stars": 5, "text": "\\ud800好"}',
                            content_type="application/json")
    assert surrogate.status_code == 422, surrogate.get_json()
    not_json = client.post(f"{API}/{order_id}/review", headers=family["headers"],
                           data="stars=5", content_type="text/plain")
    assert not_json.status_code == 415
    assert review_rows(app) == [] and caregiver_rating(app, caregiver["id"]) == (None, 0)
    assert "care_order_reviewed" not in [kind for kind, _ in notifications(client, caregiver)]

    # at the limits it is taken
    ok = review(client, family, order_id, stars=1, text="差" * 500,
                tags=["late", "careless", "poor_attitude", "clean", "friendly"])
    assert ok.status_code == 201, ok.get_json()
    for body in ({"reply": ""}, {"reply": "   "}, {"reply": "谢" * 501}, {},
                 {"reply": None}):
        refused = client.post(f"{CAREGIVER_API}/{order_id}/review-reply", json=body,
                              headers=caregiver["headers"])
        assert refused.status_code == 422, (body, refused.get_json())
    surrogate = client.post(f"{CAREGIVER_API}/{order_id}/review-reply",
                            headers=caregiver["headers"], data='{"reply": "\\udfff"}',
                            content_type="application/json")
    assert surrogate.status_code == 422
    assert review_rows(app)[0][4] is None


def test_public_list_masks_the_reviewer_and_shows_nothing_private(app, client, care_world):
    from app.extensions import db
    from app.users.models import User

    caregiver = care_world["caregiver"]()
    named, anonymous = care_world["family"]("王小明"), care_world["family"]("钱多多")
    with app.app_context():
        db.session.get(User, named["id"]).nickname = "小明妈妈"
        db.session.commit()
        db.session.remove()
    ids = []
    for day, (person, stars, tags) in enumerate(((named, 5, ["patient", "punctual"]),
                                                 (anonymous, 3, ["late"]),
                                                 (named, 5, ["patient"]),
                                                 (anonymous, 4, ["patient", "clean"]))):
        order_id = order_at(app, client, care_world, caregiver, person, days_ahead=2 + 2 * day)
        ids.append(order_id)
        assert review(client, person, order_id, stars=stars, tags=tags,
                      text=f"第{day + 1}次").status_code == 201

    response = client.get(f"{PUBLIC}/{caregiver['id']}/reviews?page_size=3")
    assert response.status_code == 200, response.get_json()
    page = response.get_json()
    assert page["total"] == 4 and page["page_size"] == 3
    assert [item["text"] for item in page["items"]] == ["第4次", "第3次", "第2次"]  # newest first
    assert [item["reviewer"] for item in page["items"]] == ["匿名用户", "小**妈", "匿名用户"]
    assert set(page["items"][0]) == {"id", "stars", "tags", "text", "reply", "replied_at",
                                     "care_type", "care_type_name", "created_at", "reviewer"}
    summary = page["summary"]
    assert summary["rating_avg"] == 4.25 and summary["rating_count"] == 4
    assert summary["distribution"] == {"1": 0, "2": 0, "3": 1, "4": 1, "5": 2}
    assert summary["tags"] == [{"code": "patient", "name": "耐心周到", "count": 3},
                               {"code": "punctual", "name": "准时守约", "count": 1},
                               {"code": "clean", "name": "干净整洁", "count": 1},
                               {"code": "late", "name": "迟到", "count": 1}]
    last = client.get(f"{PUBLIC}/{caregiver['id']}/reviews?page=2&page_size=3").get_json()
    assert [item["text"] for item in last["items"]] == ["第1次"]

    detail = client.get(f"{PUBLIC}/{caregiver['id']}").get_json()
    assert [r["text"] for r in detail["recent_reviews"]] == ["第4次", "第3次", "第2次"]
    assert detail["recent_reviews"] == page["items"]
    assert detail["review_tags"] == summary["tags"]
    assert detail["rating"] == {"avg": 4.25, "count": 4, "distribution": summary["distribution"]}

    text = response.get_data(as_text=True) + json.dumps(detail, ensure_ascii=False)
    for secret in ("王小明", "钱多多", "小明妈妈", "心内科", "12床", "术后", "needs", "patient_name",
                   "order_id", "user_id", "13700000001"):
        assert secret not in text, secret
    with app.app_context():
        from app.care_orders.models import CareOrder
        order_nos = [db.session.get(CareOrder, order_id).order_no for order_id in ids]
        db.session.remove()
    assert not any(order_no in text for order_no in order_nos)


def test_public_reviews_only_of_listed_caregivers(app, client, care_world):
    from app.caregivers.models import Caregiver
    from app.extensions import db
    from app.users.models import User

    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = order_at(app, client, care_world, caregiver, family)
    assert review(client, family, order_id, stars=5).status_code == 201
    assert client.get(f"{PUBLIC}/{caregiver['id']}/reviews").status_code == 200
    missing = client.get(f"{PUBLIC}/{caregiver['id'] + 999}/reviews")
    assert missing.status_code == 404 and error_code(missing) == "caregiver_not_found"

    with app.app_context():
        db.session.get(Caregiver, caregiver["id"]).status = "suspended"
        db.session.commit()
        db.session.remove()
    for url in (f"{PUBLIC}/{caregiver['id']}/reviews", f"{PUBLIC}/{caregiver['id']}"):
        hidden = client.get(url)
        assert hidden.status_code == 404 and error_code(hidden) == "caregiver_not_found", url

    with app.app_context():
        db.session.get(Caregiver, caregiver["id"]).status = "approved"
        db.session.get(User, caregiver["user_id"]).status = "banned"
        db.session.commit()
        db.session.remove()
    assert client.get(f"{PUBLIC}/{caregiver['id']}/reviews").status_code == 404

    for query in ("page=0", "page_size=51", "page=x", "page_size=-1"):
        refused = client.get(f"{PUBLIC}/{caregiver['id']}/reviews?{query}")
        assert refused.status_code == 422, query


def test_review_tags_list(client):
    response = client.get("/api/v1/review-tags")
    assert response.status_code == 200
    tags = response.get_json()
    from app.care_reviews.models import REVIEW_TAGS
    assert [(t["code"], t["name"]) for t in tags] == list(REVIEW_TAGS.items())
    assert {t["code"] for t in tags if not t["positive"]} == {"late", "careless", "poor_attitude"}
