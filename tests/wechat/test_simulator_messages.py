"""The simulator's message APIs (mini-program subscribe messages, official-account template
messages), their quota and their fault injection, driven through the real wechatpy SDK."""
import time

import pytest
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from app.wechat.http import route_session
from app.wechat.miniprogram import client as miniprogram_client

OPENID = "oSimulatorPatient000000000001"
OTHER_OPENID = "oSimulatorPatient000000000002"
TEMPLATE = "tmpl-visit-reminder"
OTHER_TEMPLATE = "tmpl-payment-done"
DATA = {"thing1": {"value": "张三 门诊预约"}, "time2": {"value": "2026-03-01 09:30"}}


def sim(app, method, path, **kwargs):
    response = requests.request(method, app.config["WECHAT_API_BASE"] + path, timeout=10,
                                **kwargs)
    return response


def grant(app, openid=OPENID, template_id=TEMPLATE, count=1):
    answer = sim(app, "POST", "/_control/subscriptions",
                 json={"openid": openid, "template_id": template_id, "count": count})
    assert answer.status_code == 200, answer.text
    return answer.json()["count"]


def subscriptions_left(app, openid=OPENID, template_id=TEMPLATE):
    return sim(app, "GET", "/_control/subscriptions",
               params={"openid": openid, "template_id": template_id}).json()["count"]


def messages(app, **filters):
    return sim(app, "GET", "/_control/messages", params=filters).json()["messages"]


def calls(app):
    return sim(app, "GET", "/_control/calls").json()


def queue_fault(app, **fault):
    answer = sim(app, "POST", "/_control/faults", json=fault)
    assert answer.status_code == 200, answer.text
    return answer.json()["faults"]


def send_subscribe(app, openid=OPENID, template_id=TEMPLATE, data=DATA, page="pages/orders/list"):
    """Through the app's own mini-program client (stable token in Redis, one retry on 40001)."""
    with app.app_context():
        return miniprogram_client().wxa.send_subscribe_message(openid, template_id, data,
                                                                page=page)


def post_subscribe(app, body):
    with app.app_context():
        return miniprogram_client().post("message/subscribe/send", data=body)


@pytest.fixture
def official_account(app):
    """A plain wechatpy client of the official account, on /cgi-bin/token. No auto retry:
    wechatpy's own retry on 40001 never stops."""
    oa = WeChatClient(app.config["WECHAT_OA_APP_ID"], app.config["WECHAT_OA_APP_SECRET"],
                      timeout=5, auto_retry=False)
    route_session(oa._http, app.config["WECHAT_API_BASE"], (3, 5))
    return oa


def errcode_of(call, *args, **kwargs):
    with pytest.raises(WeChatClientException) as raised:
        call(*args, **kwargs)
    return raised.value.errcode


# -- subscribe messages and their quota ------------------------------------------------------

def test_a_subscribe_message_is_recorded_once_and_spends_one_subscription(app):
    assert grant(app, count=2) == 2
    before = time.time()
    answer = send_subscribe(app)
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok"
    assert isinstance(answer["msgid"], int)
    [message] = messages(app)
    assert message["api"] == "subscribe" and message["msgid"] == answer["msgid"]
    assert (message["touser"], message["template_id"]) == (OPENID, TEMPLATE)
    assert message["page"] == "pages/orders/list" and message["data"] == DATA
    assert before <= message["at"] <= time.time()
    assert subscriptions_left(app) == 1
    assert calls(app)["subscribe_send"] == 1
    # the other template and the other user have nothing to spend
    assert subscriptions_left(app, template_id=OTHER_TEMPLATE) == 0
    assert subscriptions_left(app, openid=OTHER_OPENID) == 0


def test_without_a_subscription_the_send_is_refused_with_43101_and_nothing_is_recorded(app):
    assert errcode_of(send_subscribe, app) == 43101
    assert messages(app) == [] and subscriptions_left(app) == 0
    grant(app)
    send_subscribe(app)
    with pytest.raises(WeChatClientException) as refused:
        send_subscribe(app)
    assert (refused.value.errcode, refused.value.errmsg) == (43101,
                                                             "user refuse to accept the msg")
    assert len(messages(app)) == 1 and subscriptions_left(app) == 0
    assert grant(app) == 1  # a refused send left the count at 0, not below


def test_an_invalid_openid_is_refused_with_40003_and_spends_nothing(app):
    grant(app, openid="invalid-openid")
    assert errcode_of(send_subscribe, app, openid="invalid-openid") == 40003
    assert messages(app) == [] and subscriptions_left(app, openid="invalid-openid") == 1


@pytest.mark.parametrize("body", [
    {"touser": OPENID, "template_id": TEMPLATE},
    {"touser": OPENID, "template_id": TEMPLATE, "data": {}},
    {"touser": OPENID, "template_id": TEMPLATE, "data": {"thing1": {"value": 3}}},
    {"touser": OPENID, "template_id": TEMPLATE, "data": {"thing1": "张三"}},
    {"touser": OPENID, "data": DATA},
    {"template_id": TEMPLATE, "data": DATA},
    {"touser": OPENID, "template_id": TEMPLATE, "data": DATA, "miniprogram_state": "beta"},
])
def test_missing_or_malformed_fields_are_refused_with_47003(app, body):
    grant(app)
    assert errcode_of(post_subscribe, app, body) == 47003
    assert messages(app) == [] and subscriptions_left(app) == 1


def test_a_token_of_the_other_app_is_an_invalid_credential(app, official_account):
    grant(app)
    # the official account's token on the mini-program's API, and on the phone number API
    assert errcode_of(official_account.wxa.send_subscribe_message, OPENID, TEMPLATE, DATA) == 40001
    assert errcode_of(official_account.post,
                      "https://api.weixin.qq.com/wxa/business/getuserphonenumber",
                      data={"code": "phone:13812345678"}) == 40001
    # the mini-program's token on the official account's API: refused even after its one retry
    with app.app_context():
        assert errcode_of(miniprogram_client().message.send_template,
                          OPENID, TEMPLATE, DATA) == 40001
    assert calls(app)["template_send"] == 2
    assert messages(app) == [] and subscriptions_left(app) == 1


def test_each_app_has_its_own_stable_token(app):
    def stable(appid, secret, force=False):
        return sim(app, "POST", "/cgi-bin/stable_token", json={
            "grant_type": "client_credential", "appid": appid, "secret": secret,
            "force_refresh": force}).json()

    mp = (app.config["WECHAT_APP_ID"], app.config["WECHAT_APP_SECRET"])
    oa = (app.config["WECHAT_OA_APP_ID"], app.config["WECHAT_OA_APP_SECRET"])
    mp_token, oa_token = stable(*mp)["access_token"], stable(*oa)["access_token"]
    assert mp_token != oa_token
    assert stable(*mp)["access_token"] == mp_token and stable(*oa)["access_token"] == oa_token
    assert stable(*oa, force=True)["access_token"] != oa_token
    assert stable(*mp)["access_token"] == mp_token  # the other app's refresh left it alone
    assert stable(mp[0], oa[1])["errcode"] == 40001  # one app's id with the other's secret


# -- template messages (official account) ------------------------------------------------------

def test_a_template_message_needs_no_quota_and_is_recorded(app, official_account):
    answer = official_account.message.send_template(
        OPENID, TEMPLATE, DATA, url="https://example.com/orders/1",
        mini_program={"appid": app.config["WECHAT_APP_ID"], "pagepath": "pages/orders/detail"})
    assert answer["errcode"] == 0 and isinstance(answer["msgid"], int)
    [message] = messages(app)
    assert message["api"] == "template" and message["msgid"] == answer["msgid"]
    assert message["url"] == "https://example.com/orders/1"
    assert message["miniprogram"] == {"appid": app.config["WECHAT_APP_ID"],
                                      "pagepath": "pages/orders/detail"}
    assert message["data"] == DATA and message["touser"] == OPENID
    assert errcode_of(official_account.message.send_template, "invalid-x", TEMPLATE, DATA) == 40003
    assert errcode_of(official_account.post, "message/template/send",
                      data={"touser": OPENID, "template_id": TEMPLATE}) == 47003
    assert errcode_of(official_account.message.send_template, OPENID, TEMPLATE, DATA,
                      mini_program={"pagepath": "pages/index"}) == 47003
    assert len(messages(app)) == 1 and calls(app)["template_send"] == 4


def test_messages_can_be_filtered_and_cleared(app, official_account):
    grant(app)
    grant(app, openid=OTHER_OPENID)
    grant(app, template_id=OTHER_TEMPLATE)
    send_subscribe(app)
    send_subscribe(app, openid=OTHER_OPENID)
    send_subscribe(app, template_id=OTHER_TEMPLATE)
    official_account.message.send_template(OPENID, TEMPLATE, DATA)

    def pairs(**filters):
        return [(m["api"], m["touser"], m["template_id"]) for m in messages(app, **filters)]

    assert len(pairs()) == 4
    assert pairs(touser=OTHER_OPENID) == [("subscribe", OTHER_OPENID, TEMPLATE)]
    assert pairs(api="template") == [("template", OPENID, TEMPLATE)]
    assert pairs(template_id=OTHER_TEMPLATE) == [("subscribe", OPENID, OTHER_TEMPLATE)]
    assert pairs(touser=OPENID, api="subscribe") == [("subscribe", OPENID, TEMPLATE),
                                                     ("subscribe", OPENID, OTHER_TEMPLATE)]
    assert sim(app, "DELETE", "/_control/messages").status_code == 200
    assert messages(app) == []


# -- faults ------------------------------------------------------------------------------------

def test_an_injected_system_error_is_answered_once_then_the_send_succeeds(app):
    grant(app)
    assert queue_fault(app, api="subscribe", errcode=-1) == [{"api": "subscribe", "errcode": -1}]
    with pytest.raises(WeChatClientException) as failed:
        send_subscribe(app)
    assert (failed.value.errcode, failed.value.errmsg) == (-1, "system error")
    assert messages(app) == [] and subscriptions_left(app) == 1  # nothing done, nothing spent
    assert sim(app, "GET", "/_control/faults").json() == {"faults": []}
    send_subscribe(app)
    assert len(messages(app)) == 1 and subscriptions_left(app) == 0
    assert calls(app)["subscribe_send"] == 2


def test_an_injected_40001_makes_the_client_refresh_its_token_and_succeed(app):
    grant(app)
    with app.app_context():
        mp = miniprogram_client()
        first_token = mp.access_token
    queue_fault(app, api="subscribe", errcode=40001)
    answer = send_subscribe(app)
    assert answer["errcode"] == 0
    with app.app_context():
        assert mp.session.get(mp.access_token_key) != first_token
    # refused, then retried once with a forced new stable token
    assert calls(app)["subscribe_send"] == 2 and calls(app)["stable_token"] == 3
    assert len(messages(app)) == 1 and subscriptions_left(app) == 0


def test_faults_are_taken_in_order_by_the_api_they_name(app, official_account):
    grant(app)
    queue_fault(app, api="subscribe", errcode=45009)
    queue_fault(app, api="any", errcode=-1, times=2)
    assert [f["errcode"] for f in sim(app, "GET", "/_control/faults").json()["faults"]] == \
        [45009, -1, -1]
    # the template API skips the subscribe fault and takes the first "any"
    assert errcode_of(official_account.message.send_template, OPENID, TEMPLATE, DATA) == -1
    assert errcode_of(send_subscribe, app) == 45009
    assert errcode_of(send_subscribe, app) == -1
    send_subscribe(app)
    assert [m["api"] for m in messages(app)] == ["subscribe"]
    queue_fault(app, api="template", errcode=45009, times=3)
    assert sim(app, "DELETE", "/_control/faults").json() == {"faults": []}
    official_account.message.send_template(OPENID, TEMPLATE, DATA)


def test_a_slow_answer_waits_then_answers_system_error_without_sending(app):
    grant(app)
    queue_fault(app, api="subscribe", delay_seconds=0.6)
    with app.app_context():
        token = miniprogram_client().access_token
    started = time.monotonic()
    answer = sim(app, "POST", "/cgi-bin/message/subscribe/send", params={"access_token": token},
                 json={"touser": OPENID, "template_id": TEMPLATE, "data": DATA}).json()
    assert time.monotonic() - started >= 0.6
    assert answer == {"errcode": -1, "errmsg": "system error"}
    assert messages(app) == [] and subscriptions_left(app) == 1


def test_a_slow_answer_is_a_timeout_to_a_client_that_waits_less(app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_TIMEOUT", (1, 0.3))
    grant(app)
    delay = 1.5
    queue_fault(app, api="subscribe", delay_seconds=delay)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        send_subscribe(app)
    # the request arrived and is still being held: counted, its fault taken, nothing sent yet
    assert calls(app)["subscribe_send"] == 1
    assert sim(app, "GET", "/_control/faults").json() == {"faults": []}
    time.sleep(max(started + delay + 0.5 - time.monotonic(), 0))
    assert messages(app) == [] and subscriptions_left(app) == 1  # and never will be


# -- the control hooks refuse what they cannot do --------------------------------------------

@pytest.mark.parametrize("method,path,body", [
    ("POST", "/_control/subscriptions", {"openid": OPENID, "template_id": TEMPLATE, "count": 0}),
    ("POST", "/_control/subscriptions", {"openid": OPENID, "template_id": TEMPLATE,
                                         "count": 1001}),
    ("POST", "/_control/subscriptions", {"openid": OPENID, "template_id": TEMPLATE,
                                         "count": "3"}),
    ("POST", "/_control/subscriptions", {"openid": OPENID}),
    ("GET", "/_control/subscriptions?openid=" + OPENID, None),
    ("POST", "/_control/faults", {"api": "payment", "errcode": -1}),
    ("POST", "/_control/faults", {"api": "any"}),
    ("POST", "/_control/faults", {"api": "any", "errcode": -1, "delay_seconds": 1}),
    ("POST", "/_control/faults", {"api": "any", "errcode": 0}),
    ("POST", "/_control/faults", {"api": "any", "errcode": True}),
    ("POST", "/_control/faults", {"api": "any", "delay_seconds": 121}),
    ("POST", "/_control/faults", {"api": "any", "delay_seconds": 0}),
    ("POST", "/_control/faults", {"api": "any", "errcode": -1, "times": 0}),
    ("POST", "/_control/faults", ["any"]),
])
def test_control_hooks_refuse_bad_settings(app, method, path, body):
    answer = sim(app, method, path, json=body)
    assert answer.status_code == 400
    assert answer.json()["errcode"] == 47003 and answer.json()["errmsg"].startswith("参数无效")
    assert sim(app, "GET", "/_control/faults").json() == {"faults": []}
    assert subscriptions_left(app) == 0
