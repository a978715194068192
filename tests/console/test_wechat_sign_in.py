"""The console's own account pages (binding with a one-time code, unbinding) and signing in to
the console through official-account OAuth: a real browser journey over HTTP through the
simulator's authorize page into a console session."""
import re
from urllib.parse import parse_qs, urlsplit

import requests
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from app.staff.models import StaffUser
from tests.console.conftest import post, sign_in, text
from tests.staff_wechat.conftest import Official, bind

OPENID = "oStaffConsole00000000000001"
WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
             "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) "
             "NetType/WIFI Language/zh_CN")
CODE = re.compile(r'id="bind-code">([A-Z0-9]{8})<')


def browser(ua=WECHAT_UA):
    session = requests.Session()
    session.headers["User-Agent"] = ua
    return session


def to_wechat(app, session, path="/console/disputes"):
    """A page of the console opened inside WeChat, signed out: the redirects up to WeChat's
    authorize page (the simulator's, which asks which user consents). Its URL."""
    page = session.get(app.config["LIVE_URL"] + path, timeout=10)
    assert page.status_code == 200, page.text
    assert page.url.startswith(app.config["WECHAT_API_BASE"] + "/connect/oauth2/authorize?")
    query = parse_qs(urlsplit(page.url).query)
    assert query["scope"] == ["snsapi_base"]
    assert urlsplit(query["redirect_uri"][0]).path == "/console/login/wechat/callback"
    return page.url.split("#")[0]


def consent(session, authorize_url, openid, follow=True):
    """The user consents as `openid`; with follow, the browser goes on through the callback."""
    return session.get(authorize_url, params={"sim_openid": openid}, allow_redirects=follow,
                       timeout=10)


def sign_in_through_wechat(app, openid, path="/console/disputes", session=None):
    session = session or browser()
    landed = consent(session, to_wechat(app, session, path), openid)
    return session, landed


def error_code(response):
    matched = re.search(r'data-error-code="([a-z_]+)"', response.text)
    return matched and matched.group(1)


def signed_in(app, session) -> bool:
    answer = session.get(app.config["LIVE_URL"] + "/console/", allow_redirects=False,
                         timeout=10)
    return answer.status_code == 200


# -- OAuth sign-in ------------------------------------------------------------------------------

def test_a_bound_staff_member_opens_a_console_page_in_wechat_and_is_signed_in(app,
                                                                            staff_factory):
    staff = staff_factory("operator", username="wx-operator")
    bind(app, staff["id"], OPENID)
    session, landed = sign_in_through_wechat(app, OPENID)
    assert landed.status_code == 200, landed.text
    assert urlsplit(landed.url).path == "/console/disputes"  # where they were going
    assert [r.status_code for r in landed.history] == [302, 303]  # callback → the page
    assert "纠纷" in landed.text and 'id="sign-out"' in landed.text
    dashboard = session.get(app.config["LIVE_URL"] + "/console/", timeout=10)
    assert "wx-operator" in dashboard.text
    # a session like the password's: the operator's forms work with its CSRF token
    token = re.search(r'name="csrf_token" value="([^"]+)"', dashboard.text).group(1)
    out = session.post(app.config["LIVE_URL"] + "/console/logout",
                       data={"csrf_token": token}, allow_redirects=False, timeout=10)
    assert out.status_code == 303 and not signed_in(app, session)
    # signed out inside WeChat: the sign-in page shows the message and the button instead of
    # signing straight back in
    page = session.get(app.config["LIVE_URL"] + out.headers["Location"], timeout=10)
    assert urlsplit(page.url).path == "/console/login" and "已退出登录" in page.text
    assert 'id="wechat-sign-in"' in page.text and 'id="sign-in"' in page.text
    with app.app_context():
        assert db.session.get(StaffUser, staff["id"]).last_login_at is not None
        db.session.remove()


def test_the_login_page_offers_wechat_and_redirects_only_inside_wechat(app, client):
    page = client.get("/console/login?next=/console/refunds")
    assert page.status_code == 200
    assert 'href="/console/login/wechat?next=/console/refunds"' in text(page)
    assert "微信一键登录" in text(page)
    inside = client.get("/console/login?next=/console/refunds",
                        headers={"User-Agent": WECHAT_UA})
    assert inside.status_code == 303
    assert inside.headers["Location"] == "/console/login/wechat?next=/console/refunds"
    form = client.get("/console/login?password=1", headers={"User-Agent": WECHAT_UA})
    assert form.status_code == 200 and 'id="password"' in text(form)


def test_the_state_is_spent_once_and_only_by_the_browser_that_asked(app, staff_factory):
    staff = staff_factory("admin")
    bind(app, staff["id"], OPENID)
    session = browser()
    callback = consent(session, to_wechat(app, session), OPENID, follow=False)
    assert callback.status_code == 302
    callback_url = callback.headers["Location"]
    # forwarded to another browser (no state cookie): refused, nobody signed in there
    elsewhere = browser()
    refused = elsewhere.get(callback_url, timeout=10)
    assert refused.status_code == 403 and error_code(refused) == "oauth_state_invalid"
    assert 'id="password-sign-in"' in refused.text and not signed_in(app, elsewhere)
    # the browser that asked finishes, once
    done = session.get(callback_url, timeout=10)
    assert done.status_code == 200 and urlsplit(done.url).path == "/console/disputes"
    replayed = session.get(callback_url, allow_redirects=False, timeout=10)
    assert replayed.status_code == 403 and error_code(replayed) == "oauth_state_invalid"
    # no code at all
    bare = session.get(app.config["LIVE_URL"] + "/console/login/wechat/callback", timeout=10)
    assert bare.status_code == 403 and error_code(bare) == "oauth_state_invalid"


def test_next_stays_inside_the_console(app, staff_factory):
    staff = staff_factory("admin")
    bind(app, staff["id"], OPENID)
    live = app.config["LIVE_URL"]
    for evil in ("https://evil.example.com/", "//evil.example.com/console/", "/api/v1/me",
                 "/console/\\evil"):
        session = browser()
        start = session.get(live + "/console/login/wechat", params={"next": evil},
                            allow_redirects=False, timeout=10)
        assert start.status_code == 302
        landed = consent(session, start.headers["Location"].split("#")[0], OPENID)
        assert landed.url == live + "/console/", evil


def test_an_unbound_wechat_is_refused_and_offered_the_password_form(app, staff_factory):
    staff_factory("admin")
    session, landed = sign_in_through_wechat(app, "oNobodyWeKnow000000000000009")
    assert landed.status_code == 403 and error_code(landed) == "wechat_not_bound"
    assert "未绑定" in landed.text and not signed_in(app, session)
    # the way out does not loop back into WeChat's sign-in
    form = session.get(app.config["LIVE_URL"] + "/console/login?password=1", timeout=10)
    assert form.status_code == 200 and 'id="password"' in form.text


def test_a_disabled_staff_member_is_refused(app, staff_factory):
    staff = staff_factory("reviewer")
    bind(app, staff["id"], OPENID)
    with app.app_context():
        db.session.get(StaffUser, staff["id"]).is_active = False
        db.session.commit()
        db.session.remove()
    session, landed = sign_in_through_wechat(app, OPENID)
    assert landed.status_code == 403 and error_code(landed) == "account_banned"
    assert not signed_in(app, session)


def test_a_forged_code_is_wechats_error(app, staff_factory):
    staff = staff_factory("admin")
    bind(app, staff["id"], OPENID)
    session = browser()
    authorize = to_wechat(app, session)
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    answer = session.get(app.config["LIVE_URL"] + "/console/login/wechat/callback",
                         params={"code": "made-up", "state": state}, timeout=10)
    assert answer.status_code == 502 and error_code(answer) == "wechat_error"
    assert not signed_in(app, session)


# -- binding and unbinding from the console -----------------------------------------------------

def test_binding_from_the_console_then_unbinding_ends_the_wechat_session(app, client,
                                                                         staff_factory):
    staff = staff_factory("reviewer", username="wx-reviewer")
    password = app.test_client()
    assert sign_in(password, "wx-reviewer").status_code == 303
    page = password.get("/console/wechat")
    assert page.status_code == 200 and 'data-bound="false"' in text(page)
    assert "获取绑定码" in text(page) and 'href="/console/wechat"' in text(page)  # in the nav

    issued = post(password, "/console/wechat/bind-code", page="/console/wechat")
    assert issued.status_code == 200
    code = CODE.search(text(issued)).group(1)
    assert f"在公众号发送:绑定 {code}" in text(issued) and 'id="bind-code-expires"' in text(issued)
    assert Official(app, client).text(OPENID, f"绑定 {code}").startswith("绑定成功")
    assert 'data-bound="true"' in text(password.get("/console/wechat"))

    wechat, landed = sign_in_through_wechat(app, OPENID, "/console/real-name")
    assert landed.status_code == 200 and urlsplit(landed.url).path == "/console/real-name"

    unbound = post(password, "/console/wechat/unbind", page="/console/wechat")
    assert unbound.status_code == 303 and unbound.headers["Location"] == "/console/wechat"
    after = password.get("/console/wechat")  # this browser stays signed in
    assert after.status_code == 200 and 'data-bound="false"' in text(after)
    assert "本浏览器保持登录" in text(after)
    assert not signed_in(app, wechat)  # the session WeChat opened ended with the binding
    _, again = sign_in_through_wechat(app, OPENID)
    assert again.status_code == 403 and error_code(again) == "wechat_not_bound"

    with app.app_context():  # both console actions are in the audit log, by this staff member
        actions = db.session.scalars(select(AuditEntry.action).where(
            AuditEntry.staff_id == staff["id"], AuditEntry.source == "console")).all()
        db.session.remove()
    assert "/console/wechat/bind-code" in actions and "/console/wechat/unbind" in actions


def test_unbinding_when_not_bound_changes_nothing(app, console):
    client, staff_id = console("operator")
    with app.app_context():
        version = db.session.get(StaffUser, staff_id).token_version
        db.session.remove()
    answer = post(client, "/console/wechat/unbind", page="/console/wechat")
    assert answer.status_code == 303
    page = client.get("/console/wechat")
    assert page.status_code == 200 and "当前账号未绑定微信" in text(page)
    with app.app_context():
        assert db.session.get(StaffUser, staff_id).token_version == version
        db.session.remove()


def test_the_binding_page_needs_a_session_and_csrf(app, client, console):
    answer = client.get("/console/wechat")
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/console/login")
    signed, _ = console("reviewer")
    refused = signed.post("/console/wechat/bind-code", data={})
    assert refused.status_code == 403 and 'data-error-code="csrf_failed"' in text(refused)


def test_redis_down_is_a_503_page_not_an_error(app, client):
    """The OAuth state lives in Redis: without it WeChat sign-in is refused with 503 (the
    password form still works), never a 500."""
    import redis

    from app.extensions import redis_client
    from app.staff_wechat.services import OAUTH_STATE_COOKIE

    saved = redis_client._conn
    redis_client._conn = redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.5)
    try:
        started = client.get("/console/login/wechat?next=/console/")
        assert started.status_code == 503
        assert 'data-error-code="service_unavailable"' in text(started)
        client.set_cookie(OAUTH_STATE_COOKIE, "s" * 32, path="/console/login/wechat/callback")
        back = client.get(f"/console/login/wechat/callback?code=abc&state={'s' * 32}")
        assert back.status_code == 503
        assert 'data-error-code="service_unavailable"' in text(back)
    finally:
        redis_client._conn = saved
