"""A requests adapter that sends WeChat's hosts to a configured base URL with a timeout.

wechatpy hard-codes hosts in several places (token URL, per-API bases), so rewriting at the
transport is the one hook that catches all of them; it also fixes the SDK's missing timeouts.
"""
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter

WECHAT_HOSTS = ("https://api.weixin.qq.com/", "https://api.mch.weixin.qq.com/")


class WeChatTransport(HTTPAdapter):
    def __init__(self, base_url: str | None, timeout, **kwargs):
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = timeout

    def send(self, request, **kwargs):
        if self.base_url:
            parts = urlsplit(request.url)
            request.url = self.base_url + parts.path + ("?" + parts.query if parts.query else "")
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def route_session(session, base_url, timeout):
    transport = WeChatTransport(base_url, timeout)
    for prefix in WECHAT_HOSTS:
        session.mount(prefix, transport)
    return session
