"""deploy/ cannot rot: nginx checks the site (`nginx -t`, Debian's nginx), systemd checks the
units (`systemd-analyze verify`), and gunicorn's config loads with the values the units and
the README promise. .ci/run installs nginx and systemd from Debian's packages."""
import datetime
import os
import shutil
import subprocess
from pathlib import Path


DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _self_signed(directory: Path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "api.example.com")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
                   .sign(key, hashes.SHA256()))
    (directory / "medapp.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "medapp.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


def test_nginx_accepts_the_site(tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert os.path.exists(nginx), "nginx is missing (.ci/run installs it)"
    _self_signed(tmp_path)
    site = (DEPLOY / "nginx" / "medapp.conf").read_text()
    assert "/etc/nginx/tls/medapp.crt" in site and "/etc/nginx/tls/medapp.key" in site
    (tmp_path / "site.conf").write_text(site.replace("/etc/nginx/tls", str(tmp_path)))
    (tmp_path / "nginx.conf").write_text(f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    include {tmp_path}/site.conf;
}}
""")
    checked = subprocess.run([nginx, "-t", "-q", "-p", str(tmp_path), "-c",
                              str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    # what the app relies on from its proxy
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in site
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site
    assert "client_max_body_size 6m;" in site
    for path in ("pay/notify", "pay/refund-notify", "official"):
        assert path in site


def test_systemd_accepts_the_units(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing (.ci/run installs systemd)"
    root = tmp_path / "srv" / "medapp"
    (root / ".venv" / "bin").mkdir(parents=True)
    for name in ("gunicorn", "flask", "rq"):  # the executables the units start
        executable = root / ".venv" / "bin" / name
        executable.write_text("#!/bin/sh\n")
        executable.chmod(0o755)
    (tmp_path / "env").write_text("")
    units = sorted((DEPLOY / "systemd").glob("medapp-*.service"))
    assert [unit.name for unit in units] == ["medapp-cron.service", "medapp-web.service",
                                             "medapp-worker.service"]
    copies = []
    for unit in units:
        text = unit.read_text().replace("/srv/medapp", str(root)).replace(
            "/etc/medapp/env", str(tmp_path / "env"))
        (tmp_path / unit.name).write_text(text)
        copies.append(str(tmp_path / unit.name))
    checked = subprocess.run([analyze, "verify", *copies], capture_output=True, text=True)
    # a warning (an unknown key, a typo) fails too, not only a refusal
    assert checked.returncode == 0 and not checked.stderr.strip(), checked.stderr


def test_gunicorn_config_loads_with_the_documented_defaults(monkeypatch):
    for name in ("WEB_BIND", "WEB_WORKERS", "WEB_THREADS"):
        monkeypatch.delenv(name, raising=False)
    values: dict = {}
    exec(compile((DEPLOY / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), values)
    assert (values["bind"], values["worker_class"], values["workers"], values["threads"]) == \
        ("127.0.0.1:8000", "gthread", 4, 4)
    assert values["timeout"] > values["graceful_timeout"] > 0
    monkeypatch.setenv("WEB_WORKERS", "8")
    exec(compile((DEPLOY / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), values)
    assert values["workers"] == 8
