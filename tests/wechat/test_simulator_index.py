"""GET /_sim explains the simulator: every route it has, and the conventions a tester needs."""
import re

import requests

from tests.wechat.conftest import run_app_script



def simulator_routes(app):
    """(method, path) of every simulator route in the URL map, '/_sim/' folded into '/_sim'."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule == "/_sim" or rule.rule.startswith("/_sim/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((method, rule.rule.rstrip("/") or "/"))
    return routes


def test_the_index_lists_exactly_the_routes_the_simulator_has(client, app):
    answer = client.get("/_sim", headers={"Accept": "application/json"})
    assert answer.status_code == 200 and answer.is_json
    listed = {(endpoint["method"], endpoint["path"])
              for section in answer.get_json()["sections"] for endpoint in section["endpoints"]}
    assert listed == simulator_routes(app)
    # and the ones this issue is about are among them
    assert {("POST", "/_sim/pay"), ("POST", "/_sim/wechat/cgi-bin/stable_token"),
            ("POST", "/_sim/wechatpay/v3/refund/domestic/refunds"),
            ("POST", "/_sim/wechatpay/_control/refunds")} <= listed


def test_the_index_is_a_page_for_people_by_default(client):
    for path, headers in (("/_sim", {}), ("/_sim/", {"Accept": "text/html,*/*;q=0.8"}),
                          ("/_sim", {"Accept": "*/*"})):
        page = client.get(path, headers=headers)
        assert page.status_code == 200, path
        assert page.content_type.startswith("text/html")
        text = page.get_data(as_text=True)
        assert text.startswith("<!doctype html>")
        for term in ("jscode2session", "stable_token", "getuserphonenumber",
                     "/v3/pay/transactions/jsapi", "/close", "/v3/refund/domestic/refunds",
                     "/_sim/pay", "prepay_id=", "phone:&lt;11 digits&gt;", "40029", "invalid",
                     "drop", "duplicate", "NOT_ENOUGH", "ABNORMAL", "demo-user", "约定"):
            assert term in text, term
        assert "<script" not in text  # a static page: nothing to load from anywhere


def test_the_json_variant_carries_the_conventions(client, app):
    data = client.get("/_sim?format=json").get_json()
    conventions = " ".join(item["text"] for item in data["conventions"])
    assert "phone:<11 digits>" in conventions and "40029" in conventions
    assert data["refund_refusals"]["NOT_ENOUGH"]["http_status"] == 403
    assert data["settings"]["WECHATPAY_GATEWAY"] == app.config["WECHATPAY_GATEWAY"]


def test_the_conventions_stated_are_what_the_simulator_does(client, app):
    """The page says phone:<11 digits> yields that number and "invalid…" codes fail: check both
    through the same HTTP API the app's SDK uses."""
    base = app.config["WECHAT_API_BASE"]
    credentials = {"appid": app.config["WECHAT_APP_ID"], "secret": app.config["WECHAT_APP_SECRET"]}
    token = requests.post(base + "/cgi-bin/stable_token", timeout=10,
                          json={**credentials, "grant_type": "client_credential"}).json()
    phone = requests.post(base + "/wxa/business/getuserphonenumber", timeout=10,
                          params={"access_token": token["access_token"]},
                          json={"code": "phone:13812345678"}).json()
    assert phone["phone_info"]["purePhoneNumber"] == "13812345678"
    refused = requests.get(base + "/sns/jscode2session", timeout=10, params={
        **credentials, "grant_type": "authorization_code", "js_code": "invalid-used"}).json()
    assert refused["errcode"] == 40029
    same = [requests.get(base + "/sns/jscode2session", timeout=10, params={
        **credentials, "grant_type": "authorization_code", "js_code": "demo-user"}).json()["openid"]
        for _ in range(2)]
    assert same[0] == same[1] and re.match(r"^o[\w-]{27}$", same[0])


NO_SIMULATOR_SCRIPT = """
import json, sys
from app import create_app
instance, redis_url = sys.argv[1], sys.argv[2]
app = create_app("testing", {"WECHAT_SIMULATOR": False, "INSTANCE_DIR": instance,
                             "SQLALCHEMY_DATABASE_URI": "sqlite:///" + instance + "/app.db",
                             "REDIS_URL": redis_url})
routes = sorted(r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/_sim"))
print(json.dumps({"routes": routes, "status": app.test_client().get("/_sim").status_code}))
"""


def test_without_the_simulator_setting_there_is_no_simulator_at_all(app, workdir):
    """As in production: WECHAT_SIMULATOR off mounts nothing under /_sim. In a child process,
    since a second app in this one would rebind the shared extensions."""
    instance = workdir / "no-simulator"
    instance.mkdir()
    outcome = run_app_script(NO_SIMULATOR_SCRIPT, instance, app.config["REDIS_URL"])
    assert outcome == {"routes": [], "status": 404}
