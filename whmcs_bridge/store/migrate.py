"""Run Alembic migrations programmatically (``whmcs-bridge db upgrade``, ``serve`` on SQLite)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Apply every room's migrations up to its head."""
    command.upgrade(alembic_config(engine), "heads")


def current_heads(engine: Engine) -> set[str]:
    """The revisions recorded in ``alembic_version``: a read, so on SQLite it does not take the
    write lock (``/readyz`` calls this on every probe, beside the receiver's commits)."""
    with engine.connect().execution_options(sqlite_readonly=True) as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def is_current(engine: Engine) -> bool:
    """True when every migration head is applied.

    Comparing ``alembic_version`` with the script heads is not enough: ``core_0001`` is the
    head of its own branch, but once the rooms' branches (which ``depends_on`` it) are applied
    the database records only their heads. So a head counts as applied when it is an ancestor
    (or dependency) of a recorded one.
    """
    script = ScriptDirectory.from_config(alembic_config(engine))
    heads = current_heads(engine)
    if not heads:
        return False
    applied = {r.revision for r in script.revision_map.iterate_revisions(tuple(heads), "base")}
    return set(script.get_heads()) <= applied
