"""The dashboard page: sign-in with a token, signed session cookie, bearer, languages, links."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

import whmcs_bridge.webhooks.dashboard as view
from tests.conftest import TEST_TOKEN, make_settings
from whmcs_bridge.dashboard import data as view_data
from whmcs_bridge.dashboard.data import Compliance, shape
from whmcs_bridge.runtime import build_app

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
    return build_app(settings)


def _sets_session(resp: Any) -> bool:
    """The answer sets the session cookie (for any path or domain)."""
    return any(h.startswith(view.SESSION_COOKIE + "=") for h in resp.headers.getlist("Set-Cookie"))


def test_without_a_session_the_login_form_is_shown(app: Any) -> None:
    resp = app.test_client().get("/dashboard?lang=en")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'name="token"' in html and "Staff sign-in" in html
    assert "ABC-1" not in html


def test_wrong_or_missing_token_is_refused(app: Any) -> None:
    client = app.test_client()
    for data, status in (({"token": "nope"}, 401), ({}, 400)):
        resp = client.post("/dashboard/login", data=data)
        assert resp.status_code == status
        assert not _sets_session(resp)
    assert client.get_cookie(view.SESSION_COOKIE) is None


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
    other = build_app(make_settings(app.extensions["whmcs_bridge"].settings.database_url,
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
        app = build_app(make_settings(sqlite_url))
    assert "secret_key" in caplog.text
    assert len(app.extensions["whmcs_bridge_dashboard_key"]) >= 32


def test_cookie_is_secure_when_the_public_url_is_https(sqlite_url: str) -> None:
    app = build_app(make_settings(sqlite_url, server={"secret_key": "k" * 32,
                                                       "public_url": "https://bridge.example/"}))
    resp = app.test_client().post("/dashboard/login", data={"token": TEST_TOKEN})
    assert "Secure" in resp.headers["Set-Cookie"]
    plain = build_app(make_settings(sqlite_url, server={"secret_key": "k" * 32}))
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
        assert not _sets_session(resp)
        assert client.get_cookie(view.SESSION_COOKIE) is None
    ok = client.post("/dashboard/login", data={"token": TEST_TOKEN},
                     headers={"Origin": "http://localhost"})
    assert ok.status_code == 303
    assert _sets_session(ok) and client.get_cookie(view.SESSION_COOKIE) is not None
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


# --------------------------------------------------------------------------- issue 15: volume

def many_tickets(n: int = 120) -> list[dict[str, Any]]:
    """``n`` open tickets: every third breached, departments 1/2/5 (5 = billing), channels
    alternating; ids sort by urgency within a state."""
    out = []
    for i in range(1, n + 1):
        breached = i % 3 == 0
        out.append({
            "id": i, "tid": f"VOL-{i:04d}", "subject": f"Problem number {i}",
            "level": ("urgent", "normal", "low")[i % 3 - 1] if not breached else "urgent",
            "status": "Open", "channel": ("email", "chat")[i % 2],
            "department_id": (1, 2, 5)[i % 3],
            "sla": {"state": "breached" if breached else "on_track",
                    "remaining_seconds": -i * 60 if breached else i * 60,
                    "first_response_due_at": "2026-01-05T03:10:00+00:00"},
            "verification": {"state": "not_required"}})
    return out


@pytest.fixture
def volume_app(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    def load(engine: Any, settings: Any, now: datetime) -> Any:
        return shape(many_tickets(), now=now, admin_url=None,
                     billing_department_ids=settings.channels.billing_department_ids)

    monkeypatch.setattr(view, "load_dashboard", load)
    # the default time zone (Asia/Ho_Chi_Minh) shows due times as "+07"
    settings = make_settings(sqlite_url, server={"secret_key": "k" * 32},
                             channels={"billing_department_ids": [5]})
    return build_app(settings)


def _get(app: Any, query: str = "") -> tuple[int, str]:
    resp = app.test_client().get(f"/dashboard?lang=en&{query}",
                                 headers={"Authorization": f"Bearer {TEST_TOKEN}"})
    return resp.status_code, resp.get_data(as_text=True)


def _table_ids(html: str) -> list[int]:
    table = html[html.index('<table class="tickets">'):html.index("</table>")]
    return [int(x) for x in re.findall(r'data-ticket-id="(\d+)"', table)]


def test_the_open_tickets_table_is_paged_breaches_first(volume_app: Any) -> None:
    status, html = _get(volume_app)
    assert status == 200
    ids = _table_ids(html)
    assert len(ids) == view_data.PER_PAGE
    assert ids[:3] == [120, 117, 114]  # breached, most overdue first
    assert "1–50 of 120" in html and "Page 1 of 3" in html
    assert 'rel="next" href="/dashboard?page=2"' in html and 'rel="prev"' not in html
    _, last = _get(volume_app, "page=3")
    assert len(_table_ids(last)) == 20 and 'rel="next"' not in last
    assert 'rel="prev" href="/dashboard?page=2"' in last


def test_filters_narrow_the_table_and_links_keep_them(volume_app: Any) -> None:
    _, html = _get(volume_app, "sla=breached&channel=chat")
    ids = _table_ids(html)
    assert ids and all(i % 3 == 0 and i % 2 == 1 for i in ids)
    assert '<option value="breached" selected>' in html
    _, html = _get(volume_app, "department=5&level=normal")
    assert len(_table_ids(html)) == 40 and all(i % 3 == 2 for i in _table_ids(html))
    _, html = _get(volume_app, "department=2&level=low")
    assert "No open tickets match these filters." in html
    _, html = _get(volume_app, "level=normal")
    assert 'rel="next"' not in html and len(_table_ids(html)) == 40
    _, html = _get(volume_app, "department=1&page=1")
    assert "Clear filters" in html


def test_search_by_ticket_number_or_subject(volume_app: Any) -> None:
    assert _table_ids(_get(volume_app, "q=%23VOL-0042")[1]) == [42]
    assert set(_table_ids(_get(volume_app, "q=number+7")[1])) == {
        i for i in range(1, 121) if "7" in str(i)}
    _, html = _get(volume_app, "q=nothing+like+this")
    assert "No open tickets match these filters." in html


def test_bad_query_values_are_ignored_with_a_message_not_an_error(volume_app: Any) -> None:
    for query in ("level=critical", "page=abc", "department=-1", "sla=%00",
                  "channel=" + "x" * 5000, "page=99999999999999999999"):
        status, html = _get(volume_app, query)
        assert status == 200, query
        assert 'class="error problem"' in html, query
        assert len(_table_ids(html)) == view_data.PER_PAGE, query
    status, html = _get(volume_app, "q=" + "y" * 5000)  # searched for its first 100 characters
    assert status == 200 and 'data-field="q"' in html
    _, html = _get(volume_app, "level=critical")
    assert "Ignored Level = “critical”: not a valid value." in html


def test_department_column_due_time_and_billing_mark(volume_app: Any) -> None:
    _, html = _get(volume_app, "q=VOL-0001")
    row = html[html.index('data-ticket-id="1"'):]
    row = row[:row.index("</tr>")]
    assert "billing hotline" not in row  # department 2
    assert "10:10 05/01/2026 +07" in row  # the due time, local with the zone
    _, html = _get(volume_app, "q=VOL-0002")
    row = html[html.index('data-ticket-id="2"'):]
    assert 'class="billing"' in row[:200] and "billing hotline" in row[:row.index("</tr>")]
    assert ">5<" in row[:row.index("</tr>")]


def test_breaches_section_is_capped_with_a_link_to_the_filter(volume_app: Any) -> None:
    _, html = _get(volume_app)
    section = html[html.index('<section id="breaches">'):]
    section = section[:section.index("</section>")]
    assert section.count("data-ticket-id") == view.SECTION_ROWS
    assert "All 40 breaches" in section and "sla=breached" in section


def test_the_page_refreshes_itself_with_its_nonced_script(volume_app: Any) -> None:
    resp = volume_app.test_client().get("/dashboard",
                                        headers={"Authorization": f"Bearer {TEST_TOKEN}"})
    html = resp.get_data(as_text=True)
    nonce = re.search(r"'nonce-([^']+)'", resp.headers["Content-Security-Policy"]).group(1)
    assert f'data-refresh="{view.REFRESH_SECONDS}"' in html
    script = html[html.index(f'<script nonce="{nonce}">'):]
    assert "location.reload()" in script
    assert "@media (max-width: 700px)" in html  # fits a phone (checked in the browser too)


def test_the_language_toggle_keeps_the_filters_and_page(volume_app: Any) -> None:
    _, html = _get(volume_app, "channel=chat&page=2&q=Problem")  # 60 rows: 2 pages
    assert 'href="/dashboard?lang=vi&amp;channel=chat&amp;q=Problem&amp;page=2" lang="vi"' in html
    page = volume_app.test_client().get("/dashboard?lang=en").get_data(as_text=True)
    assert 'href="?lang=vi" lang="vi"' in page  # the sign-in page switches in place
