"""Copying a whole store between back ends: a SQLite project onto a PostgreSQL server (``store push``) and a
server store into a SQLite snapshot (``store pull``).

Every table the schema defines is copied row by row with its ids, from one read snapshot of the source into
one write transaction on the target, which must be empty (no tables at all): the target is migrated to the
same version first, its ``schema_migrations`` rows replaced by the source's. A server's team set-up (roles,
``metasift_*`` tables, policies, the ``db_role`` audit column) belongs to that server and is not copied. JSON columns are copied as the
text they are stored as, so nothing is re-encoded. Before the target commits, each table is read back and
compared with the source: row count and a SHA-256 over its rows in primary-key order (timestamps as UTC,
numbers exactly); any difference rolls the whole copy back. On PostgreSQL the id sequences are then moved
past the copied ids, so the next row gets the next id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Connection, Engine, MetaData, Table, inspect, select, text
from sqlalchemy.types import TypeDecorator

from metasift.errors import ProjectError
from metasift.store import schema
from metasift.store.migrations import MIGRATIONS, applied, migrate

CHUNK = 5000
Progress = Callable[[str, int], None]  # table name, rows copied so far in it


@dataclass(frozen=True, slots=True)
class TableCopy:
    """One table as copied: its rows and the SHA-256 both sides agreed on."""

    table: str
    rows: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Transfer:
    """A whole store copied: where from, where to (never a password), every table's figures."""

    source: str
    target: str
    tables: list[TableCopy]

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def raw_tables() -> list[Table]:
    """The schema's tables in foreign-key order, JSON columns as their stored text (no decoding)."""
    md = MetaData()
    out = []
    for table in schema.metadata.sorted_tables:
        cols = [Column(c.name, c.type.impl if isinstance(c.type, TypeDecorator) else c.type,
                       primary_key=c.primary_key, autoincrement=False) for c in table.columns]
        out.append(Table(table.name, md, *cols))
    return out


def _canonical(value: Any) -> Any:
    """A value as both back ends agree on it: timestamps as naive UTC ISO text, floats exactly."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, float):
        return value.hex()
    return value


def _rows(conn: Connection, table: Table) -> Iterator[list[Any]]:
    order = [c for c in table.columns if c.primary_key]
    # per statement: Connection.execution_options would turn streaming on for the inserts that follow too
    result = conn.execute(select(table).order_by(*order).execution_options(yield_per=CHUNK))
    yield from result.partitions(CHUNK)


class _Digest:
    def __init__(self) -> None:
        self.hash, self.rows = hashlib.sha256(), 0

    def add(self, row: Any) -> None:
        self.hash.update(json.dumps([_canonical(v) for v in row], ensure_ascii=False, default=str).encode())
        self.hash.update(b"\n")
        self.rows += 1


def digest(conn: Connection, table: Table) -> TableCopy:
    """Row count and SHA-256 of ``table`` as ``conn`` sees it."""
    d = _Digest()
    for part in _rows(conn, table):
        for row in part:
            d.add(row)
    return TableCopy(table.name, d.rows, d.hash.hexdigest())


def refuse_unless_empty(conn: Connection, label: str) -> None:
    """Refuse a target database that holds any table: a copy never merges into existing data."""
    found = inspect(conn).get_table_names()
    if found:
        shown = ", ".join(sorted(found)[:6]) + (" ..." if len(found) > 6 else "")
        raise ProjectError(f"{label}: the target database is not empty ({len(found)} tables: {shown}); "
                           "copy into a new, empty database")


def _refuse_unknown_tables(conn: Connection, label: str) -> None:
    # the team's tables on a server (metasift_team, metasift_open_stages: roles and blinding) stay there
    extra = {n for n in inspect(conn).get_table_names() if not n.startswith("metasift_")} - set(schema.metadata.tables)
    if extra:
        raise ProjectError(f"{label}: the store holds tables this metasift does not know ({', '.join(sorted(extra))}); "
                           "they would not be copied — upgrade metasift first")


def copy_store(source: Engine, target: Engine, *, source_label: str, target_label: str,
               progress: Progress | None = None,
               finish: Callable[[Connection, Transfer], None] | None = None) -> Transfer:
    """Copy every table of ``source`` (migrated to this version) into the empty ``target``; checked, all or
    nothing. ``finish`` runs inside the target's transaction once the copy checked out (its event)."""
    with source.connect().execution_options(metasift_read=True) as src, src.begin():
        _refuse_unknown_tables(src, source_label)
        behind = {m.__name__ for m in MIGRATIONS} - set(applied(src))
        if behind:
            raise ProjectError(f"{source_label}: the store is not migrated ({', '.join(sorted(behind))} "
                               "missing); open it with this metasift first")
        with target.begin() as dst:
            refuse_unless_empty(dst, target_label)
            migrate(dst)
            tables = raw_tables()
            dst.execute(tables[[t.name for t in tables].index("schema_migrations")].delete())
            copied: list[TableCopy] = []
            for table in tables:
                d = _Digest()
                for part in _rows(src, table):
                    for row in part:
                        d.add(row)
                    dst.execute(table.insert(), [dict(row._mapping) for row in part])
                    if progress:
                        progress(table.name, d.rows)
                made = TableCopy(table.name, d.rows, d.hash.hexdigest())
                back = digest(dst, table)
                if back != made:
                    raise ProjectError(f"{target_label}: table {table.name} read back differs from the source "
                                       f"({back.rows} rows, sha256 {back.sha256[:12]} vs {made.rows} rows, "
                                       f"{made.sha256[:12]}); nothing was copied")
                copied.append(made)
            if dst.dialect.name == "postgresql":
                _move_sequences(dst)
            done = Transfer(source_label, target_label, copied)
            if finish is not None:
                finish(dst, done)
    return done


def _move_sequences(conn: Connection) -> None:
    """Set each serial ``id`` sequence past the largest copied id (PostgreSQL)."""
    for table in schema.metadata.sorted_tables:
        if "id" not in table.c or not table.c.id.primary_key:
            continue
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))
