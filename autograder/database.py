"""Opening a gradebook's database: the URL, each backend's connection settings, and the migrations.

SQLite runs in WAL mode and its writers take the write lock up front (BEGIN
IMMEDIATE); PostgreSQL goes through psycopg 3, with NUL characters (which its
text type refuses) written as U+FFFD. `migrate` brings any database to the head
of `db/migrations` (Alembic); one already there costs a query, and Alembic (a
tenth of a second to import) is loaded only when there is something to do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa

MIGRATIONS = Path(__file__).resolve().parent.parent / "db" / "migrations"
DEFAULT_URL = "sqlite:///db/gradebook.sqlite"
# synchronous=NORMAL: in WAL mode a commit survives the process being killed (kill -9); only an OS
# crash may lose the last commits, never consistency. FULL would fsync every submission.
SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=30000",
                  "PRAGMA foreign_keys=ON")
BEGIN_OPTION = "sqlite_begin"  # execution option: how a SQLite transaction begins
POSTGRES_DRIVER = "postgresql+psycopg"


def default_url() -> str:
    """The database named by $AUTOGRADER_DB, else a SQLite file under the current directory."""
    return os.environ.get("AUTOGRADER_DB") or DEFAULT_URL


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off; _on_sqlite_begin takes over.
    dbapi_connection.isolation_level = None
    for pragma in SQLITE_PRAGMAS:
        dbapi_connection.execute(pragma)


def _on_sqlite_begin(connection: sa.Connection) -> None:
    # Writers begin IMMEDIATE: they take the write lock up front and wait for it (busy_timeout),
    # where a deferred transaction whose read turns into a write would fail at once.
    mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def sqlalchemy_url(url: str) -> sa.URL:
    """The URL with its driver: a bare `postgresql://` means psycopg 3, the driver this package installs."""
    parsed = sa.make_url(url)
    return parsed.set(drivername=POSTGRES_DRIVER) if parsed.drivername == "postgresql" else parsed


def _nul_free_dumper(base: type) -> type:
    """A psycopg dumper of str that writes NUL characters (which PostgreSQL text refuses) as U+FFFD."""

    class NulFreeDumper(base):  # type: ignore[valid-type, misc]
        def dump(self, obj: str) -> Any:
            return super().dump(obj.replace("\x00", "\ufffd"))

    return NulFreeDumper


def _on_postgres_connect(dbapi_connection: Any, _record: Any) -> None:
    # Student output and messages may hold NUL characters; SQLite stores them, PostgreSQL text cannot.
    from psycopg.types.string import StrBinaryDumper, StrDumperUnknown

    for base in (StrDumperUnknown, StrBinaryDumper):
        dbapi_connection.adapters.register_dumper(str, _nul_free_dumper(base))


def create_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(sqlalchemy_url(url))
    if engine.dialect.name == "postgresql":
        sa.event.listen(engine, "connect", _on_postgres_connect)
    if engine.dialect.name == "sqlite":
        if engine.url.database and engine.url.database != ":memory:":
            Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
        sa.event.listen(engine, "connect", _on_sqlite_connect)
        sa.event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def schema_head() -> str:
    """The newest migration's revision: each file in db/migrations/versions is named `<revision>_<what>.py`."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("*_*.py"))


def schema_revision(engine: sa.Engine) -> str | None:
    """The revision the database's schema is at; None for a database Alembic never touched."""
    with engine.execution_options(**{BEGIN_OPTION: "DEFERRED"}).connect() as connection:
        try:
            return connection.scalar(sa.text("SELECT version_num FROM alembic_version"))
        except sa.exc.DBAPIError:  # no such table
            return None


def migrate(engine: sa.Engine) -> None:
    if schema_revision(engine) == schema_head():
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
