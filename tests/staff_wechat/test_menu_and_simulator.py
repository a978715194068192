"""`flask wechat sync-menu` through the simulator, and the simulator's message sender posting
to the webhook the way WeChat does (plain and safe mode, retries as duplicates)."""
import pytest
import requests

from app.wechat.official_account import get_menu
from tests.staff_wechat.conftest import EXPECTED_TODO, bind

OPENID = "oStaffOfficial0000000000004"
H5 = "https://h5.example.com"


@pytest.fixture
def h5_base(app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_OA_H5_BASE_URL", H5)


def test_sync_menu_creates_the_configured_menu_with_absolute_links(app, h5_base):
    result = app.test_cli_runner().invoke(args=["wechat", "sync-menu"])
    assert result.exit_code == 0, result.output
    assert "menu created" in result.output
    with app.app_context():
        menu = get_menu()["menu"]
    buttons = menu["button"]
    assert [b["name"] for b in buttons] == ["待办", "今日", "看板"]
    assert buttons[0] == {"type": "click", "name": "待办", "key": "STAFF_TODO"}
    assert buttons[2]["sub_button"][1] == {"type": "view", "name": "工作台",
                                           "url": H5 + "/console/"}


def test_sync_menu_reports_what_wechat_refuses(app, h5_base, monkeypatch):
    too_many = {"button": [{"type": "click", "name": f"按钮{i}", "key": f"K{i}"}
                           for i in range(4)]}
    monkeypatch.setitem(app.config, "WECHAT_OA_MENU", too_many)
    result = app.test_cli_runner().invoke(args=["wechat", "sync-menu"])
    assert result.exit_code != 0 and "40016" in result.output
    with app.app_context():
        assert get_menu() is None  # nothing was created (WeChat's 46003: no menu)


def test_sync_menu_needs_the_h5_address_for_relative_links(app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_OA_H5_BASE_URL", None)
    result = app.test_cli_runner().invoke(args=["wechat", "sync-menu"])
    assert result.exit_code != 0 and "WECHAT_OA_H5_BASE_URL" in result.output


def test_the_simulator_menu_api_needs_the_official_accounts_token(app):
    base = app.config["WECHAT_API_BASE"]
    answer = requests.post(base + "/cgi-bin/menu/create", params={"access_token": "made-up"},
                           json={"button": [{"type": "click", "name": "x", "key": "k"}]},
                           timeout=10)
    assert answer.json()["errcode"] == 40001


def send(app, **body):
    answer = requests.post(app.config["LIVE_URL"] + "/_sim/official/send", json=body,
                           timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize("mode", ["plain", "aes"])
def test_the_simulator_sends_clicks_and_texts_the_way_wechat_does(app, client, dataset,
                                                                   staff_factory, mode):
    staff = staff_factory("admin")
    unbound = send(app, type="click", key="STAFF_TODO", openid=OPENID, mode=mode)
    assert unbound["status"] == 200 and "尚未绑定" in unbound["reply"]
    if mode == "aes":
        assert "<Encrypt>" in unbound["raw"] and "尚未绑定" not in unbound["raw"]

    code = client.post("/api/v1/staff/wechat/bind-code",
                       headers=staff["headers"]).get_json()["code"]
    bound = send(app, type="text", content=f"绑定 {code}", openid=OPENID, mode=mode)
    assert bound["reply"].startswith("绑定成功")
    todo = send(app, type="click", key="STAFF_TODO", openid=OPENID, mode=mode,
                create_time=1764000100)
    assert f"纠纷待处理:{EXPECTED_TODO['disputes']} 件" in todo["reply"]
    assert f"实名认证待审核:{EXPECTED_TODO['real_name_reviews']} 件" in todo["reply"]


def test_the_simulators_retries_are_answered_once(app, staff_factory):
    staff = staff_factory("operator")
    bind(app, staff["id"], OPENID)
    result = send(app, type="click", key="STAFF_TODAY", openid=OPENID, copies=3)
    replies = [delivery["reply"] for delivery in result["deliveries"]]
    assert len(replies) == 3 and len(set(replies)) == 1 and replies[0].startswith("【今日")


def test_the_simulator_refuses_bad_sends_and_serves_its_pages(app, client):
    answer = requests.post(app.config["LIVE_URL"] + "/_sim/official/send",
                           json={"type": "shout"}, timeout=10)
    assert answer.status_code == 400 and answer.json()["errcode"] == 47003
    page = client.get("/_sim/official")
    assert page.status_code == 200 and "公众号消息模拟" in page.get_data(as_text=True)
    consent = client.get("/_sim/wechat/connect/oauth2/authorize", query_string={
        "appid": app.config["WECHAT_OA_APP_ID"], "redirect_uri": "http://localhost/cb",
        "response_type": "code", "scope": "snsapi_base", "state": "s"})
    assert consent.status_code == 200 and "同意" in consent.get_data(as_text=True)
    wrong_app = client.get("/_sim/wechat/connect/oauth2/authorize", query_string={
        "appid": "wxother", "redirect_uri": "http://localhost/cb", "response_type": "code",
        "scope": "snsapi_base"})
    assert wrong_app.status_code == 400


def test_an_oauth_code_is_exchanged_once(app, client):
    consent = client.get("/_sim/wechat/connect/oauth2/authorize", query_string={
        "appid": app.config["WECHAT_OA_APP_ID"], "redirect_uri": "http://localhost/cb?x=1",
        "response_type": "code", "scope": "snsapi_base", "state": "st",
        "sim_openid": OPENID})
    assert consent.status_code == 302
    location = consent.headers["Location"]
    assert location.startswith("http://localhost/cb?x=1&code=") and location.endswith("&state=st")
    code = location.split("code=")[1].split("&")[0]
    params = {"appid": app.config["WECHAT_OA_APP_ID"],
              "secret": app.config["WECHAT_OA_APP_SECRET"], "code": code,
              "grant_type": "authorization_code"}
    first = client.get("/_sim/wechat/sns/oauth2/access_token", query_string=params).get_json()
    assert first["openid"] == OPENID and first["scope"] == "snsapi_base"
    again = client.get("/_sim/wechat/sns/oauth2/access_token", query_string=params).get_json()
    assert again["errcode"] == 40163
    wrong = client.get("/_sim/wechat/sns/oauth2/access_token",
                       query_string={**params, "secret": "nope"}).get_json()
    assert wrong["errcode"] == 40125


def test_the_demo_admin_is_bound_to_the_simulators_openid_by_the_seed(app):
    from sqlalchemy import select

    from app.extensions import db
    from app.seed import seed_demo_data
    from app.staff.models import StaffUser
    from app.wechat.simulator.official import DEMO_OPENID

    with app.app_context():
        lines = seed_demo_data()
        assert any("official-account openid" in line for line in lines)
        again = seed_demo_data()  # idempotent: nothing bound twice
        assert again == ["demo data already present; nothing added"]
        admin = db.session.scalar(select(StaffUser).where(
            StaffUser.username == app.config.get("DEMO_ADMIN_USERNAME", "admin")))
        assert admin.official_openid == DEMO_OPENID
        db.session.remove()
    # the simulator's page sends as DEMO_OPENID by default: the menus answer at once
    # (two clicks in one second would be one event to WeChat's dedup: distinct CreateTimes)
    todo = send(app, type="click", key="STAFF_TODO", create_time=1764000200)
    assert todo["reply"].startswith("【待办】") and "尚未绑定" not in todo["reply"]
    assert "收款" in send(app, type="click", key="STAFF_TODAY", create_time=1764000201)["reply"]
