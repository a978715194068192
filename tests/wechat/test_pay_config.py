"""WeChat Pay settings: production's required secrets, the simulator's keys and defaults."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from app.wechat.simulator.keys import FILES, apply_simulator_pay_defaults, load_keys
from config import ProductionConfig

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "SECRET_KEY": "s" * 40, "DATABASE_URL": "mysql+pymysql://u:p@db/app",
    "REDIS_URL": "redis://r:6379/0", "PII_KEY": "k" * 40, "WECHAT_APP_ID": "wx1",
    "WECHAT_APP_SECRET": "sec", "WECHATPAY_MCHID": "1230000109",
    "WECHATPAY_MERCHANT_SERIAL": "444F4864EA9B34415", "WECHATPAY_APIV3_KEY": "a" * 32,
    "WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0114000000000000000000000001",
    "WECHATPAY_NOTIFY_URL": "https://api.example.com/wechat/pay/notify",
    "WECHATPAY_REFUND_NOTIFY_URL": "https://api.example.com/wechat/pay/refund-notify",
}
PAY_SECRETS = ("WECHATPAY_MCHID", "WECHATPAY_MERCHANT_SERIAL", "WECHATPAY_MERCHANT_PRIVATE_KEY",
               "WECHATPAY_APIV3_KEY", "WECHATPAY_PUBLIC_KEY", "WECHATPAY_PUBLIC_KEY_ID",
               "WECHATPAY_NOTIFY_URL", "WECHATPAY_REFUND_NOTIFY_URL")


def test_production_names_every_missing_wechatpay_setting():
    with pytest.raises(RuntimeError) as excinfo:
        ProductionConfig.from_environment({k: v for k, v in PRODUCTION_ENV.items()
                                           if not k.startswith("WECHATPAY_")})
    for name in PAY_SECRETS:
        assert name in str(excinfo.value)


def test_production_takes_pems_as_text_or_as_files(tmp_path):
    key_file, public_file = tmp_path / "apiclient_key.pem", tmp_path / "pub_key.pem"
    key_file.write_text("-----BEGIN PRIVATE KEY-----\nFILE\n-----END PRIVATE KEY-----\n")
    public_file.write_text("-----BEGIN PUBLIC KEY-----\nFILE\n-----END PUBLIC KEY-----\n")
    from_files = ProductionConfig.from_environment({
        **PRODUCTION_ENV, "WECHATPAY_MERCHANT_PRIVATE_KEY_FILE": str(key_file),
        "WECHATPAY_PUBLIC_KEY_FILE": str(public_file)})
    assert "FILE" in from_files.WECHATPAY_MERCHANT_PRIVATE_KEY
    assert "FILE" in from_files.WECHATPAY_PUBLIC_KEY
    assert from_files.WECHATPAY_APPID == "wx1"  # defaults to the mini-program's appid
    assert from_files.WECHATPAY_GATEWAY == "https://api.mch.weixin.qq.com"
    assert from_files.WECHATPAY_MCHID == "1230000109"
    as_text = ProductionConfig.from_environment({
        **PRODUCTION_ENV, "WECHATPAY_MERCHANT_PRIVATE_KEY": "PEM-TEXT",
        "WECHATPAY_PUBLIC_KEY": "PUB-TEXT", "WECHATPAY_APPID": "wxpay2"})
    assert as_text.WECHATPAY_MERCHANT_PRIVATE_KEY == "PEM-TEXT"
    assert as_text.WECHATPAY_PUBLIC_KEY == "PUB-TEXT" and as_text.WECHATPAY_APPID == "wxpay2"


def test_production_refuses_unreadable_pem_file_or_short_apiv3_key(tmp_path):
    env = {**PRODUCTION_ENV, "WECHATPAY_MERCHANT_PRIVATE_KEY": "PEM",
           "WECHATPAY_PUBLIC_KEY_FILE": str(tmp_path / "missing.pem")}
    with pytest.raises(RuntimeError, match="WECHATPAY_PUBLIC_KEY_FILE"):
        ProductionConfig.from_environment(env)
    env = {**PRODUCTION_ENV, "WECHATPAY_MERCHANT_PRIVATE_KEY": "PEM",
           "WECHATPAY_PUBLIC_KEY": "PUB", "WECHATPAY_APIV3_KEY": "short"}
    with pytest.raises(RuntimeError, match="32"):
        ProductionConfig.from_environment(env)


def test_simulator_defaults_fill_only_what_is_unset(tmp_path):
    app = Flask("t")
    app.config.update(INSTANCE_DIR=str(tmp_path), WECHAT_APP_ID="wxsim",
                      WECHAT_API_BASE="http://127.0.0.1:5077/_sim/wechat",
                      WECHATPAY_MCHID="1555555555", WECHATPAY_GATEWAY=None)
    apply_simulator_pay_defaults(app)
    keys = load_keys(tmp_path)
    assert app.config["WECHATPAY_MCHID"] == "1555555555"  # given: kept
    assert app.config["WECHATPAY_APPID"] == "wxsim"
    assert app.config["WECHATPAY_MERCHANT_PRIVATE_KEY"] == keys.merchant_private_pem
    assert app.config["WECHATPAY_PUBLIC_KEY"] == keys.platform_public_pem
    assert app.config["WECHATPAY_PUBLIC_KEY_ID"] == keys.public_key_id
    assert keys.public_key_id.startswith("PUB_KEY_ID_0114") and keys.public_key_id.endswith("sim")
    assert len(app.config["WECHATPAY_APIV3_KEY"]) == 32
    assert app.config["WECHATPAY_GATEWAY"] == "http://127.0.0.1:5077/_sim/wechatpay"
    assert app.config["WECHATPAY_NOTIFY_URL"] == "http://127.0.0.1:5077/wechat/pay/notify"
    assert app.config["WECHATPAY_REFUND_NOTIFY_URL"] == \
        "http://127.0.0.1:5077/wechat/pay/refund-notify"


KEY_SCRIPT = ("import sys; from app.wechat.simulator.keys import load_keys; "
              "k = load_keys(sys.argv[1]); "
              "print(k.public_key_id, k.apiv3_key, k.merchant_serial, "
              "hash(k.merchant_private_pem))")


def test_processes_starting_together_end_up_with_the_same_keys(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0"}
    children = [subprocess.Popen([sys.executable, "-c", KEY_SCRIPT, str(tmp_path)], cwd=ROOT,
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for _ in range(4)]
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        outputs.append(out.strip())
    assert len(set(outputs)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wechatpay-sim"]  # no staging left
    assert sorted(p.name for p in (tmp_path / "wechatpay-sim").iterdir()) == sorted(FILES)
    assert outputs[0].split()[0] == load_keys(tmp_path).public_key_id


def test_an_incomplete_key_directory_is_reported(tmp_path):
    (tmp_path / "wechatpay-sim").mkdir()
    (tmp_path / "wechatpay-sim" / "apiv3_key.txt").write_text("x" * 32)
    with pytest.raises(RuntimeError, match="incomplete"):
        load_keys(tmp_path)
