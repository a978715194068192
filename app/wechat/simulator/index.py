"""GET /_sim: what the simulator simulates and how to steer it, as HTML or JSON.

The catalogue below is data, not prose in a template, so that one test can hold it to the URL
map: every route under /_sim is listed here and everything listed here is a route
(tests/wechat/test_simulator_index.py). Add a route to the simulator, add its line here.
"""
import html

from flask import Blueprint, Response, current_app, jsonify, request

bp = Blueprint("wechat_simulator_index", __name__)

MINIPROGRAM = "/_sim/wechat"
PAY = "/_sim/wechatpay"

SECTIONS = [
    {
        "id": "miniprogram",
        "title": "小程序与公众号服务端 API (mini-program and official-account server APIs)",
        "base": MINIPROGRAM,
        "about": "WECHAT_API_BASE points the app's wechatpy clients here. Same URLs, parameters "
                 "and errcode answers as api.weixin.qq.com, for two apps: the mini-program "
                 "(WECHAT_APP_ID / WECHAT_APP_SECRET) and the official account, 公众号 "
                 "(WECHAT_OA_APP_ID / WECHAT_OA_APP_SECRET). Tokens, subscriptions, messages and "
                 "faults live in Redis under sim:wx:*, so every process sees the same ones.",
        "endpoints": [
            ("GET", MINIPROGRAM + "/sns/jscode2session",
             "wx.login code → {openid, session_key, unionid}. Needs the app's appid + secret "
             "(else 40125) and grant_type=authorization_code (else 40002)."),
            ("GET", MINIPROGRAM + "/cgi-bin/token",
             "access_token (client_credential) for either app's appid + secret, 7200 s; every "
             "call issues a new one."),
            ("POST", MINIPROGRAM + "/cgi-bin/stable_token",
             "stable access_token, one per app: the same one until it expires, a new one with "
             "force_refresh=true."),
            ("POST", MINIPROGRAM + "/wxa/business/getuserphonenumber",
             "getPhoneNumber code → phone_info {phoneNumber, purePhoneNumber, countryCode}. "
             "Needs a valid access_token (else 40001)."),
            ("POST", MINIPROGRAM + "/cgi-bin/message/subscribe/send",
             "小程序订阅消息 {touser, template_id, page?, data: {key: {value}}, "
             "miniprogram_state?, lang?} → {errcode: 0, msgid}. Needs the mini-program's "
             "access_token (else 40001). Missing or malformed fields 47003; a touser starting "
             "with \"invalid\" 40003; no accepted subscription left for (touser, template_id) "
             "43101, nothing sent. Each message sent spends one subscription."),
            ("POST", MINIPROGRAM + "/cgi-bin/message/template/send",
             "公众号模板消息 {touser, template_id, url?, miniprogram?: {appid, pagepath}, data} "
             "→ {errcode: 0, msgid}. Needs the official account's access_token (else 40001); "
             "47003 and 40003 as above; no quota."),
            ("GET", MINIPROGRAM + "/_control/subscriptions",
             "test hook: ?openid=&template_id= → {count}: the subscriptions left for that pair."),
            ("POST", MINIPROGRAM + "/_control/subscriptions",
             'test hook: {"openid", "template_id", "count": 1..1000 (default 1)} adds accepted '
             "one-time subscriptions (the user tapping 允许 in wx.requestSubscribeMessage); "
             "answers the new count."),
            ("GET", MINIPROGRAM + "/_control/messages",
             "test hook: {messages: [{api: subscribe | template, msgid, touser, template_id, "
             "page | url + miniprogram, data, at}]}, oldest first (the newest 10000 are kept); "
             "?touser=, ?api=, ?template_id= filter."),
            ("DELETE", MINIPROGRAM + "/_control/messages", "test hook: forget every message."),
            ("GET", MINIPROGRAM + "/_control/faults", "test hook: the faults still queued."),
            ("POST", MINIPROGRAM + "/_control/faults",
             'test hook: {"api": "subscribe" | "template" | "any", "errcode": n, "times": n} '
             "queues `times` injected error answers (-1, 40001, 45009 …); {\"api\", "
             "\"delay_seconds\": ≤ 120, \"times\"} queues slow answers: the request waits, "
             "then answers -1 system error, sending nothing and spending no subscription."),
            ("DELETE", MINIPROGRAM + "/_control/faults", "test hook: clear the fault queue."),
            ("POST", MINIPROGRAM + "/_control/revoke-tokens",
             "test hook: forget every issued token, as if WeChat rotated them (the next API "
             "call answers 40001 and the client fetches a new token)."),
            ("GET", MINIPROGRAM + "/_control/calls",
             "test hook: how many times each API above was called."),
        ],
    },
    {
        "id": "official",
        "title": "公众号菜单、网页授权与消息推送 (official-account menu, web OAuth, webhook messages)",
        "base": MINIPROGRAM,
        "about": "The official account's custom menu and web OAuth (snsapi_base), and WeChat's "
                 "side of the webhook: messages signed with WECHAT_OA_TOKEN and, in 安全模式, "
                 "encrypted with WECHAT_OA_AES_KEY, posted to the app's /wechat/official. OAuth "
                 "openids are the official account's own (any string the authorize page is "
                 "given); codes work once, for 5 minutes.",
        "endpoints": [
            ("POST", MINIPROGRAM + "/cgi-bin/menu/create",
             "自定义菜单创建 {button: [...]}: 1-3 buttons, a parent has 1-5 sub_button; click "
             "needs key, view / miniprogram an http(s) url. Needs the official account's "
             "access_token (else 40001); 40016 / 40017 / 40018 / 40019 / 40023 / 40055 as "
             "WeChat. Replaces the menu."),
            ("GET", MINIPROGRAM + "/cgi-bin/menu/get",
             "自定义菜单查询 → {menu: {button}}; 46003 when no menu was created."),
            ("GET", MINIPROGRAM + "/connect/oauth2/authorize",
             "open.weixin.qq.com's 网页授权 page (WeChatOAuth.authorize_url): appid, "
             "redirect_uri, response_type=code, scope, state. With ?sim_openid=<openid> it "
             "plays that user consenting and redirects to redirect_uri?code=…&state=…; without "
             "it, a page asks which user is signing in."),
            ("GET", MINIPROGRAM + "/sns/oauth2/access_token",
             "网页授权 code → {access_token, expires_in, refresh_token, openid, scope}. Needs "
             "the official account's appid + secret (else 40125) and "
             "grant_type=authorization_code (else 40002); an unknown code 40029, a used one "
             "40163."),
            ("GET", "/_sim/official",
             "a page that plays a WeChat user on the official account: tap a menu button "
             "(the menu created last, else WECHAT_OA_MENU) or send a text such as 「绑定 "
             "ABCD2345」, in plain or safe mode, and see the reply."),
            ("POST", "/_sim/official/send",
             '{"type": "click" | "view" | "subscribe" | "text", "key" (click, view) | '
             '"content" (text), "openid"?, "mode": "plain" | "aes", "copies": 1..5 (WeChat\'s '
             'retries: the same message again), "msg_id"?, "create_time"?, "url"? (default '
             "this host's /wechat/official)} → {status, raw, reply (the decrypted text "
             "reply), message (the XML sent), deliveries: [one per copy]}."),
        ],
    },
    {
        "id": "pay",
        "title": "微信支付 API v3 (WeChat Pay v3, JSAPI)",
        "base": PAY,
        "about": "WECHATPAY_GATEWAY points the app's wechatpayv3 client here. Every /v3 request "
                 "must carry a valid WECHATPAY2-SHA256-RSA2048 Authorization made with the "
                 "merchant key (else 401 SIGN_ERROR); every answer is signed with the WeChat Pay "
                 "public-key pair, exactly as the real gateway. The simulator's keys (merchant "
                 "and platform pairs, APIv3 key, mchid 1900000109) are made once per instance "
                 "directory under wechatpay-sim/. State lives in Redis under sim:pay:*.",
        "endpoints": [
            ("POST", PAY + "/v3/pay/transactions/jsapi",
             "JSAPI 下单 → {prepay_id}. The same out_trade_no with the same parameters answers "
             "the same prepay_id; other parameters 403 OUT_TRADE_NO_USED; paid 400 ORDERPAID; "
             "closed 400 ORDER_CLOSED."),
            ("GET", PAY + "/v3/pay/transactions/out-trade-no/<out_trade_no>",
             "查询订单 by out_trade_no (?mchid=): trade_state NOTPAY | SUCCESS | CLOSED | "
             "REFUND; 404 ORDER_NOT_EXIST."),
            ("GET", PAY + "/v3/pay/transactions/id/<transaction_id>",
             "查询订单 by WeChat's transaction_id."),
            ("POST", PAY + "/v3/pay/transactions/out-trade-no/<out_trade_no>/close",
             "关闭订单 → 204; a paid order 400 ORDERPAID."),
            ("POST", PAY + "/v3/refund/domestic/refunds",
             "申请退款 → refund with status PROCESSING; it ends SUCCESS (or the outcome set "
             "below) about 50 ms later and its notification goes to the refund's notify_url. "
             "The same out_refund_no answers the same refund. More than is left to refund: 400 "
             "INVALID_REQUEST."),
            ("GET", PAY + "/v3/refund/domestic/refunds/<out_refund_no>",
             "查询单笔退款: status PROCESSING | SUCCESS | ABNORMAL | CLOSED; 404 "
             "RESOURCE_NOT_EXISTS."),
            ("GET", PAY + "/_control/notifications",
             "test hook: the delivery setting (mode, copies, refund_timing)."),
            ("POST", PAY + "/_control/notifications",
             'test hook: {"mode": "normal" | "drop" | "duplicate", "copies": 1..50, '
             '"refund_timing": "async" | "early"}. drop: states change but no notification is '
             "sent (the app must find out by querying); duplicate: `copies` identical "
             "notifications sent at the same moment; early: the refund notification arrives "
             "before the refund API has answered. Kept until changed."),
            ("GET", PAY + "/_control/refunds",
             "test hook: the refund setting (refuse, times_left, outcome)."),
            ("POST", PAY + "/_control/refunds",
             'test hook: {"refuse": "NOT_ENOUGH" | "SYSTEM_ERROR" | ... | null, "times": n | '
             'null, "outcome": "SUCCESS" | "ABNORMAL" | "CLOSED"}. refuse: the refund API '
             "refuses the next `times` new refunds with that code (null times: every one until "
             "refuse is set back to null), creating nothing, so the same out_refund_no can be "
             "retried; outcome: how accepted refunds end (REFUND.SUCCESS, REFUND.ABNORMAL or "
             "REFUND.CLOSED notification)."),
            ("GET", PAY + "/_control/transactions/<out_trade_no>",
             "test hook: the raw state of one order, its refunds and every notification "
             "delivered (with the HTTP status each copy got)."),
            ("POST", PAY + "/_control/transactions/<out_trade_no>/notify",
             'test hook: deliver TRANSACTION.SUCCESS again ({"copies": n}), as WeChat retries.'),
            ("POST", PAY + "/_control/refunds/<out_refund_no>/notify",
             'test hook: deliver a finished refund\'s notification again ({"copies": n}).'),
        ],
    },
    {
        "id": "payer",
        "title": "付款人 (the payer: what wx.requestPayment would do)",
        "base": "/_sim",
        "about": "There is no WeChat app to confirm a payment in, so this plays the user paying.",
        "endpoints": [
            ("POST", "/_sim/pay",
             'pay an order: {"package": "prepay_id=wx…"} (the string the client got for '
             'wx.requestPayment), {"prepay_id": "wx…"} or {"out_trade_no": "…"}; add '
             '"force": true to pay after time_expire. The order becomes SUCCESS and the signed, '
             "encrypted TRANSACTION.SUCCESS notification is delivered to the order's notify_url "
             "before this answers {transaction_id, out_trade_no, mode, deliveries: [HTTP status "
             "per copy, null when nobody answered]}. Errors: 404 PREPAY_NOT_EXIST / "
             "ORDER_NOT_EXIST, 400 ORDERPAID / ORDER_CLOSED / ORDER_EXPIRED / PARAM_ERROR."),
            ("GET", "/_sim", "this page (JSON with Accept: application/json)."),
        ],
    },
]

CONVENTIONS = [
    ("wx.login codes",
     "Any code is accepted and always maps to the same openid (an HMAC of the code under the app "
     "secret), so the same code logs the same person in again. The demo user's code is "
     "demo-user; the demo caregiver's is demo-caregiver (demo-caregiver-1 … -50 are the other "
     "listed caregivers, demo-applicant-1 … -4 applications waiting for review)."),
    ("codes that fail",
     "A wx.login or phone code that starts with \"invalid\" (e.g. invalid-used), is empty or is "
     "longer than 128 characters is refused with errcode 40029 invalid code, as WeChat refuses "
     "a used or forged code."),
    ("phone codes",
     "phone:<11 digits> (e.g. phone:13812345678) yields exactly that number; any other code "
     "yields a stable made-up number 139xxxxxxxx."),
    ("wrong credentials",
     "A wrong appid or secret: 40125 on jscode2session, 40001 on token / stable_token; an "
     "unknown or revoked access_token, or one of the other app (an official-account token on "
     "a mini-program API or the reverse): 40001."),
    ("messages, subscriptions and faults",
     "A subscribe message goes out only while the user has an accepted one-time subscription "
     "for that template: POST /_sim/wechat/_control/subscriptions {\"openid\", "
     "\"template_id\", \"count\": 3} plays the user tapping 允许 three times; each message "
     "sent spends one, and with none left the send answers 43101 and records nothing. Template "
     "messages (official account) have no quota. Every message accepted is listed by GET "
     "/_sim/wechat/_control/messages. POST /_sim/wechat/_control/faults {\"api\": "
     "\"subscribe\", \"errcode\": 45009, \"times\": 2} makes the next two subscribe sends "
     "answer 45009; an injected 40001 reads exactly like an expired token, so the client "
     "refreshes its token and retries. {\"api\": \"any\", \"delay_seconds\": 10} makes the "
     "next send wait 10 s and then answer -1 without sending: a client with a shorter read "
     "timeout sees a timeout for a message that never went out. Faults are taken in order, "
     "one per request, before anything else is checked; /_control/calls counts every request "
     "as it arrives (subscribe_send, template_send)."),
    ("paying",
     "Create an order through the API, take the package from its pay parameters and POST it to "
     "/_sim/pay. Unpaid orders expire at their time_expire (ORDER_EXPIRED) unless force is set."),
    ("lost and duplicated notifications",
     "POST /_sim/wechatpay/_control/notifications {\"mode\": \"drop\"} to lose them (the app's "
     "reconciliation must query), {\"mode\": \"duplicate\", \"copies\": 5} to have them arrive "
     "five times at once; {\"mode\": \"normal\"} to go back."),
    ("refused refunds",
     "POST /_sim/wechatpay/_control/refunds {\"refuse\": \"NOT_ENOUGH\", \"times\": 3}: the next "
     "three new refunds are refused with 403 NOT_ENOUGH (SYSTEM_ERROR answers 500, "
     "FREQUENCY_LIMITED 429); {\"refuse\": null} to accept them again. {\"outcome\": "
     "\"ABNORMAL\"} makes accepted refunds end ABNORMAL instead of SUCCESS."),
    ("amounts",
     "Integer fen everywhere (amount.total, amount.refund), as WeChat Pay v3."),
    ("where it runs",
     "Mounted only when WECHAT_SIMULATOR is on: the development and testing configurations, "
     "never production. Settings under _control/ stay in Redis until changed."),
]


def catalogue():
    refusals = {}
    from app.wechat.simulator.pay import REFUND_REFUSALS
    for code, (status, message) in REFUND_REFUSALS.items():
        refusals[code] = {"http_status": status, "message": message}
    return {
        "name": "WeChat simulator (微信模拟器)",
        "about": "A local stand-in for WeChat's servers that speaks their wire protocol, so the "
                 "app, its tests and the demo run through the real SDKs and the real signature "
                 "checks without the internet.",
        "sections": [
            {"id": section["id"], "title": section["title"], "base": section["base"],
             "about": section["about"],
             "endpoints": [{"method": method, "path": path, "what": what}
                           for method, path, what in section["endpoints"]]}
            for section in SECTIONS
        ],
        "conventions": [{"topic": topic, "text": text} for topic, text in CONVENTIONS],
        "refund_refusals": refusals,
        "settings": {
            "WECHAT_API_BASE": current_app.config.get("WECHAT_API_BASE"),
            "WECHAT_APP_ID": current_app.config.get("WECHAT_APP_ID"),
            "WECHAT_OA_APP_ID": current_app.config.get("WECHAT_OA_APP_ID"),
            "WECHATPAY_GATEWAY": current_app.config.get("WECHATPAY_GATEWAY"),
            "WECHATPAY_NOTIFY_URL": current_app.config.get("WECHATPAY_NOTIFY_URL"),
            "WECHATPAY_REFUND_NOTIFY_URL": current_app.config.get("WECHATPAY_REFUND_NOTIFY_URL"),
        },
    }


def _render_html(data) -> str:
    e = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{e(data['name'])}</title>",
        "<style>body{font:14px/1.5 system-ui,sans-serif;max-width:72em;margin:2em auto;"
        "padding:0 1em;color:#222}code{background:#f3f3f3;padding:0 .2em}"
        "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;"
        "padding:.3em .5em;text-align:left;vertical-align:top}th{background:#fafafa}"
        ".m{font-weight:600;white-space:nowrap}</style></head><body>",
        f"<h1>{e(data['name'])}</h1>",
        f"<p>{e(data['about'])}</p>",
        '<p>JSON: <code>curl -H "Accept: application/json" /_sim</code></p>',
        "<h2>约定 (conventions)</h2><dl>",
    ]
    for item in data["conventions"]:
        parts.append(f"<dt><b>{e(item['topic'])}</b></dt><dd>{e(item['text'])}</dd>")
    parts.append("</dl>")
    for section in data["sections"]:
        parts.append(f'<h2 id="{e(section["id"])}">{e(section["title"])}</h2>')
        parts.append(f"<p>{e(section['about'])}</p>")
        parts.append("<table><tr><th>method</th><th>path</th><th>what</th></tr>")
        for endpoint in section["endpoints"]:
            parts.append(f'<tr><td class="m">{e(endpoint["method"])}</td>'
                         f"<td><code>{e(endpoint['path'])}</code></td>"
                         f"<td>{e(endpoint['what'])}</td></tr>")
        parts.append("</table>")
    parts.append("<h2>退款拒绝码 (refund refusal codes)</h2><table>"
                 "<tr><th>code</th><th>HTTP</th><th>message</th></tr>")
    for code, refusal in data["refund_refusals"].items():
        parts.append(f"<tr><td><code>{e(code)}</code></td><td>{refusal['http_status']}</td>"
                     f"<td>{e(refusal['message'])}</td></tr>")
    parts.append("</table><h2>当前配置 (this app's settings)</h2><table>")
    for name, value in data["settings"].items():
        parts.append(f"<tr><td><code>{e(name)}</code></td><td><code>{e(str(value))}</code></td></tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)


@bp.get("/_sim")
@bp.get("/_sim/")
def index():
    data = catalogue()
    wanted = request.accept_mimetypes.best_match(["text/html", "application/json"])
    if wanted == "application/json" or request.args.get("format") == "json":
        return jsonify(data)
    return Response(_render_html(data), content_type="text/html; charset=utf-8")
