"""Test keys for the WeChat Pay simulator, made once per instance directory.

Two RSA-2048 key pairs and the secrets that go with them, kept as PEM/text files under
<INSTANCE_DIR>/wechatpay-sim/:

  merchant_private.pem / merchant_public.pem   商户API私钥 and its public half. The app signs its
                                                requests (and paySign) with the private key; the
                                                simulator verifies them with the public one.
  platform_private.pem / platform_public.pem   微信支付公钥 pair. The simulator signs responses and
                                                notifications with the private key; the app
                                                verifies them with the public one.
  apiv3_key.txt, merchant_serial.txt, public_key_id.txt, mchid.txt

The set is written to a temporary directory and renamed into place in one step, so processes
that start together (web, worker, cron) all end up with the first complete set and never read
half of one. Nothing here touches the network.
"""
import os
import secrets
import shutil
import string
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DIRNAME = "wechatpay-sim"
SIM_MCHID = "1900000109"
FILES = ("merchant_private.pem", "merchant_public.pem", "platform_private.pem",
         "platform_public.pem", "apiv3_key.txt", "merchant_serial.txt", "public_key_id.txt",
         "mchid.txt")


@dataclass(frozen=True)
class SimPayKeys:
    merchant_private_pem: str
    merchant_public_pem: str
    platform_private_pem: str
    platform_public_pem: str
    apiv3_key: str
    merchant_serial: str
    public_key_id: str
    mchid: str
    _loaded: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def merchant_public_key(self):
        return self._load("merchant_public", serialization.load_pem_public_key,
                          self.merchant_public_pem)

    @property
    def platform_private_key(self):
        return self._load("platform_private", lambda data: serialization.load_pem_private_key(
            data, password=None), self.platform_private_pem)

    def _load(self, name, loader, pem):
        if name not in self._loaded:
            self._loaded[name] = loader(pem.encode())
        return self._loaded[name]


_cache: dict[str, SimPayKeys] = {}
_cache_lock = threading.Lock()


def keys_dir(instance_dir) -> Path:
    return Path(instance_dir) / DIRNAME


def load_keys(instance_dir) -> SimPayKeys:
    """The simulator's keys for this instance directory, generating them on first use."""
    directory = keys_dir(instance_dir).resolve()
    with _cache_lock:
        cached = _cache.get(str(directory))
        if cached is None:
            if not directory.exists():
                _generate_into(directory)
            cached = _cache[str(directory)] = _read(directory)
        return cached


def _read(directory: Path) -> SimPayKeys:
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        raise RuntimeError(f"{directory} is incomplete (missing {', '.join(missing)}); "
                           "delete the directory to have new simulator keys made")
    text = {name: (directory / name).read_text(encoding="ascii") for name in FILES}
    return SimPayKeys(
        merchant_private_pem=text["merchant_private.pem"],
        merchant_public_pem=text["merchant_public.pem"],
        platform_private_pem=text["platform_private.pem"],
        platform_public_pem=text["platform_public.pem"],
        apiv3_key=text["apiv3_key.txt"].strip(),
        merchant_serial=text["merchant_serial.txt"].strip(),
        public_key_id=text["public_key_id.txt"].strip(),
        mchid=text["mchid.txt"].strip(),
    )


def _generate_into(directory: Path):
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.parent / f".{DIRNAME}.{os.getpid()}.{secrets.token_hex(4)}"
    staging.mkdir(mode=0o700)
    try:
        for name, content in generate_material().items():
            path = staging / name
            with open(path, "w", encoding="ascii") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
        try:
            os.rename(staging, directory)  # atomic; fails if another process got there first
        except OSError:
            if not directory.exists():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def generate_material() -> dict[str, str]:
    merchant = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    platform = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    alphabet = string.ascii_letters + string.digits
    return {
        "merchant_private.pem": private_pem(merchant),
        "merchant_public.pem": public_pem(merchant),
        "platform_private.pem": private_pem(platform),
        "platform_public.pem": public_pem(platform),
        "apiv3_key.txt": "".join(secrets.choice(alphabet) for _ in range(32)),
        "merchant_serial.txt": secrets.token_hex(20).upper(),
        "public_key_id.txt": "PUB_KEY_ID_0114" + "".join(
            secrets.choice(string.digits) for _ in range(22)) + "sim",
        "mchid.txt": SIM_MCHID,
    }


def private_pem(key) -> str:
    """PKCS#8 PEM, the form WeChat hands out (apiclient_key.pem)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def public_pem(key) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def apply_simulator_pay_defaults(app):
    """With the simulator on: fill every unset WECHATPAY_* setting from the simulator's keys,
    and point the gateway and the notify URLs at this app's own host (the host of
    WECHAT_API_BASE). Settings already given are kept. No network I/O."""
    config = app.config
    keys = load_keys(config["INSTANCE_DIR"])
    defaults = {
        "WECHATPAY_MCHID": keys.mchid,
        "WECHATPAY_APPID": config.get("WECHAT_APP_ID"),
        "WECHATPAY_MERCHANT_SERIAL": keys.merchant_serial,
        "WECHATPAY_MERCHANT_PRIVATE_KEY": keys.merchant_private_pem,
        "WECHATPAY_APIV3_KEY": keys.apiv3_key,
        "WECHATPAY_PUBLIC_KEY": keys.platform_public_pem,
        "WECHATPAY_PUBLIC_KEY_ID": keys.public_key_id,
    }
    base = _host_base(config.get("WECHAT_API_BASE"))
    if base:
        defaults.update({
            "WECHATPAY_GATEWAY": base + "/_sim/wechatpay",
            "WECHATPAY_NOTIFY_URL": base + "/wechat/pay/notify",
            "WECHATPAY_REFUND_NOTIFY_URL": base + "/wechat/pay/refund-notify",
        })
    for name, value in defaults.items():
        if not config.get(name):
            config[name] = value


def _host_base(url):
    if not url:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None
