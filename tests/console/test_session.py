"""Console sign-in, CSRF, roles and the session's end (sign-out, disabled account, revoked
tokens)."""
from sqlalchemy import update

from app.extensions import db
from app.staff.models import StaffUser
from app.users.models import User
from tests.console.conftest import PASSWORD, csrf, post, sign_in, text


def test_the_pages_use_the_vendored_weui_css_and_no_other_host(client):
    page = client.get("/console/login")
    assert page.status_code == 200
    html = text(page)
    assert 'href="/static/vendor/weui/weui.min.css"' in html
    assert "//" not in html.replace("http://", "").split("<body")[0].replace("<!doctype", "")
    css = client.get("/static/vendor/weui/weui.min.css")
    assert css.status_code == 200 and b".weui-cells" in css.data
    assert client.get("/console/static/console.css").status_code == 200
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_sign_in_with_username_and_password(app, client, staff_factory):
    staff_factory("reviewer", username="rita")
    assert client.get("/console/").status_code == 303  # not signed in: to the sign-in page
    assert client.get("/console/").headers["Location"].startswith("/console/login?next=")

    wrong = sign_in(client, "rita", "not-the-password")
    assert wrong.status_code == 401
    assert "用户名或密码错误" in text(wrong)
    assert client.get("/console/").status_code == 303

    right = client.post("/console/login?next=/console/caregivers", data={
        "username": "rita", "password": PASSWORD, "csrf_token": csrf(client)})
    assert right.status_code == 303 and right.headers["Location"] == "/console/caregivers"
    dashboard = client.get("/console/")
    assert dashboard.status_code == 200
    assert "rita" in text(dashboard) and "审核员" in text(dashboard)
    assert 'id="pending-caregivers"' in text(dashboard)


def test_sign_in_never_redirects_off_the_console(client, staff_factory):
    staff_factory("reviewer", username="rita")
    for target in ("https://evil.example/", "//evil.example/console/", "/api/v1/me",
                   "/console/\\evil"):
        answer = client.post("/console/login", query_string={"next": target}, data={
            "username": "rita", "password": PASSWORD, "csrf_token": csrf(client)})
        assert answer.headers["Location"] == "/console/", target


def test_empty_credentials_are_a_422_page(client):
    answer = client.post("/console/login", data={"username": "", "password": "",
                                                 "csrf_token": csrf(client)})
    assert answer.status_code == 422 and "请输入用户名和密码" in text(answer)


def test_every_post_needs_the_session_csrf_token(app, client, console, staff_factory, alice):
    staff_factory("reviewer", username="rita")
    # sign-in itself: no token, or a token from another session
    assert client.post("/console/login", data={"username": "rita",
                                               "password": PASSWORD}).status_code == 403
    other = app.test_client()
    foreign = csrf(other)
    refused = client.post("/console/login", data={"username": "rita", "password": PASSWORD,
                                                  "csrf_token": foreign})
    assert refused.status_code == 403 and "页面已过期" in text(refused)
    assert client.get("/console/").status_code == 303  # still not signed in

    admin, _ = console("admin")
    for data in ({}, {"csrf_token": ""}, {"csrf_token": foreign}):
        answer = admin.post(f"/console/users/{alice['id']}/ban", data={"reason": "刷单", **data})
        assert answer.status_code == 403, data
        assert 'data-error-code="csrf_failed"' in text(answer)
    with app.app_context():
        assert db.session.get(User, alice["id"]).status == "active"
        db.session.remove()
    # sign-out needs it as well
    assert admin.post("/console/logout").status_code == 403
    assert admin.get("/console/").status_code == 200


def test_a_reviewer_cannot_reach_operator_pages_nor_an_operator_review_pages(app, console,
                                                                              alice):
    reviewer, _ = console("reviewer")
    for path in ("/console/users", "/console/users?q=1"):
        answer = reviewer.get(path)
        assert answer.status_code == 403 and "没有权限" in text(answer)
    banned = post(reviewer, f"/console/users/{alice['id']}/ban", {"reason": "刷单行为"})
    assert banned.status_code == 403
    with app.app_context():
        assert db.session.get(User, alice["id"]).status == "active"
        db.session.remove()
    assert "/console/users" not in text(reviewer.get("/console/"))  # not offered either

    operator, _ = console("operator")
    for path in ("/console/real-name", "/console/caregivers", "/console/qualifications",
                 "/console/caregivers/1", "/console/files/1"):
        assert operator.get(path).status_code == 403, path
    assert operator.get("/console/users").status_code == 200

    admin, _ = console("admin")
    for path in ("/console/users", "/console/real-name", "/console/caregivers",
                 "/console/qualifications"):
        assert admin.get(path).status_code == 200, path


def test_sign_out_ends_the_session(console):
    client, _ = console("reviewer")
    assert client.get("/console/").status_code == 200
    out = post(client, "/console/logout")
    assert out.status_code == 303 and out.headers["Location"] == "/console/login"
    assert client.get("/console/").status_code == 303


def test_a_disabled_account_is_signed_out_at_once(app, console):
    client, staff_id = console("reviewer")
    assert client.get("/console/caregivers").status_code == 200
    with app.app_context():
        db.session.get(StaffUser, staff_id).is_active = False
        db.session.commit()
        db.session.remove()
    answer = client.get("/console/caregivers")
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/console/login")
    assert "员工账号已停用" in text(client.get(answer.headers["Location"]))
    with app.app_context():  # enabled again, the old session stays ended
        db.session.get(StaffUser, staff_id).is_active = True
        db.session.commit()
        db.session.remove()
    assert client.get("/console/caregivers").status_code == 303


def test_a_token_version_change_ends_the_session_even_when_made_in_sql(app, console):
    client, staff_id = console("reviewer")
    assert client.get("/console/").status_code == 200
    with app.app_context():
        db.session.execute(update(StaffUser).where(StaffUser.id == staff_id)
                           .values(token_version=StaffUser.token_version + 1))
        db.session.commit()
        db.session.remove()
    answer = client.get("/console/")
    assert answer.status_code == 303
    assert "登录状态已失效" in text(client.get(answer.headers["Location"]))


def test_a_role_change_applies_to_the_next_request(app, console):
    client, staff_id = console("operator")
    assert client.get("/console/users").status_code == 200
    with app.app_context():
        db.session.get(StaffUser, staff_id).role = "reviewer"
        db.session.commit()
        db.session.remove()
    assert client.get("/console/users").status_code == 403
    assert client.get("/console/caregivers").status_code == 200


def test_sign_in_staff_puts_a_staff_member_in_the_session(app, staff_factory):
    """The entry point WeChat OAuth sign-in calls once it knows which staff member it is: the
    cookie it sets is a console session like a password sign-in's."""
    from flask import session

    from app.console.services import sign_in_staff

    staff_id = staff_factory("operator", username="olga")["id"]
    with app.test_request_context("/console/"):
        sign_in_staff(db.session.get(StaffUser, staff_id))
        response = app.response_class()
        app.session_interface.save_session(app, session, response)
        cookie = response.headers["Set-Cookie"].split(";")[0].split("=", 1)
        db.session.remove()
    client = app.test_client()
    client.set_cookie(cookie[0], cookie[1])
    assert client.get("/console/users").status_code == 200
    with app.app_context():
        db.session.get(StaffUser, staff_id).is_active = False
        db.session.commit()
        db.session.remove()
    with app.test_request_context("/console/"):
        try:
            sign_in_staff(db.session.get(StaffUser, staff_id))
        except Exception as error:  # a disabled account is refused, not signed in
            assert error.code == "staff_disabled"
        else:
            raise AssertionError("a disabled staff member was signed in")
        db.session.remove()


def test_password_guessing_locks_the_account_as_the_api_does(app, client, staff_factory):
    staff_factory("reviewer", username="rita")
    limit = app.config["STAFF_LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert sign_in(client, "rita", "wrong-password-0").status_code == 401
    locked = sign_in(client, "rita", PASSWORD)  # even the right password, while locked
    assert locked.status_code == 429 and "账号已暂时锁定" in text(locked)
    assert int(locked.headers["Retry-After"]) > 0
    assert client.get("/console/").status_code == 303
