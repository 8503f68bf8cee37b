"""The [notifications] section (validated, errors name the key) and routing (pure)."""

from __future__ import annotations

import pytest

from tests.notify.conftest import HOOK_SECRET, notify_settings, sample_payload
from whmcs_bridge.config import load_settings
from whmcs_bridge.notify.routing import Target, resolve
from whmcs_bridge.settings import Secret, SettingsError

SMTP = {"host": "127.0.0.1", "port": 2525, "from": "Support <support@example.com>"}
STAFF = [
    {"email": "oncall@example.com", "language": "en", "departments": [1]},
    {"email": "billing@example.com", "language": "vi", "departments": [2]},
    {"email": "boss@example.com", "language": "vi", "admin": True},
]


def test_defaults_load_and_hide_secrets() -> None:
    s = notify_settings(smtp={**SMTP, "username": "u", "password": "p4ss"},
                        telegram={"bot_token": "123:abc", "chat_id": "-100"})
    n = s.notifications
    assert n.default_language == "vi"
    assert n.smtp.starttls is True and n.smtp.ssl is False
    assert n.smtp.sender == "Support <support@example.com>"
    assert isinstance(n.smtp.password, Secret) and "p4ss" not in repr(n)
    assert "123:abc" not in repr(n)
    assert n.rate_limits == {"telegram": 20, "whmcs_admin": 10}


def test_ssl_alone_turns_starttls_off() -> None:
    n = notify_settings(smtp={**SMTP, "ssl": True, "port": 465}).notifications
    assert n.smtp.starttls is False


@pytest.mark.parametrize(("section", "needle"), [
    ({"routes": [{"channels": ["slack"]}]}, "notifications.routes.0.channels"),
    ({"routes": [{"channels": ["carrier-pigeon"]}]}, "notifications.routes.0.channels.0"),
    ({"routes": [{"notifications": ["nope"], "channels": ["smtp"]}], "smtp": SMTP},
     "notifications.routes.0.notifications.0"),
    ({"smtp": {**SMTP, "ssl": True, "starttls": True}}, "notifications.smtp.ssl"),
    ({"smtp": {**SMTP, "port": 70000}}, "notifications.smtp.port"),
    ({"telegram": {"bot_token": "x"}}, "notifications.telegram.chat_id"),
    ({"webhook": {"url": "http://127.0.0.1:1/h"}}, "notifications.webhook.secret"),
    ({"webhook": {"url": "http://127.0.0.1:1/h", "secret": "plain"}},
     "notifications.webhook.secret"),
    ({"staff": [{"email": "not-an-address"}]}, "notifications.staff.0.email"),
    ({"default_language": "fr"}, "notifications.default_language"),
    ({"rate_limits": {"fax": 3}}, "notifications.rate_limits"),
    ({"smtp": SMTP, "routes": [{"channels": ["smtp"]}]}, "notifications.routes.0.recipients"),
    ({"colour": "blue"}, "notifications.colour: unknown setting"),
])
def test_errors_name_the_key(section: dict, needle: str) -> None:
    with pytest.raises(SettingsError, match=needle.replace(".", r"\.")):
        notify_settings(**section)


def test_environment_can_set_nested_values() -> None:
    s = load_settings(data={}, environ={
        "WHMCS_BRIDGE_NOTIFICATIONS__DEFAULT_LANGUAGE": "en",
        "WHMCS_BRIDGE_NOTIFICATIONS__SLACK": '{url = "https://hooks.example/x"}'})
    assert s.notifications.default_language == "en"
    slack_url = s.notifications.slack.url
    assert slack_url is not None and slack_url.reveal() == "https://hooks.example/x"


def _section(**kw):
    return notify_settings(**kw).notifications


def test_customer_notifications_go_to_the_client_on_file_only() -> None:
    n = _section(smtp=SMTP, staff=STAFF)
    targets = resolve(n, "verification_link", sample_payload("verification_link"))
    assert targets == [Target("customer", "client:7", None)]


def test_without_routes_staff_get_everything_on_every_configured_channel() -> None:
    n = _section(smtp=SMTP, staff=STAFF, slack={"url": "https://hooks.example/s"})
    targets = resolve(n, "sla_breached", sample_payload("sla_breached", department_id=1))
    assert Target("slack", "slack", "vi") in targets
    # the department filter: billing staff (dept 2) do not get dept 1's tickets
    assert {t.recipient for t in targets if t.channel == "smtp"} == {
        "oncall@example.com", "boss@example.com"}
    assert Target("smtp", "oncall@example.com", "en") in targets


def test_routes_filter_by_notification_level_and_department() -> None:
    n = _section(smtp=SMTP, staff=STAFF, telegram={"bot_token": "1:a", "chat_id": "9"},
                 webhook={"url": "http://127.0.0.1:1/h", "secret": HOOK_SECRET},
                 routes=[
                     {"notifications": ["sla_breached"], "levels": ["urgent"],
                      "channels": ["telegram"]},
                     {"departments": [2], "channels": ["smtp"],
                      "recipients": ["billing@example.com"]},
                     {"notifications": ["dead_letter"], "channels": ["smtp", "webhook"]},
                 ])
    urgent = resolve(n, "sla_breached", sample_payload("sla_breached", department_id=1))
    assert [t.channel for t in urgent] == ["telegram"]
    low = resolve(n, "sla_breached", sample_payload("sla_breached", level="low"))
    assert low == []
    billing = resolve(n, "sla_at_risk", sample_payload("sla_at_risk", department_id=2))
    assert billing == [Target("smtp", "billing@example.com", "vi")]
    dead = resolve(n, "dead_letter", sample_payload("dead_letter"))
    assert Target("smtp", "boss@example.com", "vi") in dead  # admins only
    assert {t.recipient for t in dead if t.channel == "smtp"} == {"boss@example.com"}
    assert Target("webhook", "webhook", "vi") in dead


def test_locked_goes_to_staff_and_to_the_owner() -> None:
    n = _section(slack={"url": "https://hooks.example/s"})
    targets = resolve(n, "verification_locked", sample_payload("verification_locked"))
    assert {t.channel for t in targets} == {"customer", "slack"}


def test_nothing_configured_means_only_customers_hear() -> None:
    n = _section()
    assert resolve(n, "urgent_ticket_opened", sample_payload("urgent_ticket_opened")) == []
    assert resolve(n, "billing_redirected", sample_payload("billing_redirected")) == [
        Target("customer", "client:7", None)]


def test_a_guest_ticket_reaches_its_requestor() -> None:
    targets = resolve(_section(), "billing_redirected",
                      sample_payload("billing_redirected", client_id=None))
    assert targets == [Target("customer", "ticket:1234", None)]
