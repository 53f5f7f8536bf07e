"""Schema migrations: small named steps applied in order and recorded in ``schema_migrations``.

Add a step by appending a function ``mNNN_what(conn)`` to ``MIGRATIONS``. Each step creates the tables it
introduced (``create_all(tables=[...], checkfirst=True)``); a column added to an existing table needs an
``ALTER TABLE`` guarded by ``inspect(conn)``, because m001 builds tables from today's ``schema.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import Connection, inspect, select

from metasift.errors import ProjectError
from metasift.store import schema


def m001_initial(conn: Connection) -> None:
    """The tables of the first release."""
    first = [schema.schema_migrations, schema.import_batches, schema.records, schema.clusters,
             schema.dedup_overrides, schema.decisions, schema.fulltexts, schema.extractions, schema.llm_calls,
             schema.events]
    schema.metadata.create_all(conn, tables=first, checkfirst=True)


def m002_rankings_routes(conn: Connection) -> None:
    """Ranker scores and routing outcomes of screening."""
    schema.metadata.create_all(conn, tables=[schema.rankings, schema.routes], checkfirst=True)


def m003_rob(conn: Connection) -> None:
    """Risk-of-bias (RoB 2) judgements per study and domain."""
    schema.metadata.create_all(conn, tables=[schema.rob_assessments], checkfirst=True)


MIGRATIONS: list[Callable[[Connection], None]] = [m001_initial, m002_rankings_routes, m003_rob]
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
