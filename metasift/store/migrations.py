"""Schema migrations: small named steps applied in order and recorded in ``schema_migrations``.

Add a step by appending a function ``mNNN_what(conn)`` to ``MIGRATIONS``. Steps after m001 must be
idempotent against a fresh database (m001 creates the tables as ``schema.py`` defines them today), so
check with ``inspect(conn)`` before altering.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import Connection, inspect, select

from metasift.errors import ProjectError
from metasift.store import schema


def m001_initial(conn: Connection) -> None:
    """Every table of the first release."""
    schema.metadata.create_all(conn)


MIGRATIONS: list[Callable[[Connection], None]] = [m001_initial]
SCHEMA_VERSION = len(MIGRATIONS)


def applied(conn: Connection) -> list[str]:
    if not inspect(conn).has_table("schema_migrations"):
        return []
    return list(conn.execute(select(schema.schema_migrations.c.name)).scalars())


def migrate(conn: Connection) -> list[str]:
    """Apply the steps not yet applied; return their names. Refuse a store newer than this code."""
    done = set(applied(conn))
    known = {m.__name__ for m in MIGRATIONS}
    unknown = done - known
    if unknown:
        raise ProjectError(
            f"this store was written by a newer metasift (migrations {sorted(unknown)}); upgrade metasift")
    ran: list[str] = []
    for step in MIGRATIONS:
        if step.__name__ in done:
            continue
        step(conn)
        conn.execute(schema.schema_migrations.insert().values(
            name=step.__name__, applied_at=datetime.now(timezone.utc)))
        ran.append(step.__name__)
    return ran
