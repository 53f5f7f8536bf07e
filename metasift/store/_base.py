"""The store's core: opening, migrating, transactions and the event log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Self

from sqlalchemy import Connection, Engine

from metasift.config import CONFIG_NAME, STORE_NAME, load_protocol
from metasift.errors import ProjectError
from metasift.store import schema as t
from metasift.store.db import make_engine, sqlite_url
from metasift.store.migrations import migrate


def now() -> datetime:
    return datetime.now(timezone.utc)


class StoreBase:
    """Engine, transactions and the append-only event log shared by every repository part."""

    def __init__(self, engine: Engine, project: Path | None = None) -> None:
        self.engine = engine
        self.project = project
        self._memo: dict[tuple[Any, ...], Any] | None = None

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Within this block, repeated bulk reads (decisions, routes) are answered from memory.

        For read-only work such as building the report, which asks for the same decisions many times;
        never wrap writes in it."""
        self._memo = {}
        try:
            yield
        finally:
            self._memo = None

    def _memoised(self, key: tuple[Any, ...], load: Any) -> Any:
        if self._memo is None:
            return load()
        if key not in self._memo:
            self._memo[key] = load()
        return self._memo[key]

    # -- opening --------------------------------------------------------------------------------
    @classmethod
    def open(cls, project: Path, *, create: bool = False) -> "Self":
        """Open (and migrate) the store of the project in ``project``."""
        project = Path(project)
        if not (project / CONFIG_NAME).exists():
            raise ProjectError(f"{project}: no {CONFIG_NAME} here — run `metasift init {project}` "
                               "or pass --project DIR")
        url = load_protocol(project).store.url or sqlite_url(project / STORE_NAME)
        if url.startswith("sqlite") and not create and not (project / STORE_NAME).exists():
            raise ProjectError(f"{project / STORE_NAME}: store missing — run `metasift init {project}`")
        return cls.from_url(url, project)

    @classmethod
    def from_url(cls, url: str, project: Path | None = None) -> "Self":
        store = cls(make_engine(url), project)
        with store.engine.begin() as conn:
            migrate(conn)
        return store

    def close(self) -> None:
        self.engine.dispose()

    # -- transactions -------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on any exception."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot that never waits on a writer."""
        with self.engine.connect().execution_options(metasift_read=True) as conn:
            with conn.begin():
                yield conn

    @staticmethod
    def log_event(conn: Connection, action: str, *, actor_kind: str = "system", actor: str = "metasift",
                  entity: str | None = None, entity_id: int | None = None,
                  payload: dict[str, Any] | None = None) -> None:
        """Append one event to the log, inside the caller's transaction."""
        StoreBase.log_events(conn, [{"action": action, "actor_kind": actor_kind, "actor": actor, "entity": entity,
                                     "entity_id": entity_id, "payload": payload}])

    @staticmethod
    def log_events(conn: Connection, events: list[dict[str, Any]]) -> None:
        """Append events (``log_event``'s fields, one dict each) in one statement, inside ``conn``."""
        if not events:
            return
        stamp = now()
        # insert() with parameter dicts, not .values(): SQLAlchemy compiles it once and reuses it
        conn.execute(t.events.insert(), [
            {"at": stamp, "actor_kind": e.get("actor_kind", "system"), "actor": e.get("actor", "metasift"),
             "action": e["action"], "entity": e.get("entity"), "entity_id": e.get("entity_id"),
             "payload": e.get("payload")} for e in events])


def as_dicts(result: Any) -> list[dict[str, Any]]:
    """Rows of a SQLAlchemy result as plain dicts (keys read once, not per row: much faster in bulk)."""
    keys = list(result.keys())
    return [dict(zip(keys, row)) for row in result]
