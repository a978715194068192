"""A whole order as the mini-program drives it: quote, book, pay, accept, start, record,
end, confirm; the money adds up."""
from tests.care_orders.conftest import (API, CAREGIVER_API, book, busy_blocks, money,
                                        order_body, order_row, pay, run_jobs, set_order)


def test_chosen_caregiver_journey(app, client, care_world):
    caregiver = care_world["caregiver"](night_service=True, night_surcharge_fen=2000)
    family = care_world["family"]()
    body = order_body(care_world, family, caregiver, hours=48)

    quoted = client.post(f"{API}/quote", json=body, headers=family["headers"])
    assert quoted.status_code == 200, quoted.get_json()
    quote = quoted.get_json()
    assert quote["units"] == 2 and quote["unit_price_fen"] == 30000
    assert quote["nights"] == 0 and quote["night_fen"] == 0  # 全天: nights are in the price
    assert quote["total_fen"] == 60000

    created = book(client, family, body)
    assert created.status_code == 201, created.get_json()
    result = created.get_json()
    order_id = result["order"]["id"]
    assert result["order"]["status"] == "pending_payment"
    assert result["order"]["price"]["total_fen"] == quote["total_fen"]
    assert result["payment"]["amount_fen"] == quote["total_fen"]
    assert len(busy_blocks(app, order_id)) == 1

    pay(app, result)
    assert order_row(app, order_id)["status"] == "awaiting_acceptance"

    inbox = client.get(f"{CAREGIVER_API}?view=inbox", headers=caregiver["headers"]).get_json()
    assert [item["id"] for item in inbox["items"]] == [order_id]
    assert inbox["items"][0]["acceptance_deadline"]
    assert inbox["items"][0]["patient_name"] == "王*明"

    accepted = client.post(f"{CAREGIVER_API}/{order_id}/accept", headers=caregiver["headers"])
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["status"] == "accepted"

    early = client.post(f"{CAREGIVER_API}/{order_id}/start", json={},
                        headers=caregiver["headers"])
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "too_early_to_start"
    from datetime import timedelta
    from app.common.time import utcnow
    row = order_row(app, order_id)
    set_order(app, order_id, start_at=utcnow() + timedelta(minutes=10),
              end_at=utcnow() + timedelta(hours=47))
    started = client.post(f"{CAREGIVER_API}/{order_id}/start",
                          json={"latitude": 39.9, "longitude": 116.4},
                          headers=caregiver["headers"])
    assert started.status_code == 200, started.get_json()

    record = client.post(f"{CAREGIVER_API}/{order_id}/records",
                         json={"condition": "体温正常", "care_given": "协助翻身两次"},
                         headers=caregiver["headers"])
    assert record.status_code == 201, record.get_json()
    seen = client.get(f"{API}/{order_id}/records", headers=family["headers"]).get_json()
    assert [r["care_given"] for r in seen] == ["协助翻身两次"]

    ended = client.post(f"{CAREGIVER_API}/{order_id}/end", headers=caregiver["headers"])
    assert ended.status_code == 200 and ended.get_json()["status"] == "awaiting_confirmation"
    confirmed = client.post(f"{API}/{order_id}/confirm", headers=family["headers"])
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "completed"

    paid, refunded, net, commission = money(app, order_id)
    assert paid == quote["total_fen"] and refunded == 0
    assert commission == quote["total_fen"] * 2000 // 10000
    assert paid == refunded + net + commission
    assert row["total_fen"] == quote["total_fen"]
    run_jobs(app)


def test_rejection_redispatches_to_the_next_free_caregiver(app, client, care_world):
    first = care_world["caregiver"]()
    second = care_world["caregiver"](prices={"full_day": 25000})
    family = care_world["family"]()
    created = book(client, family, order_body(care_world, family, first))
    assert created.status_code == 201, created.get_json()
    result = created.get_json()
    order_id = result["order"]["id"]
    pay(app, result)
    rejected = client.post(f"{CAREGIVER_API}/{order_id}/reject", json={"reason": "临时有事"},
                           headers=first["headers"])
    assert rejected.status_code == 200, rejected.get_json()
    run_jobs(app)
    row = order_row(app, order_id)
    assert row["status"] == "awaiting_acceptance" and row["caregiver_id"] == second["id"]
    # the second caregiver is cheaper: the family gets the difference back
    assert row["refunded_fen"] == 30000 - 25000
    assert [b[0] for b in busy_blocks(app, order_id)] == [second["id"]]
    gone = client.get(f"{CAREGIVER_API}/{order_id}", headers=first["headers"])
    assert gone.status_code == 404
