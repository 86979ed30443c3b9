"""Alembic environment for the gradebook.

Gradebook() runs it with its own connection in config.attributes["connection"];
the alembic command line (alembic -c db/alembic.ini ...) uses sqlalchemy.url.
"""

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from autograder.gradebook import Base

config = context.config
target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    # Batch mode lets ALTER-style changes work on SQLite; other backends alter in place.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Write the SQL to stdout instead of running it (alembic upgrade --sql)."""
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        run_migrations(connection)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
