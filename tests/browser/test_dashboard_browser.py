"""Headless Chromium (Debian's, via Playwright's executable_path — never a download) loads the
dashboard and the ticket panel from the real app: countdowns tick, SVG charts render, no
console or page errors; screenshots go to tests/artifacts/."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.browser.conftest import ARTIFACTS
from tests.conftest import TEST_TOKEN

pytestmark = pytest.mark.browser


def _sign_in(page: Any, base: str, lang: str) -> None:
    page.goto(f"{base}/dashboard?lang={lang}")
    page.fill("input[name=token]", TEST_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_selector("#open-tickets")


def _countdown_texts(page: Any) -> list[str]:
    return page.eval_on_selector_all(".countdown[data-due]", "els => els.map(e => e.textContent)")


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_dashboard_ticks_and_draws_charts(bridge_url: str, page: Any, lang: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    _sign_in(page, bridge_url, lang)
    assert page.locator("html").get_attribute("lang") == lang

    rows = page.locator("#open-tickets tbody tr")
    assert rows.count() == 6
    states = [rows.nth(i).get_attribute("data-sla-state") for i in range(rows.count())]
    assert states[:2] == ["breached", "breached"]  # sorted by time to breach

    first = _countdown_texts(page)
    assert first and all(t and t != "…" for t in first)
    # three days old, due after an hour: overdue in words, not a countdown of hours
    assert ({"en": "2 days overdue", "vi": "quá hạn 2 ngày"}[lang] in first), first
    page.wait_for_timeout(2200)
    later = _countdown_texts(page)
    assert len(later) == len(first)
    assert later != first, "the countdowns did not tick"

    for chart in ("#chart-compliance", "#chart-states"):
        box = page.locator(chart).bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0, chart
        drawn = page.locator(f"{chart} rect").evaluate_all(
            "els => els.filter(e => e.getBBox().width > 0 && e.getBBox().height > 0).length")
        assert drawn > 0, f"{chart} has no visible bars"

    link = page.locator("#open-tickets tbody tr a").first.get_attribute("href")
    assert link.startswith("http://whmcs.invalid/admin/supporttickets.php?action=view&id=")

    page.screenshot(path=str(ARTIFACTS / f"dashboard-{lang}.png"), full_page=True)
    assert (ARTIFACTS / f"dashboard-{lang}.png").stat().st_size > 0
    assert page.problems == [], page.problems


def test_language_toggle_switches_words(bridge_url: str, page: Any) -> None:
    _sign_in(page, bridge_url, "en")
    assert "Open tickets by time to breach" in page.inner_text("#open-tickets h2")
    page.click("a[lang=vi]")
    page.wait_for_selector("html[lang=vi]")
    assert "Phiếu đang mở" in page.inner_text("#open-tickets h2")
    assert page.problems == [], page.problems


def test_sign_out_ends_the_session_and_a_copied_cookie(bridge_url: str, page: Any) -> None:
    """Both forms are same-origin POSTs the Origin check lets through from the real browser;
    after sign-out the session cookie the browser had is refused by the server too."""
    _sign_in(page, bridge_url, "en")
    cookie = next(c for c in page.context.cookies() if c["name"] == "wb_session")
    page.click("form[action$='/dashboard/logout'] button")
    page.wait_for_selector("input[name=token]")
    replay = requests.get(f"{bridge_url}/dashboard?lang=en",
                          cookies={"wb_session": cookie["value"]}, timeout=30)
    assert replay.status_code == 200 and 'name="token"' in replay.text
    assert page.problems == [], page.problems


def test_ticket_panel_renders_and_ticks(bridge_url: str, page: Any) -> None:
    """The panel as WHMCS shows it: the fragment (fetched with the staff token, as the PHP
    module does server-side) inside an admin page."""
    for ticket_id, lang in ((1, "en"), (3, "vi")):
        resp = requests.get(f"{bridge_url}/api/tickets/{ticket_id}/panel",
                            params={"lang": lang},
                            headers={"Authorization": f"Bearer {TEST_TOKEN}"}, timeout=30)
        assert resp.status_code == 200
        page.set_content(HOST_PAGE.format(fragment=resp.text))
        text = page.inner_text("#panel-host")
        assert ("Target: 30 min" if lang == "en" else "30") in text
        box = page.locator("#panel-host").bounding_box()
        assert box and box["height"] > 0
        # both tickets are open and unanswered (1 due in 26 min, 3 breached): each panel has a
        # running countdown, so its absence is a failure, not a reason to skip the check
        countdown = page.locator(".wb-countdown")
        assert countdown.count() == 1, resp.text
        before = countdown.first.inner_text()
        page.wait_for_timeout(2200)
        assert countdown.first.inner_text() != before, "the panel countdown did not tick"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"panel-{ticket_id}-{lang}.png"), full_page=True)
    assert page.problems == [], page.problems


HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>WHMCS admin</title>
<link rel="icon" href="data:,"></head><body><h1>Ticket #</h1>
<div id="panel-host">{fragment}</div></body></html>"""


def _row_states(page: Any) -> list[str]:
    return page.eval_on_selector_all("#open-tickets tbody tr",
                                     "els => els.map(e => e.dataset.slaState)")


def test_filters_and_search_narrow_the_table(bridge_url: str, page: Any) -> None:
    """The filter form is a plain GET: choosing a state and submitting shows only those
    tickets and keeps the choice in the address (so the self-refresh keeps it too)."""
    _sign_in(page, bridge_url, "en")
    assert len(_row_states(page)) == 6
    page.select_option("#filters select[name=sla]", "breached")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**sla=breached**")
    assert _row_states(page) == ["breached", "breached"]
    assert page.locator("#filters select[name=sla]").input_value() == "breached"
    page.select_option("#filters select[name=channel]", "chat")
    page.click("#filters button[type=submit]")
    page.wait_for_selector(".none-match")
    page.click("#filters a.clear")
    page.wait_for_selector("#open-tickets tbody tr")
    assert len(_row_states(page)) == 6

    page.fill("#filters input[name=q]", "SIM-000002")
    page.press("#filters input[name=q]", "Enter")
    page.wait_for_url("**q=SIM-000002**")
    ids = page.eval_on_selector_all("#open-tickets tbody tr",
                                    "els => els.map(e => e.dataset.ticketId)")
    assert ids == ["2"]
    due = page.inner_text("#open-tickets tbody tr .due-at")
    assert due.endswith("+07"), due  # the absolute due time, local with the zone

    page.goto(f"{bridge_url}/dashboard?lang=en&level=critical")
    assert "Ignored Level" in page.inner_text("#open-tickets")
    assert len(_row_states(page)) == 6
    assert page.problems == [], page.problems


def test_dashboard_fits_a_phone(bridge_url: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US",
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        _sign_in(page, bridge_url, "en")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px phone"
        # the table itself fits: no sideways scrolling inside its wrapper either
        wrap = page.evaluate("(() => { const w = document.querySelector('.table-wrap');"
                             " return [w.scrollWidth, w.clientWidth]; })()")
        assert wrap[0] <= wrap[1], f"the table needs {wrap[0]} px in {wrap[1]} px"
        assert page.locator("#open-tickets th.opt").first.is_hidden()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
    finally:
        context.close()


def test_the_page_reloads_itself_keeping_its_filters(bridge_url: str, page: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The live server runs in this process: a 1-second period shows the nonced script's
    reload happening (a CSP refusal would be a console error) and keeping the address."""
    import whmcs_bridge.webhooks.dashboard as view

    _sign_in(page, bridge_url, "en")
    monkeypatch.setattr(view, "REFRESH_SECONDS", 1)
    page.goto(f"{bridge_url}/dashboard?lang=en&sla=breached")
    page.wait_for_selector("main[data-refresh='1']")
    loaded = page.evaluate("performance.timeOrigin")
    page.wait_for_event("load", timeout=10000)  # the reload, not a navigation of ours
    page.wait_for_selector("#open-tickets")
    assert page.evaluate("performance.timeOrigin") > loaded
    assert "sla=breached" in page.url
    assert _row_states(page) == ["breached", "breached"]
    assert page.problems == [], page.problems
