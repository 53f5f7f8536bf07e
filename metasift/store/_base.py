"""The store's core: opening, migrating, transactions and the event log."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from sqlalchemy import Connection, Engine, select

from metasift.config import CONFIG_NAME, STORE_NAME, load_protocol
from metasift.errors import ProjectError
from metasift.store import schema as t
from metasift.store.db import (
    BACKUP_DIR,
    damaged_store,
    is_damage,
    latest_backup,
    make_engine,
    sqlite_path,
    sqlite_url,
)
from metasift.store.migrations import migrate
from metasift.store.rows import Backup, LastBackup


def now() -> datetime:
    return datetime.now(UTC)


def missing_store_message(project: Path, path: Path) -> str:
    """What to do when review.toml is there but the SQLite store is not: ``init`` creates an empty store
    and keeps review.toml; a backup, if any, holds the data."""
    backup = latest_backup(path)
    restore = f" — or restore the latest backup: cp {backup} {path}" if backup else \
        f" (no backup in {path.parent / BACKUP_DIR})"
    return (f"{path}: store missing — `metasift init {project}` creates an empty store and keeps "
            f"{CONFIG_NAME}{restore}")


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
    def open(cls, project: Path, *, create: bool = False) -> Self:
        """Open (and migrate) the store of the project in ``project``.

        A missing or empty SQLite file is refused unless ``create``: creating it silently would hide a
        lost store behind an empty one."""
        project = Path(project)
        if not (project / CONFIG_NAME).exists():
            raise ProjectError(f"{project}: no {CONFIG_NAME} here — run `metasift init {project}` "
                               "or pass --project DIR")
        url = load_protocol(project).store.url or sqlite_url(project / STORE_NAME)
        path = sqlite_path(url)
        if path is not None and not create:
            if not path.exists():
                raise ProjectError(missing_store_message(project, path))
            if path.stat().st_size == 0:
                raise damaged_store(path, "file is empty (0 bytes)")
        return cls.from_url(url, project)

    @classmethod
    def from_url(cls, url: str, project: Path | None = None) -> Self:
        store = cls(make_engine(url), project)
        with store.engine.begin() as conn:
            migrate(conn)
        return store

    @property
    def sqlite_file(self) -> Path | None:
        """The store's SQLite file; None for a server database (PostgreSQL)."""
        return sqlite_path(self.engine.url.render_as_string(hide_password=False))

    # -- backups ------------------------------------------------------------------------------
    def backup(self, dest: Path, *, actor: str = "metasift") -> Backup:
        """Write a consistent copy of the store to ``dest`` with SQLite's online backup API, check the copy
        (``PRAGMA integrity_check``) and record a ``backup`` event; return what was written.

        The copy is made from one read snapshot, so writers in other processes may go on meanwhile; it is
        written to a temporary name and renamed, so ``dest`` is never a half-written file."""
        source = self.sqlite_file
        if source is None:
            raise ProjectError(f"{self.engine.url.render_as_string()}: `metasift backup` copies SQLite "
                               "stores only; back up a PostgreSQL store with pg_dump")
        dest = Path(dest)
        if dest.exists():
            raise ProjectError(f"{dest}: already exists; choose another --out")
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        src = sqlite3.connect(source, timeout=30)
        try:
            out = sqlite3.connect(partial)
            try:
                src.backup(out)  # all pages in one step: one consistent snapshot
                check = out.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                out.close()
        except BaseException as exc:
            partial.unlink(missing_ok=True)
            if is_damage(exc):
                raise damaged_store(source) from exc
            raise
        finally:
            src.close()
        if check != "ok":
            partial.unlink(missing_ok=True)
            raise damaged_store(source, check)
        os.replace(partial, dest)
        made = Backup(path=str(dest.resolve()), bytes=dest.stat().st_size, integrity_check=check)
        with self.write() as conn:
            self.log_event(conn, "backup", actor_kind="human", actor=actor, payload=made.to_json())
        return made

    def last_backup(self) -> LastBackup | None:
        """The latest ``backup`` event (when, and its payload: what was written), or None when no backup
        was ever made."""
        with self.read() as conn:
            row = conn.execute(select(t.events.c.at, t.events.c.payload).where(t.events.c.action == "backup")
                               .order_by(t.events.c.id.desc()).limit(1)).first()
        return LastBackup(at=row.at, backup=Backup(**row.payload)) if row else None

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
        with self.engine.connect().execution_options(metasift_read=True) as conn, conn.begin():
            yield conn

    @staticmethod
    def log_event(conn: Connection, action: str, *, actor_kind: str = "system", actor: str = "metasift",
                  entity: str | None = None, entity_id: int | None = None,
                  payload: dict[str, Any] | None = None) -> None:
        """Append one event to the log, inside the caller's transaction."""
        StoreBase.log_events(conn, [{"action": action, "actor_kind": actor_kind, "actor": actor, "entity": entity,
                                     "entity_id": entity_id, "payload": payload}])

    @staticmethod
    def log_event_id(conn: Connection, action: str, *, actor_kind: str = "system", actor: str = "metasift",
                     payload: dict[str, Any] | None = None) -> int:
        """``log_event`` for an event other rows point at: returns the new event's id."""
        row = conn.execute(t.events.insert().returning(t.events.c.id), {
            "at": now(), "actor_kind": actor_kind, "actor": actor, "action": action, "payload": payload})
        return int(row.scalar_one())

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

