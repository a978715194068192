"""Mini-program server API: login, phone number, access token shared through Redis."""
import logging
import threading
import time

import redis
import requests
from flask import current_app
from wechatpy import WeChatClient
from wechatpy.client.api import WeChatWxa
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from app.extensions import redis_client
from app.wechat.errors import WeChatApiError, WeChatUnavailable
from app.wechat.http import route_session

log = logging.getLogger("app.wechat")
OFFICIAL_BASE = "https://api.weixin.qq.com/"


class Wxa(WeChatWxa):
    def code_to_session_without_token(self, js_code):
        # wechatpy's code_to_session fetches an access token first (it is not needed, and a
        # token outage would then break login), so call jscode2session directly.
        response = self._client._http.get(OFFICIAL_BASE + "sns/jscode2session", params={
            "appid": self._client.appid, "secret": self._client.secret,
            "js_code": js_code, "grant_type": "authorization_code"})
        response.raise_for_status()
        result = response.json()
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg"),
                                        client=self._client)
        return result

    def get_phone_number(self, code):
        return self._post("wxa/business/getuserphonenumber", data={"code": code})


TOKEN_ERRCODES = {40001, 40014, 42001}
_retrying = threading.local()


class MiniProgramClient(WeChatClient):
    wxa = Wxa()

    def __init__(self, *args, redis_conn=None, **kwargs):
        # wechatpy's own retry on a rejected token recurses without bound; ours retries once
        super().__init__(*args, auto_retry=False, **kwargs)
        self._redis = redis_conn

    def _handle_result(self, res, method=None, url=None, result_processor=None, **kwargs):
        result = res if isinstance(res, dict) else self._decode_result(res)
        errcode = int(result.get("errcode") or 0) if isinstance(result, dict) else 0
        if errcode in TOKEN_ERRCODES and not getattr(_retrying, "active", False):
            rejected = kwargs["params"].get("access_token")
            if self.session.get(self.access_token_key) == rejected:
                self.session.delete(self.access_token_key)
            fresh = self.fetch_access_token()["access_token"]
            if fresh == rejected:
                fresh = self.fetch_access_token(force_refresh=True)["access_token"]
            kwargs["params"]["access_token"] = fresh
            _retrying.active = True
            try:
                return self._request(method, url, result_processor=result_processor, **kwargs)
            finally:
                _retrying.active = False
        return super()._handle_result(res, method, url, result_processor, **kwargs)

    def fetch_access_token(self, force_refresh=False):
        """stable_token, one refresher at a time across all processes (Redis lock)."""
        lock = self._redis.lock(f"wxmp:{self.appid}:token-refresh", timeout=15,
                                blocking_timeout=10)
        with lock:
            cached = self.session.get(self.access_token_key)
            if cached and not force_refresh:
                return {"access_token": cached}
            response = self._http.post(OFFICIAL_BASE + "cgi-bin/stable_token", json={
                "grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
                "force_refresh": force_refresh})
            response.raise_for_status()
            result = response.json()
            if result.get("errcode"):
                raise WeChatClientException(result["errcode"], result.get("errmsg"), client=self)
            # expire a little early so no caller uses a token in its last minute
            ttl = max(int(result["expires_in"]) - 300, 60)
            self.session.set(self.access_token_key, result["access_token"], ttl)
            self.expires_at = int(time.time()) + ttl
            return result


def build_client(extension_key: str, app_id: str, secret: str) -> MiniProgramClient:
    """One client per app and process, its token shared through Redis by every process."""
    app = current_app._get_current_object()
    cached = app.extensions.get(extension_key)
    if cached is None:
        conn = redis_client.conn
        cached = MiniProgramClient(app_id, secret, session=RedisStorage(conn, prefix="wxmp"),
                                   redis_conn=conn, timeout=app.config["WECHAT_TIMEOUT"][1])
        base = app.config.get("WECHAT_API_BASE")
        route_session(cached._http, None if base == OFFICIAL_BASE.rstrip("/") else base,
                      app.config["WECHAT_TIMEOUT"])
        app.extensions[extension_key] = cached
    return cached


def client() -> MiniProgramClient:
    config = current_app.config
    return build_client("wechat_miniprogram", config["WECHAT_APP_ID"],
                        config["WECHAT_APP_SECRET"])


def call(fn, *args, **kwargs):
    """fn(...) with WeChat's errors as ours: WeChatApiError (errcode) or WeChatUnavailable."""
    try:
        return fn(*args, **kwargs)
    except WeChatClientException as exc:
        log.warning("wechat errcode %s: %s", exc.errcode, exc.errmsg)
        raise WeChatApiError(exc.errcode, exc.errmsg)
    except (requests.RequestException, redis.RedisError) as exc:
        log.warning("wechat unreachable: %s", exc)
        raise WeChatUnavailable()


def code_to_session(js_code: str) -> dict:
    """{"openid", "session_key", "unionid"?} for a wx.login() code."""
    return call(client().wxa.code_to_session_without_token, js_code)


def phone_number(code: str) -> str:
    """The pure phone number behind a getPhoneNumber button code."""
    result = call(client().wxa.get_phone_number, code)
    return result["phone_info"]["purePhoneNumber"]


def send_subscribe_message(openid: str, template_id: str, data: dict,
                           page: str | None = None) -> dict:
    """A one-time subscribe message (it consumes one of the user's acceptances at WeChat)."""
    body = {"touser": openid, "template_id": template_id, "data": data,
            "miniprogram_state": current_app.config["WECHAT_MINIPROGRAM_STATE"], "lang": "zh_CN"}
    if page:
        body["page"] = page
    return call(client().post, "message/subscribe/send", data=body)
