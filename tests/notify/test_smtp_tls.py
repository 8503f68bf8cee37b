"""SMTP over STARTTLS and implicit TLS against a real aiosmtpd server, with certificate checks.

``data/smtp-test.crt``/``.key`` is a self-signed, TEST-ONLY pair for 127.0.0.1 (valid until
2126), so the test needs no tools to build one. The bridge trusts it through ``ca_file``; with
the system CAs the same server is refused, which proves the certificate is really checked.
"""

from __future__ import annotations

import random
import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.notify.conftest import NOW, SmtpRecorder, free_port, notify_settings, sample_payload
from whmcs_bridge.notify import outbox
from whmcs_bridge.notify.deliver import Deliverer
from whmcs_bridge.store import make_engine

DATA = Path(__file__).with_name("data")
CERT, KEY = DATA / "smtp-test.crt", DATA / "smtp-test.key"


def _server_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(CERT, KEY)
    return ctx


def _deliver(sqlite_url: str, smtp: dict):
    engine = make_engine(sqlite_url)
    settings = notify_settings(sqlite_url, smtp=smtp,
                               staff=[{"email": "oncall@example.com", "language": "en"}])
    with engine.begin() as conn:
        outbox.enqueue(conn, notification="sla_breached", payload=sample_payload("sla_breached"),
                       dedupe_key="tls:1", now=NOW, settings=settings)
    report = Deliverer(engine, settings, rng=random.Random(1)).run_once(NOW)
    with engine.connect() as conn:
        [row] = outbox.list_deliveries(conn)
    engine.dispose()
    return report, row


@pytest.fixture
def starttls_server():
    recorder, logins = SmtpRecorder(), []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, session.ssl is not None))
        return AuthResult(success=auth_data.password == b"pw")

    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port,
                            tls_context=_server_context(), require_starttls=True,
                            authenticator=authenticator)
    controller.start()
    yield recorder, logins, port
    controller.stop()


def test_starttls_then_login(sqlite_url, starttls_server) -> None:
    recorder, logins, port = starttls_server
    report, row = _deliver(sqlite_url, {
        "host": "127.0.0.1", "port": port, "from": "bridge@example.com", "ca_file": str(CERT),
        "username": "bridge", "password": "pw"})
    assert report.sent == 1, row["last_error"]
    assert logins == [(b"bridge", True)]  # the password only crossed an encrypted channel
    assert len(recorder.messages) == 1


def test_an_untrusted_certificate_is_refused(sqlite_url, starttls_server) -> None:
    recorder, _, port = starttls_server
    report, row = _deliver(sqlite_url, {"host": "127.0.0.1", "port": port,
                                        "from": "bridge@example.com"})
    assert report.failed == 1 and "CERTIFICATE_VERIFY_FAILED" in row["last_error"]
    assert recorder.messages == []


def test_implicit_tls(sqlite_url) -> None:
    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port,
                            ssl_context=_server_context())
    controller.start()
    try:
        report, row = _deliver(sqlite_url, {"host": "127.0.0.1", "port": port, "ssl": True,
                                            "from": "bridge@example.com",
                                            "ca_file": str(CERT)})
    finally:
        controller.stop()
    assert report.sent == 1, row["last_error"]
    assert len(recorder.messages) == 1


def test_ca_file_must_exist() -> None:
    from whmcs_bridge.settings import SettingsError

    with pytest.raises(SettingsError, match=r"notifications\.smtp\.ca_file"):
        notify_settings(smtp={"host": "x", "ca_file": "/nonexistent/ca.pem"})
