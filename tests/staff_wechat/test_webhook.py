"""/wechat/official: signature checks (plain and safe mode), echo verification, duplicates
answered once, and each menu click's answer against a hand-made dataset, per role."""
import re
import time as clock

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from app.extensions import db
from app.staff.models import StaffUser
from tests.staff_wechat.conftest import (EXPECTED_TODAY, EXPECTED_TODO, bind, message_xml,
                                         sign)

OPENID = "oStaffOfficial0000000000001"
LINES = {"real_name_reviews": "实名认证待审核", "caregiver_reviews": "护工入驻待审核",
         "caregiver_revisions": "护工资料变更待审核", "qualification_reviews": "资质证书待审核",
         "disputes": "纠纷待处理", "failed_refunds": "退款失败待处理"}
# caregiver revisions have no console page: their line has no link
LINKS = {"real_name_reviews": "/console/real-name", "caregiver_reviews": "/console/caregivers",
         "caregiver_revisions": None, "qualification_reviews": "/console/qualifications",
         "disputes": "/console/disputes", "failed_refunds": "/console/refunds"}


def counts_in(text):
    """{queue: count} read back from a 待办 answer, with the link under each line."""
    found = {}
    for name, label in LINES.items():
        matched = re.search(label + r":(\d+) 件(?:\n(https?://\S+))?", text)
        if matched:
            if LINKS[name] is None:
                assert matched.group(2) is None, matched.group(2)
            else:
                assert (matched.group(2) or "").endswith(LINKS[name]), matched.group(2)
            found[name] = int(matched.group(1))
    return found


# -- signatures ---------------------------------------------------------------------------------

def test_server_verification_echoes_only_with_a_good_signature(client, official):
    good = official.query(echostr="echo-1234567")
    answer = client.get("/wechat/official", query_string=good)
    assert answer.status_code == 200 and answer.get_data(as_text=True) == "echo-1234567"
    bad = {**good, "signature": sign("another-token", good["timestamp"], good["nonce"])}
    assert client.get("/wechat/official", query_string=bad).status_code == 403
    assert client.get("/wechat/official", query_string={"echostr": "x"}).status_code == 403


def test_a_signed_request_more_than_five_minutes_off_our_clock_is_refused(app, client,
                                                                           official,
                                                                           staff_factory):
    staff = staff_factory("admin")
    bind(app, staff["id"], OPENID)
    now = int(clock.time())
    for skew in (-301, 301, -3600):  # replayed later, or a clock far off
        query = official.query(str(now + skew))
        response, reply = official.post(message_xml(OPENID, event="CLICK", key="STAFF_TODO"),
                                        query=query)
        assert response.status_code == 403 and reply is None, skew
        echo = client.get("/wechat/official", query_string={**query, "echostr": "e"})
        assert echo.status_code == 403
    for bad in ("", "soon", "1e9", "9" * 5000):  # signed, but not a time
        query = {"signature": sign(official.token, bad, "n0"), "timestamp": bad, "nonce": "n0"}
        response, _ = official.post(message_xml(OPENID, event="CLICK", key="STAFF_TODO"),
                                    query=query)
        assert response.status_code == 403, bad[:10]
    for skew in (-290, 0, 290):  # within the window: answered, plain and AES
        query = official.query(str(now + skew))
        _, reply = official.post(message_xml(OPENID, event="CLICK", key="STAFF_TODO"),
                                 query=query, aes=skew > 0)
        assert reply.startswith("【待办】"), skew


def test_a_message_with_a_bad_signature_is_403_and_not_answered(app, client, official,
                                                                staff_factory):
    staff = staff_factory("admin")
    bind(app, staff["id"], OPENID)
    xml = message_xml(OPENID, event="CLICK", key="STAFF_TODO")
    query = official.query()
    query["signature"] = sign("not-our-token", query["timestamp"], query["nonce"])
    response, reply = official.post(xml, query=query)
    assert response.status_code == 403 and reply is None
    # the same timestamp and nonce, signed right, is answered (it was the signature)
    response, reply = official.post(xml, query=official.query(query["timestamp"],
                                                               query["nonce"]))
    assert response.status_code == 200 and reply.startswith("【待办】")


def test_safe_mode_decrypts_checks_msg_signature_and_encrypts_the_reply(app, client, official,
                                                                       staff_factory):
    staff = staff_factory("admin")
    bind(app, staff["id"], OPENID)
    response, reply = official.post(message_xml(OPENID, event="CLICK", key="STAFF_DASHBOARD"),
                                    aes=True)
    assert response.status_code == 200
    envelope = xmltodict.parse(response.get_data(as_text=True))["xml"]
    assert set(envelope) >= {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert "看板" not in response.get_data(as_text=True)  # nothing readable on the wire
    assert reply.startswith("【看板】") and reply.endswith("/console/")

    # a body encrypted for another app id, or a msg_signature that does not match: 403
    other_app = WeChatCrypto(official.token, app.config["WECHAT_OA_AES_KEY"], "wxsomeoneelse01")
    response, _ = official.post(message_xml(OPENID, event="CLICK", key="STAFF_TODO"), aes=True,
                                crypto=other_app)
    assert response.status_code == 403
    query = official.query()
    envelope = xmltodict.parse(official.crypto.encrypt_message(
        message_xml(OPENID, event="CLICK", key="STAFF_TODO"), query["nonce"],
        query["timestamp"]))["xml"]
    forged = {**query, "encrypt_type": "aes", "msg_signature": "0" * 40}
    body = f"<xml><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
    answer = client.post("/wechat/official", query_string=forged, data=body)
    assert answer.status_code == 403


@pytest.mark.parametrize("body", [b"", b"not xml at all", b"<xml><MsgType>text</MsgType></xml>",
                                  "<xml><Encrypt>\ud800</Encrypt>".encode("utf-8", "surrogatepass")])
def test_garbage_with_a_good_signature_is_a_4xx_not_a_500(client, official, body):
    answer = client.post("/wechat/official", query_string=official.query(), data=body)
    assert 400 <= answer.status_code < 500
    aes = client.post("/wechat/official", query_string=official.query(encrypt_type="aes",
                                                                       msg_signature="0" * 40),
                      data=body)
    assert 400 <= aes.status_code < 500


# -- duplicates ---------------------------------------------------------------------------------

def test_a_redelivered_click_gets_the_first_answer_not_a_new_count(app, official, dataset,
                                                                   staff_factory):
    staff = staff_factory("operator")
    bind(app, staff["id"], OPENID)
    xml = message_xml(OPENID, event="CLICK", key="STAFF_TODO", create_time=1764000000)
    _, first = official.post(xml)
    assert counts_in(first)["disputes"] == EXPECTED_TODO["disputes"]
    with app.app_context():  # a dispute is resolved between WeChat's deliveries
        from app.care_disputes.models import CareDispute
        dispute = db.session.query(CareDispute).filter_by(status="open").first()
        dispute.status = "resolved"
        db.session.commit()
    _, again = official.post(xml, aes=True)  # same FromUserName + CreateTime, even in AES
    assert again == first
    # the same click a second later is a new event: the new count
    _, later = official.post(message_xml(OPENID, event="CLICK", key="STAFF_TODO",
                                         create_time=1764000001))
    assert counts_in(later)["disputes"] == EXPECTED_TODO["disputes"] - 1


def test_a_redelivered_bind_message_binds_once_and_repeats_its_answer(app, client, official,
                                                                      staff_factory):
    staff = staff_factory("reviewer")
    code = client.post("/api/v1/staff/wechat/bind-code",
                       headers=staff["headers"]).get_json()["code"]
    xml = message_xml(OPENID, content=f"绑定 {code}", msg_id=6543210987654321)
    _, first = official.post(xml)
    assert first.startswith("绑定成功")
    _, again = official.post(xml)
    assert again == first  # not "code already used": the retry is the same message
    # a new message with the same text is new, and the code is spent
    _, fresh = official.post(message_xml(OPENID, content=f"绑定 {code}"))
    assert "无效或已过期" in fresh


# -- menu clicks --------------------------------------------------------------------------------

def test_todo_counts_every_queue_for_an_admin(app, official, dataset, staff_factory):
    staff = staff_factory("admin")
    bind(app, staff["id"], OPENID)
    reply = official.click(OPENID, "STAFF_TODO")
    assert counts_in(reply) == EXPECTED_TODO


@pytest.mark.parametrize("role, queues", [
    ("reviewer", {"real_name_reviews", "caregiver_reviews", "caregiver_revisions",
                  "qualification_reviews"}),
    ("operator", {"disputes", "failed_refunds"}),
])
def test_todo_shows_each_role_its_own_queues(app, official, dataset, staff_factory, role,
                                             queues):
    staff = staff_factory(role)
    bind(app, staff["id"], OPENID)
    reply = official.click(OPENID, "STAFF_TODO", aes=True)
    assert counts_in(reply) == {name: EXPECTED_TODO[name] for name in queues}


def test_today_counts_the_shanghai_day_and_money_in_yuan(app, official, dataset, staff_factory):
    staff = staff_factory("operator")
    bind(app, staff["id"], OPENID)
    reply = official.click(OPENID, "STAFF_TODAY")
    assert f"挂号订单:{EXPECTED_TODAY['registrations']} 单" in reply
    assert f"陪护订单:{EXPECTED_TODAY['care_orders']} 单" in reply
    assert f"收款:¥473.45({EXPECTED_TODAY['payments']} 笔)" in reply
    assert reply.rstrip().endswith("/console/")


def test_today_is_not_for_reviewers(app, official, dataset, staff_factory):
    staff = staff_factory("reviewer")
    bind(app, staff["id"], OPENID)
    reply = official.click(OPENID, "STAFF_TODAY")
    assert "仅对管理员和运营开放" in reply and "¥" not in reply


def test_an_unbound_openid_is_told_how_to_bind_and_sees_no_counts(official, dataset):
    for key in ("STAFF_TODO", "STAFF_TODAY", "STAFF_DASHBOARD"):
        reply = official.click("oNobodyWeKnow000000000000001", key)
        assert "尚未绑定" in reply and "绑定 " in reply and "/console/login" in reply
        assert "件" not in reply and "¥" not in reply


def test_disabling_a_staff_account_stops_the_answers_at_once(app, official, dataset,
                                                             staff_factory):
    staff = staff_factory("admin")
    bind(app, staff["id"], OPENID)
    assert official.click(OPENID, "STAFF_TODO").startswith("【待办】")
    with app.app_context():
        db.session.get(StaffUser, staff["id"]).is_active = False
        db.session.commit()
    reply = official.click(OPENID, "STAFF_TODO")
    assert "停用" in reply and "件" not in reply


def test_other_messages_get_help_or_nothing(app, official, staff_factory):
    staff = staff_factory("admin")
    bind(app, staff["id"], OPENID)
    assert "菜单" in official.text(OPENID, "你好")
    response, reply = official.post(message_xml(OPENID, event="VIEW",
                                                key="https://h5.example.com/console/"))
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    assert official.click(OPENID, "SOME_OLD_KEY") is None


def test_every_menu_key_answers_in_both_modes(app, official, dataset, staff_factory):
    """Each key answers, plain and in safe mode. How fast (the issue asks for 1 s; WeChat
    retries after 5 s) is measured at scale by bench/webhook_menu.py, not timed here."""
    staff = staff_factory("admin")
    bind(app, staff["id"], OPENID)
    for key in ("STAFF_TODO", "STAFF_TODAY", "STAFF_DASHBOARD"):
        for aes in (False, True):
            response, reply = official.post(message_xml(OPENID, event="CLICK", key=key),
                                            aes=aes)
            assert response.status_code == 200 and reply, (key, aes)
