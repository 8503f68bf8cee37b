"""The simulator answers over HTTP and says what it is."""

from __future__ import annotations

import requests


def test_index_page_says_it_is_a_test_double(sim):
    response = requests.get(sim.url + "/", timeout=5)
    assert response.status_code == 200
    assert "a test double, not WHMCS" in response.text
    assert "test double" in response.headers["X-Simulator"]


def test_client_round_trip_against_sim(sim):
    client = sim.client(retries=0)
    details = client.get_admin_details()
    assert details.departments == [1, 2]
    page = client.get_tickets(limitnum=5)
    assert page.total == 120
    assert len(page.items) == 5
