"""Official account (公众号) server API: template messages to bound staff, the custom menu,
and web OAuth (snsapi_base) for staff signing in to the H5 console.

Its own app id and secret, so its own access token (shared through Redis like the
mini-program's, refreshed by one caller at a time, retried once on 40001/42001)."""
from flask import current_app

from app.wechat.miniprogram import build_client, call


def client():
    config = current_app.config
    return build_client("wechat_official", config["WECHAT_OA_APP_ID"],
                        config["WECHAT_OA_APP_SECRET"])


def send_template_message(openid: str, template_id: str, data: dict, *, url: str | None = None,
                          pagepath: str | None = None) -> dict:
    """A template message; with `pagepath` a tap opens that mini-program page instead of `url`."""
    body = {"touser": openid, "template_id": template_id, "data": data}
    if url:
        body["url"] = url
    if pagepath:
        body["miniprogram"] = {"appid": current_app.config["WECHAT_APP_ID"], "pagepath": pagepath}
    return call(client().post, "message/template/send", data=body)


def create_menu(menu: dict) -> dict:
    """Replace the official account's custom menu ({"button": [...]}, absolute view URLs)."""
    return call(client().menu.create, menu)


def get_menu() -> dict:
    return call(client().menu.get)


def _oauth(redirect_uri: str, state: str = ""):
    """One WeChatOAuth per request: the SDK keeps the access token and openid on the instance."""
    from wechatpy.oauth import WeChatOAuth

    from app.wechat.http import route_session
    from app.wechat.miniprogram import OFFICIAL_BASE

    config = current_app.config
    oauth = WeChatOAuth(config["WECHAT_OA_APP_ID"], config["WECHAT_OA_APP_SECRET"], redirect_uri,
                        scope="snsapi_base", state=state)
    base = config.get("WECHAT_API_BASE")
    if base and base.rstrip("/") != OFFICIAL_BASE.rstrip("/"):
        route_session(oauth._http, base, config["WECHAT_TIMEOUT"])
        # the consent page is a browser URL, not an API call: the simulator serves it too
        oauth.OAUTH_BASE_URL = base.rstrip("/") + "/connect/"
    else:
        route_session(oauth._http, None, config["WECHAT_TIMEOUT"])
    return oauth


def oauth_authorize_url(redirect_uri: str, state: str) -> str:
    """Where to send the browser for snsapi_base sign-in (WeChat redirects back with code)."""
    return _oauth(redirect_uri, state).authorize_url


def oauth_openid(code: str, redirect_uri: str) -> str:
    """The openid behind an OAuth code (each code works once, for 5 minutes)."""
    return call(_oauth(redirect_uri).fetch_access_token, code)["openid"]
