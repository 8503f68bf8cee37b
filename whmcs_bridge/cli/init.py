"""``whmcs-bridge init``: a working, private config file in one step (see
:mod:`whmcs_bridge.initconfig`). Asks for what flags did not give when run on a terminal;
``--non-interactive`` (or no terminal) makes a missing value a usage error naming its flag."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from whmcs_bridge import initconfig
from whmcs_bridge.api import WhmcsClient
from whmcs_bridge.cli.base import Failed
from whmcs_bridge.config import load_settings
from whmcs_bridge.doctor import WARN, check_whmcs_clock

HEADER = """whmcs-bridge settings written by `whmcs-bridge init`. Secrets are in this file: keep it
readable by the bridge's user only (chmod 600). Every key: README "Settings reference"."""


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "whmcs-bridge" / "bridge.toml"


def _ask(value: str | None, flag: str, prompt: str, interactive: bool, *,
         hide: bool = False, required: bool = True) -> str | None:
    if value or not (required or interactive):
        return value or None
    if not interactive:
        raise click.UsageError(f"{flag} is required with --non-interactive (or no terminal)")
    answer = click.prompt(prompt, hide_input=hide, default="" if not required else None,
                          show_default=False)
    return answer.strip() or None


@click.command("init")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Config file to write (default: ~/.config/whmcs-bridge/bridge.toml).")
@click.option("--whmcs-url", help="WHMCS root URL, e.g. https://billing.example.com/")
@click.option("--identifier", help="WHMCS API credential identifier.")
@click.option("--secret", help="WHMCS API credential secret (prefer the prompt: shell "
                               "history keeps flags).")
@click.option("--access-key", help="WHMCS API access key ($api_access_key), if you use one "
                                   "instead of the IP allow-list.")
@click.option("--admin-username", help="An existing WHMCS admin the bridge replies as.")
@click.option("--public-url", help="The bridge's public HTTPS URL (verification links).")
@click.option("--whmcs-timezone", help="The WHMCS server's time zone when it differs from "
                                       "the bridge's `timezone` (e.g. UTC).")
@click.option("--database-url", help="database.url (default: SQLite in the data folder).")
@click.option("--skip-check", is_flag=True, help="Do not check the credential against WHMCS.")
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.option("--non-interactive", is_flag=True, help="Never prompt (automation).")
def init(output: Path | None, whmcs_url: str | None, identifier: str | None,
         secret: str | None, access_key: str | None, admin_username: str | None,
         public_url: str | None, whmcs_timezone: str | None, database_url: str | None,
         skip_check: bool, force: bool, non_interactive: bool) -> None:
    """Generate the secrets, check the WHMCS API credential, write a private config file and
    print what to paste into the addon module's settings."""
    interactive = not non_interactive and stdin_is_terminal()
    path = output or default_config_path()
    if path.exists() and not force:
        raise Failed(f"{path} exists; pass --force to overwrite it (its secrets change)")
    whmcs_url = _ask(whmcs_url, "--whmcs-url", "WHMCS URL", interactive)
    identifier = _ask(identifier, "--identifier", "API credential identifier", interactive)
    secret = _ask(secret, "--secret", "API credential secret", interactive, hide=True)
    admin_username = _ask(admin_username, "--admin-username",
                          "WHMCS admin username the bridge replies as", interactive)
    public_url = _ask(public_url, "--public-url", "Bridge public URL (empty: none yet)",
                      interactive, required=False)
    keys = initconfig.generate()
    sections: dict[str, dict[str, object]] = {
        "database": {"url": database_url},
        "webhooks": {"secrets": [keys.webhook_secret]},
        "api": {"tokens": [keys.api_token]},
        "whmcs": {"url": whmcs_url, "identifier": identifier, "secret": secret,
                  "access_key": access_key, "admin_username": admin_username,
                  "timezone": whmcs_timezone},
        "server": {"secret_key": keys.secret_key, "public_url": public_url},
    }
    # the same validation as every command, before anything is checked or written
    settings = load_settings(data=sections_without_empty(sections), environ={})
    if not skip_check:
        client = WhmcsClient.from_settings(settings, retries=0)
        result = initconfig.check_whmcs(client, admin_username)
        for note in result.notes:
            click.echo(f"note: {note}", err=True)
        if not result.ok:
            raise Failed(f"WHMCS at {whmcs_url}: " + "; ".join(result.problems)
                         + " — nothing written (fix it in WHMCS, or pass --skip-check)")

        clock = check_whmcs_clock(settings, lambda _settings: client)
        if clock.state == WARN:  # most often: WHMCS runs in another zone than `timezone`
            click.echo(f"note: {clock.summary} (init --whmcs-timezone)", err=True)
        click.echo(f"WHMCS {result.version or '(version unknown)'} at {whmcs_url}: the "
                   f"credential works (admin {result.admin}) and its API role allows every "
                   f"action the bridge calls ({len(initconfig.PROBES)})")
    try:
        initconfig.write_private(path, initconfig.render_toml(sections, HEADER), force=force)
    except OSError as exc:
        raise Failed(f"cannot write {path}: {exc.strerror or exc}") from None
    bridge_url = public_url or f"http://{settings.server.host}:{settings.server.port}"
    click.echo(f"wrote {path} (mode 600)\n")
    click.echo("In WHMCS: System Settings > Addon Modules > whmcs-bridge > Configure, paste:")
    click.echo(f"  Bridge URL               {bridge_url}")
    click.echo(f"  Webhook signing secret   {keys.webhook_secret}")
    click.echo(f"  Staff API token          {keys.api_token}")
    click.echo("\nNext: whmcs-bridge --config " + str(path) + " db upgrade, then doctor, "
               "then serve (README: Production checklist).")


def sections_without_empty(sections: dict[str, dict[str, object]]) -> dict[str, dict]:
    return {name: {k: v for k, v in values.items() if v not in (None, "", [])}
            for name, values in sections.items()}


commands = [init]
