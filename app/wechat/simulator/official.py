"""Simulated official account (公众号): its custom menu, web OAuth (snsapi_base) with an
authorize page that plays the user consenting, and WeChat's side of the webhook: a page and an
endpoint that send a menu click or a text message to the app's /wechat/official, signed (and in
安全模式 encrypted) with WECHAT_OA_TOKEN / WECHAT_OA_AES_KEY, exactly as WeChat does.

OAuth openids are the official account's own: the same WeChat user has a different openid here
than in the mini-program, as on WeChat. The authorize page asks which user is consenting
(?sim_openid= skips the question); codes work once, for 5 minutes (40029 / 40163 otherwise).
"""
import hashlib
import html
import json
import secrets
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
import xmltodict
from flask import Blueprint, Response, current_app, jsonify, redirect, request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto

from app.extensions import redis_client
from app.wechat.simulator.miniprogram import _count, _err, _json_body, _token_of

api_bp = Blueprint("wechat_simulator_official", __name__)  # under /_sim/wechat
user_bp = Blueprint("wechat_simulator_official_user", __name__)  # /_sim/official

MENU = "sim:wx:oa_menu"
OAUTH_CODE_TTL = 300
BUTTON_TYPES = {"click": "key", "view": "url", "miniprogram": "url"}
DEMO_OPENID = "oOfficialDemoStaff0000000001"


def _menu_error(buttons):
    """WeChat's errcode for a malformed menu, or None: 1-3 buttons, each either a parent with
    1-5 sub_buttons or a leaf of a known type with its key or url."""
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return 40016, "invalid button size"
    for button in buttons:
        if not isinstance(button, dict):
            return 40017, "invalid button type"
        name = button.get("name")
        if not isinstance(name, str) or not name or len(name.encode()) > 60:
            return 40018, "invalid button name size"
        if "sub_button" in button and "type" not in button:
            subs = button["sub_button"]
            if not isinstance(subs, list) or not 1 <= len(subs) <= 5:
                return 40023, "invalid sub button size"
            leaves = subs
        else:
            leaves = [button]
        for leaf in leaves:
            if not isinstance(leaf, dict) or leaf.get("type") not in BUTTON_TYPES:
                return 40017, "invalid button type"
            if not isinstance(leaf.get("name"), str) or not leaf["name"]:
                return 40018, "invalid button name size"
            value = leaf.get(BUTTON_TYPES[leaf["type"]])
            if leaf["type"] == "click" and not (isinstance(value, str)
                                                and 0 < len(value.encode()) <= 128):
                return 40019, "invalid button key size"
            if leaf["type"] != "click" and not (isinstance(value, str)
                                                and value.startswith(("http://", "https://"))):
                return 40055, "invalid button url domain"
    return None


@api_bp.post("/cgi-bin/menu/create")
def menu_create():
    _count("menu_create")
    if not _token_of("WECHAT_OA_APP_ID"):
        return _err(40001, "invalid credential, access_token is invalid or not latest")
    body = _json_body()
    if body is None:
        return _err(47001, "data format error")
    error = _menu_error(body.get("button"))
    if error:
        return _err(*error)
    redis_client.conn.set(MENU, json.dumps({"button": body["button"]}, ensure_ascii=False))
    return _err(0, "ok")


@api_bp.get("/cgi-bin/menu/get")
def menu_get():
    _count("menu_get")
    if not _token_of("WECHAT_OA_APP_ID"):
        return _err(40001, "invalid credential, access_token is invalid or not latest")
    menu = redis_client.conn.get(MENU)
    if menu is None:
        return _err(46003, "menu no exist")
    return jsonify({"menu": json.loads(menu)})


def _render(title, body_html):
    return Response(
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>body{{font:15px/1.6 system-ui,sans-serif;"
        "max-width:36em;margin:2em auto;padding:0 1em}input,select,textarea{font:inherit;"
        "width:100%;margin:.2em 0 .8em}button{font:inherit;padding:.4em 1.2em}"
        "pre{background:#f3f3f3;padding:.6em;white-space:pre-wrap}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body_html}</body></html>",
        content_type="text/html; charset=utf-8")


@api_bp.get("/connect/oauth2/authorize")
def oauth_authorize():
    """open.weixin.qq.com's page: with snsapi_base WeChat asks nothing and redirects at once;
    here the page asks which user is signing in (?sim_openid= answers it)."""
    _count("oauth_authorize")
    args = request.args
    if args.get("appid") != current_app.config["WECHAT_OA_APP_ID"]:
        return _render("微信授权", "<p>appid 无效 (10003 redirect_uri 域名与后台配置不一致)。</p>"), 400
    redirect_uri = args.get("redirect_uri", "")
    if not redirect_uri.startswith(("http://", "https://")) or args.get("response_type") != "code":
        return _render("微信授权", "<p>参数错误 (10004 redirect_uri 或 response_type 无效)。</p>"), 400
    if args.get("scope") not in ("snsapi_base", "snsapi_userinfo"):
        return _render("微信授权", "<p>scope 参数错误 (10005)。</p>"), 400
    openid = args.get("sim_openid", "").strip()
    if not openid:
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in args.items())
        return _render("微信授权 (模拟)", (
            "<p>模拟微信用户同意授权:填写以哪个公众号 openid 的身份登录(与公众号消息页所用的相同)。</p>"
            f'<form method="get">{hidden}<label>openid<input name="sim_openid" '
            f'value="{DEMO_OPENID}"></label><button>同意</button></form>'))
    if len(openid) > 64:
        return _render("微信授权", "<p>openid 过长。</p>"), 400
    code = secrets.token_urlsafe(24)
    redis_client.conn.set(f"sim:wx:oauth_code:{code}",
                          json.dumps({"appid": args["appid"], "openid": openid,
                                      "scope": args["scope"]}), ex=OAUTH_CODE_TTL)
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [("code", code)]
    if args.get("state"):
        query.append(("state", args["state"]))
    return redirect(urlunsplit(parts._replace(query=urlencode(query))))


@api_bp.get("/sns/oauth2/access_token")
def oauth_access_token():
    _count("oauth_access_token")
    args = request.args
    config = current_app.config
    if args.get("appid") != config["WECHAT_OA_APP_ID"] \
            or args.get("secret") != config["WECHAT_OA_APP_SECRET"]:
        return _err(40125, "invalid appsecret")
    if args.get("grant_type") != "authorization_code":
        return _err(40002, "invalid grant_type")
    code = args.get("code", "")
    conn = redis_client.conn
    key = f"sim:wx:oauth_code:{code}"
    pipe = conn.pipeline()
    pipe.get(key)
    pipe.delete(key)
    stored, _ = pipe.execute()
    if not code or stored is None:
        # a used code is gone too: WeChat says 40163 for it, 40029 for one it never issued
        return _err(40163 if conn.get(f"sim:wx:oauth_used:{code}") else 40029, "invalid code")
    conn.set(f"sim:wx:oauth_used:{code}", 1, ex=OAUTH_CODE_TTL)
    grant = json.loads(stored)
    return jsonify({"access_token": "SIM_OAUTH_" + secrets.token_urlsafe(24), "expires_in": 7200,
                    "refresh_token": "SIM_REFRESH_" + secrets.token_urlsafe(24),
                    "openid": grant["openid"], "scope": grant["scope"]})


# -- WeChat's side of the webhook ----------------------------------------------------------------

def _sign(*parts):
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def message_xml(openid, kind, *, key=None, content=None, msg_id=None, create_time=None):
    """A message or event as WeChat writes it."""
    config = current_app.config
    create_time = int(create_time or time.time())
    head = (f"<ToUserName><![CDATA[gh_{config['WECHAT_OA_APP_ID'][-12:]}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime>")
    if kind == "text":
        msg_id = msg_id or int(time.time() * 1000) * 1000 + secrets.randbelow(1000)
        return (f"<xml>{head}<MsgType><![CDATA[text]]></MsgType>"
                f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")
    event = {"click": "CLICK", "view": "VIEW", "subscribe": "subscribe"}[kind]
    key_xml = f"<EventKey><![CDATA[{key or ''}]]></EventKey>" if kind != "subscribe" else ""
    return (f"<xml>{head}<MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event>{key_xml}</xml>")


def deliver(url, xml, *, mode="plain"):
    """POST `xml` to the webhook as WeChat would; returns (status, raw answer, reply text)."""
    config = current_app.config
    token, timestamp, nonce = config["WECHAT_OA_TOKEN"], str(int(time.time())), \
        secrets.token_hex(5)
    params = {"signature": _sign(token, timestamp, nonce), "timestamp": timestamp,
              "nonce": nonce, "openid": parse_message(xml).source}
    body = xml
    crypto = None
    if mode == "aes":
        crypto = WeChatCrypto(token, config["WECHAT_OA_AES_KEY"], config["WECHAT_OA_APP_ID"])
        envelope = crypto.encrypt_message(xml, nonce, timestamp)
        encrypt = parse_envelope(envelope)["Encrypt"]
        params.update(encrypt_type="aes", msg_signature=_sign(token, timestamp, nonce, encrypt))
        body = (f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
    answer = requests.post(url, params=params, data=body.encode(), timeout=5,
                           headers={"Content-Type": "text/xml"})
    reply = None
    if answer.status_code == 200 and answer.text not in ("", "success"):
        plain = answer.text
        if crypto is not None:
            fields = parse_envelope(plain)
            plain = crypto.decrypt_message(plain, fields["MsgSignature"], fields["TimeStamp"],
                                           fields["Nonce"])
        reply = parse_envelope(plain).get("Content")
    return answer.status_code, answer.text, reply


def parse_envelope(xml):
    return xmltodict.parse(xml)["xml"]


def _default_webhook():
    return request.host_url.rstrip("/") + "/wechat/official"


@user_bp.post("/_sim/official/send")
def send():
    """Send a menu click, a view, a subscribe or a text message to the webhook."""
    body = _json_body() or {}
    kind, mode = body.get("type"), body.get("mode", "plain")
    openid = body.get("openid") or DEMO_OPENID
    if kind not in ("click", "view", "subscribe", "text") or mode not in ("plain", "aes") \
            or not isinstance(openid, str) or len(openid) > 64:
        return jsonify({"errcode": 47003, "errmsg": "参数无效: type 须为 click | view | "
                        "subscribe | text, mode 须为 plain | aes"}), 400
    value = body.get("content") if kind == "text" else body.get("key")
    if kind in ("text", "click", "view") and not (isinstance(value, str) and value):
        return jsonify({"errcode": 47003, "errmsg": "参数无效: text 需要 content, "
                        "click/view 需要 key"}), 400
    xml = message_xml(openid, kind, key=body.get("key"), content=body.get("content"),
                      msg_id=body.get("msg_id"), create_time=body.get("create_time"))
    url = body.get("url") or _default_webhook()
    copies = body.get("copies", 1)
    if not isinstance(copies, int) or isinstance(copies, bool) or not 1 <= copies <= 5:
        return jsonify({"errcode": 47003, "errmsg": "参数无效: copies 须为 1..5"}), 400
    deliveries = []
    for _ in range(copies):  # WeChat's retries carry the same message
        try:
            status, raw, reply = deliver(url, xml, mode=mode)
        except requests.RequestException as exc:
            return jsonify({"errcode": -1, "errmsg": f"公众号服务器无法访问: {exc}"}), 502
        deliveries.append({"status": status, "raw": raw, "reply": reply})
    return jsonify({"errcode": 0, "message": xml, "deliveries": deliveries,
                    **deliveries[0]})


@user_bp.get("/_sim/official")
def page():
    """A phone in a page: pick who you are, tap a menu button or type a message."""
    menu = redis_client.conn.get(MENU)
    buttons = json.loads(menu)["button"] if menu else current_app.config.get(
        "WECHAT_OA_MENU", {}).get("button", [])
    leaves = []
    for button in buttons:
        for leaf in button.get("sub_button") or [button]:
            if leaf.get("type") == "click":
                leaves.append(leaf)
    options = "".join(f'<option value="{html.escape(b["key"])}">{html.escape(b["name"])}</option>'
                      for b in leaves)
    return _render("公众号消息模拟", f"""
<p>以公众号用户的身份向本应用的 <code>/wechat/official</code> 发送菜单点击或文字消息,
签名(和安全模式加密)与微信相同。菜单取自 <code>flask wechat sync-menu</code> 创建的菜单。</p>
<label>openid<input id="openid" value="{DEMO_OPENID}"></label>
<label>模式<select id="mode"><option value="plain">明文</option>
<option value="aes">安全模式 (AES)</option></select></label>
<label>菜单<select id="key">{options}</select></label><button id="click">点击菜单</button>
<label>文字消息<input id="content" placeholder="绑定 ABCD2345"></label>
<button id="text">发送</button><h2>回复</h2><pre id="reply"></pre>
<script>
async function send(body) {{
  body.openid = document.getElementById("openid").value;
  body.mode = document.getElementById("mode").value;
  const answer = await fetch("/_sim/official/send", {{method: "POST",
    headers: {{"Content-Type": "application/json"}}, body: JSON.stringify(body)}});
  const data = await answer.json();
  document.getElementById("reply").textContent = data.reply || data.raw || data.errmsg;
}}
document.getElementById("click").onclick = () =>
  send({{type: "click", key: document.getElementById("key").value}});
document.getElementById("text").onclick = () =>
  send({{type: "text", content: document.getElementById("content").value}});
</script>""")


def register(app):
    app.register_blueprint(api_bp, url_prefix="/_sim/wechat")
    app.register_blueprint(user_bp)
