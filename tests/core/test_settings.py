from __future__ import annotations

import base64
from pathlib import Path

import pytest

from whmcs_bridge.config import load_settings
from whmcs_bridge.settings import Secret, SettingsError

GOOD = "whsec_" + base64.b64encode(b"s" * 24).decode()


def test_defaults_load_with_empty_environment() -> None:
    s = load_settings(environ={})
    assert s.timezone == "Asia/Ho_Chi_Minh"
    assert s.database_url.startswith("sqlite:///")
    assert s.webhooks.tolerance_seconds == 300
    assert s.webhooks.max_body_bytes == 1024 * 1024


def test_toml_file_and_env_override(tmp_path: Path) -> None:
    cfg = tmp_path / "bridge.toml"
    cfg.write_text('timezone = "UTC"\n[worker]\nmax_attempts = 3\n[server]\nport = 9000\n')
    s = load_settings(cfg, environ={"WHMCS_BRIDGE_SERVER__PORT": "9100",
                                    "WHMCS_BRIDGE_DATABASE_URL": "sqlite:////tmp/x.db"})
    assert s.timezone == "UTC"
    assert s.worker.max_attempts == 3
    assert s.server.port == 9100
    assert s.database_url == "sqlite:////tmp/x.db"


def test_several_webhook_secrets_from_env_for_rotation() -> None:
    other = "whsec_" + base64.b64encode(b"t" * 32).decode()
    s = load_settings(environ={"WHMCS_BRIDGE_WEBHOOK_SECRET": f"{GOOD} {other}"})
    assert [x.reveal() for x in s.webhooks.secrets] == [GOOD, other]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WHMCS_BRIDGE_WEBHOOK_SECRET": "plainsecret"}, "webhooks.secrets"),
        ({"WHMCS_BRIDGE_WEBHOOK_SECRET": "whsec_" + base64.b64encode(b"x" * 8).decode()},
         "webhooks.secrets"),
        ({"WHMCS_BRIDGE_WEBHOOK_SECRET": "whsec_@@@"}, "webhooks.secrets"),
        ({"WHMCS_BRIDGE_SERVER__PORT": "not-a-number"}, "server.port"),
        ({"WHMCS_BRIDGE_NOPE__X": "1"}, "WHMCS_BRIDGE_NOPE__X"),
        ({"WHMCS_BRIDGE_SERVER__NOPE": "1"}, "server.nope"),
        ({"WHMCS_BRIDGE_TIMEZONE": "Mars/Olympus"}, "timezone"),
        # a folder of zones or an over-long name raised OSError, not a settings error
        ({"WHMCS_BRIDGE_TIMEZONE": "Asia"}, "timezone"),
        ({"WHMCS_BRIDGE_WHMCS__TIMEZONE": "a" * 300}, "whmcs.timezone"),
        ({"WHMCS_BRIDGE_WHMCS_URL": "not a url"}, "whmcs.url"),
        ({"WHMCS_BRIDGE_WEBHOOK_SECRET": "[whsec_oops"}, "WHMCS_BRIDGE_WEBHOOK_SECRET"),
        # TOML reads an integer of over 4300 digits with int(), which raises ValueError
        ({"WHMCS_BRIDGE_SERVER__PORT": "9" * 5000}, "server.port"),
        ({"WHMCS_BRIDGE_API__TOKENS": "[" + "9" * 5000 + "]"}, "WHMCS_BRIDGE_API__TOKENS"),
    ],
)
def test_bad_values_name_the_key(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ=env)
    assert named in str(err.value)
    assert "\n" not in str(err.value)
    assert not any(v in str(err.value) for v in env.values() if "whsec_" in v)  # no secret


def test_unknown_key_in_file_is_named(tmp_path: Path) -> None:
    cfg = tmp_path / "bridge.toml"
    cfg.write_text("[webhooks]\ntolerance = 5\n")
    with pytest.raises(SettingsError, match=r"webhooks\.tolerance: unknown setting"):
        load_settings(cfg, environ={})


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[webhooks\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(bad, environ={})
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "missing.toml", environ={})


def test_secrets_never_show_in_repr() -> None:
    s = load_settings(environ={"WHMCS_BRIDGE_WEBHOOK_SECRET": GOOD,
                               "WHMCS_BRIDGE_WHMCS_SECRET": "api-secret-value"})
    assert GOOD not in repr(s)
    assert "api-secret-value" not in repr(s.whmcs)
    assert isinstance(s.whmcs.secret, Secret)
    assert s.whmcs.secret.reveal() == "api-secret-value"


def test_staff_tokens_need_sixteen_characters() -> None:
    ok = load_settings(environ={"WHMCS_BRIDGE_API_TOKEN": "a" * 16 + " " + "b" * 20})
    assert [t.reveal() for t in ok.api.tokens] == ["a" * 16, "b" * 20]
    with pytest.raises(SettingsError, match=r"api\.tokens\.0: must be at least 16"):
        load_settings(environ={"WHMCS_BRIDGE_API_TOKEN": "short"})


@pytest.mark.parametrize(("content", "phrase"), [
    (b'timezone = "\xff"\n', "not valid TOML"),  # not UTF-8: UnicodeDecodeError
    (b"[server]\nport = " + b"9" * 5000 + b"\n", "not valid TOML"),  # int() refuses it
], ids=["not-utf8", "5000-digits"])
def test_unreadable_config_file_is_a_settings_error(tmp_path: Path, content: bytes,
                                                    phrase: str) -> None:
    cfg = tmp_path / "bridge.toml"
    cfg.write_bytes(content)
    with pytest.raises(SettingsError, match=phrase) as err:
        load_settings(cfg, environ={})
    assert str(cfg) in str(err.value)


def test_config_path_that_is_a_folder_is_a_settings_error(tmp_path: Path) -> None:
    # IsADirectoryError escaped (the app factory reads WHMCS_BRIDGE_CONFIG without click)
    with pytest.raises(SettingsError, match="cannot be read"):
        load_settings(environ={"WHMCS_BRIDGE_CONFIG": str(tmp_path)})


@pytest.mark.parametrize(("key", "value"), [
    ("worker.lease_seconds", 10**12), ("worker.backoff_max_seconds", 1e300),
    ("worker.backoff_base_seconds", 1e300), ("worker.poll_interval_seconds", 1e300),
    ("notifications.lease_seconds", 10**12), ("notifications.backoff_max_seconds", 1e300),
    ("verification.lockout_window_hours", 1e9), ("verification.refusal_timeout_hours", 1e9),
    ("verification.verified_ttl_hours", 1e9),
])
def test_durations_too_long_for_a_datetime_name_the_key(key: str, value: float) -> None:
    # accepted before, then now + timedelta(...) or Event.wait(...) raised OverflowError in
    # the running worker or on the staff API
    section, name = key.split(".")
    with pytest.raises(SettingsError, match=key.replace(".", r"\.")):
        load_settings(data={section: {name: value}}, environ={})
