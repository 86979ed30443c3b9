"""Alembic environment for the gradebook.

Gradebook() runs it with its own connection in config.attributes["connection"];
the alembic command line (alembic -c db/alembic.ini ...) uses `-x db=URL`, else
sqlalchemy.url.
"""

from alembic import context
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from autograder.database import sqlalchemy_url
from autograder.gradebook import Base

config = context.config
target_metadata = Base.metadata
# Graders that open a new PostgreSQL gradebook at once migrate it one after the other: each waits for
# this lock, then finds the schema at head. (SQLite serialises them with BEGIN IMMEDIATE.)
POSTGRES_MIGRATION_LOCK = 0x61757467  # "autg"


def database_url() -> str:
    return context.get_x_argument(as_dictionary=True).get("db") or config.get_main_option("sqlalchemy.url")


def run_migrations(connection: Connection) -> None:
    # Batch mode lets ALTER-style changes work on SQLite; other backends alter in place.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_MIGRATION_LOCK})
        context.run_migrations()


def run_migrations_offline() -> None:
    """Write the SQL to stdout instead of running it (alembic upgrade --sql)."""
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = create_engine(sqlalchemy_url(database_url()))
    with engine.connect() as connection:
        run_migrations(connection)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
