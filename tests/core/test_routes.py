from __future__ import annotations

import pytest

from tests.conftest import TEST_TOKEN, make_settings
from whmcs_bridge.runtime import build_app


@pytest.mark.parametrize("ticket_id", ["0", "2147483648", "99999999999999999999"])
def test_ids_outside_whmcs_range_are_404_not_500(sqlite_url: str, ticket_id: str) -> None:
    client = build_app(make_settings(sqlite_url)).test_client()
    auth = {"Authorization": f"Bearer {TEST_TOKEN}"}
    for path in (f"/api/tickets/{ticket_id}", f"/api/tickets/{ticket_id}/panel",
                 f"/api/tickets/{ticket_id}/verification"):
        assert client.get(path, headers=auth).status_code == 404, path


def test_largest_whmcs_id_reaches_the_view(sqlite_url: str) -> None:
    client = build_app(make_settings(sqlite_url)).test_client()
    answer = client.get("/api/tickets/2147483647",
                        headers={"Authorization": f"Bearer {TEST_TOKEN}"})
    assert answer.status_code == 404
    # the view's own "unknown ticket", not the converter's refusal (which names the id too)
    assert "ticket 2147483647 is not known to the bridge" in answer.get_data(as_text=True)


def test_link_page_without_secret_key_is_503_not_500(sqlite_url: str,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    client = build_app(make_settings(sqlite_url)).test_client()
    for answer in (client.get("/verify/some-token"), client.post("/verify/some-token")):
        assert answer.status_code == 503
        assert answer.headers["Cache-Control"] == "no-store"
    # both say why (the POST used to log a misleading "approval failed")
    opened = "verification link opened but server.secret_key is not set"
    assert sum(r.getMessage() == opened for r in caplog.records) == 2


@pytest.mark.parametrize("path", ["/api/tickets/0", "/api/tickets/5", "/api/nothing-here"])
def test_staff_api_answers_401_before_404_without_a_token(sqlite_url: str, path: str) -> None:
    client = build_app(make_settings(sqlite_url)).test_client()
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer wrong-token-123456"}
                      ).status_code == 401
    assert client.get(path, headers={"Authorization": f"Bearer {TEST_TOKEN}"}
                      ).status_code == 404
