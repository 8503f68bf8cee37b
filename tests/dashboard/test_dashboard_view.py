"""The dashboard page: sign-in with a token, signed session cookie, bearer, languages, links."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

import webhooks.dashboard as view
from tests.conftest import TEST_TOKEN, make_settings
from webhooks.app import create_app
from whmcs_bridge.dashboard.data import Compliance, shape

NOW = datetime.now(UTC)


def fake_tickets() -> list[dict[str, Any]]:
    def t(i: int, state: str, remaining: int | None, verification: str = "not_required"):
        return {"id": i, "tid": f"ABC-{i}", "subject": f"Subject <{i}>", "level": "urgent",
                "status": "Open", "channel": "email",
                "sla": {"state": state, "remaining_seconds": remaining,
                        "first_response_due_at": "2030-01-01T00:00:00+00:00"},
                "verification": {"state": verification}}
    return [t(1, "on_track", 900), t(2, "breached", -60), t(3, "paused", None, "required")]


@pytest.fixture
def app(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The real app; the data read (I/O edge) returns a fixed set of enriched tickets."""
    def load(engine: Any, settings: Any, now: datetime) -> Any:
        return shape(fake_tickets(), now=now, admin_url=settings.whmcs.admin_url,
                     compliance=[Compliance("urgent", 7, 3, 1), Compliance("urgent", 30, 9, 1)])

    monkeypatch.setattr(view, "load_dashboard", load)
    settings = make_settings(sqlite_url, whmcs={"admin_url": "https://billing.example/admin/"},
                             server={"secret_key": "k" * 32})
    return create_app(settings)


def test_without_a_session_the_login_form_is_shown(app: Any) -> None:
    resp = app.test_client().get("/dashboard?lang=en")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'name="token"' in html and "Staff sign-in" in html
    assert "ABC-1" not in html


def test_wrong_or_missing_token_is_refused(app: Any) -> None:
    client = app.test_client()
    assert client.post("/dashboard/login", data={"token": "nope"}).status_code == 401
    assert client.post("/dashboard/login", data={}).status_code == 400
    assert view.SESSION_COOKIE not in {c.key for c in client._cookies.values()}


def test_login_sets_a_signed_cookie_that_opens_the_dashboard(app: Any) -> None:
    client = app.test_client()
    resp = client.post("/dashboard/login?lang=en", data={"token": TEST_TOKEN})
    assert resp.status_code == 303
    cookie = resp.headers["Set-Cookie"]
    assert view.SESSION_COOKIE in cookie and "HttpOnly" in cookie
    assert TEST_TOKEN not in cookie  # a fingerprint, never the token
    html = client.get("/dashboard?lang=en").get_data(as_text=True)
    assert "Open tickets by time to breach" in html
    # sorted by time to breach: the breached ticket first
    assert html.index("ABC-2") < html.index("ABC-1") < html.index("ABC-3")
    assert "https://billing.example/admin/supporttickets.php?action=view&amp;id=2" in html
    assert "Subject &lt;1&gt;" in html  # escaped
    assert html.count("<svg") >= 2
    assert 'data-due="2030-01-01T00:00:00+00:00"' in html


def test_tampered_cookie_and_logout(app: Any) -> None:
    client = app.test_client()
    client.set_cookie(view.SESSION_COOKIE, "eyJmcCI6IngifQ.forged.sig")
    assert 'name="token"' in client.get("/dashboard").get_data(as_text=True)
    client.post("/dashboard/login", data={"token": TEST_TOKEN})
    assert 'name="token"' not in client.get("/dashboard").get_data(as_text=True)
    assert client.post("/dashboard/logout").status_code == 303
    assert 'name="token"' in client.get("/dashboard").get_data(as_text=True)


def test_session_ends_when_the_token_is_removed_from_settings(app: Any) -> None:
    client = app.test_client()
    client.post("/dashboard/login", data={"token": TEST_TOKEN})
    cookie = client.get_cookie(view.SESSION_COOKIE).value
    other = create_app(make_settings(app.extensions["whmcs_bridge"].settings.database_url,
                                     api={"tokens": ["another-token-" + "y" * 20]},
                                     server={"secret_key": "k" * 32}))
    c2 = other.test_client()
    c2.set_cookie(view.SESSION_COOKIE, cookie)
    assert 'name="token"' in c2.get("/dashboard").get_data(as_text=True)


def test_bearer_token_works_without_a_cookie_and_vietnamese_is_default(app: Any) -> None:
    resp = app.test_client().get("/dashboard",
                                 headers={"Authorization": f"Bearer {TEST_TOKEN}",
                                          "Accept-Language": "vi"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Phiếu đang mở theo thời gian còn lại" in html
    assert '<html lang="vi">' in html


def test_strict_csp_with_a_nonce_matching_the_inline_script(app: Any) -> None:
    resp = app.test_client().get("/dashboard", headers={"Authorization": f"Bearer {TEST_TOKEN}"})
    csp = resp.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    html = resp.get_data(as_text=True)
    assert f'<script nonce="{nonce}">' in html
    assert "http" not in re.sub(r'href="https://billing[^"]*"', "", html).replace(
        "http://www.w3.org/2000/svg", "")  # nothing loaded from elsewhere


def test_ephemeral_key_when_no_secret_key(sqlite_url: str, caplog: Any) -> None:
    with caplog.at_level("WARNING"):
        app = create_app(make_settings(sqlite_url))
    assert "secret_key" in caplog.text
    assert len(app.extensions["whmcs_bridge_dashboard_key"]) >= 32


def test_cookie_is_secure_when_the_public_url_is_https(sqlite_url: str) -> None:
    app = create_app(make_settings(sqlite_url, server={"secret_key": "k" * 32,
                                                       "public_url": "https://bridge.example/"}))
    resp = app.test_client().post("/dashboard/login", data={"token": TEST_TOKEN})
    assert "Secure" in resp.headers["Set-Cookie"]
    plain = create_app(make_settings(sqlite_url, server={"secret_key": "k" * 32}))
    resp = plain.test_client().post("/dashboard/login", data={"token": TEST_TOKEN})
    assert "Secure" not in resp.headers["Set-Cookie"]


def test_the_root_address_leads_to_the_dashboard(app: Any) -> None:
    resp = app.test_client().get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/dashboard")


# --------------------------------------------------------------------------- issue 13.7

def test_failed_sign_ins_are_throttled_per_address(app: Any) -> None:
    client = app.test_client()
    here, there = {"REMOTE_ADDR": "203.0.113.5"}, {"REMOTE_ADDR": "198.51.100.8"}
    codes = [client.post("/dashboard/login", data={"token": f"guess-{i}"},
                         environ_base=here).status_code for i in range(view.SIGNIN_BURST)]
    assert codes == [401] * view.SIGNIN_BURST
    # out of attempts: even the right token is not looked at from this address
    blocked = client.post("/dashboard/login", data={"token": TEST_TOKEN}, environ_base=here)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    assert client.post("/dashboard/login", data={"token": TEST_TOKEN},
                       environ_base=there).status_code == 303


def test_sign_out_revokes_the_session_server_side(app: Any) -> None:
    client = app.test_client()
    client.post("/dashboard/login", data={"token": TEST_TOKEN})
    copied = client.get_cookie(view.SESSION_COOKIE).value
    assert client.post("/dashboard/logout").status_code == 303
    replay = app.test_client()
    replay.set_cookie(view.SESSION_COOKIE, copied)  # the old cookie, kept by someone
    assert 'name="token"' in replay.get("/dashboard").get_data(as_text=True)
    fresh = app.test_client()  # signing in again still works
    fresh.post("/dashboard/login", data={"token": TEST_TOKEN})
    assert 'name="token"' not in fresh.get("/dashboard").get_data(as_text=True)


def test_posts_from_a_foreign_origin_are_refused(app: Any) -> None:
    client = app.test_client()
    for origin in ("https://evil.example", "null"):
        resp = client.post("/dashboard/login", data={"token": TEST_TOKEN},
                           headers={"Origin": origin})
        assert resp.status_code == 403
        assert view.SESSION_COOKIE not in {c.key for c in client._cookies.values()}
    ok = client.post("/dashboard/login", data={"token": TEST_TOKEN},
                     headers={"Origin": "http://localhost"})
    assert ok.status_code == 303
    assert client.post("/dashboard/logout", headers={"Origin": "https://evil.example"}
                       ).status_code == 403
    assert 'name="token"' not in client.get("/dashboard").get_data(as_text=True)


def test_pages_let_the_browser_send_its_origin_on_the_sign_in_post(app: Any) -> None:
    """Under ``Referrer-Policy: no-referrer`` Chromium posts the sign-in form with
    ``Origin: null``, which the Origin check refuses (the browser test never reached the
    dashboard): the policy must keep the Origin for same-origin requests."""
    resp = app.test_client().get("/dashboard")
    assert resp.headers["Referrer-Policy"] in ("same-origin", "strict-origin",
                                               "strict-origin-when-cross-origin")


def test_cross_site_fetch_metadata_without_origin_is_refused(app: Any) -> None:
    client = app.test_client()
    resp = client.post("/dashboard/login", data={"token": TEST_TOKEN},
                       headers={"Sec-Fetch-Site": "cross-site"})
    assert resp.status_code == 403
    assert client.post("/dashboard/login", data={"token": TEST_TOKEN},
                       headers={"Sec-Fetch-Site": "same-origin"}).status_code == 303
