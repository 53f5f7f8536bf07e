"""Engine creation: SQLite tuned for safety (WAL, foreign keys, busy timeout), or any SQLAlchemy URL.

A damaged SQLite file ("file is not a database", "database disk image is malformed") becomes one
``ProjectError`` naming the file, what SQLite's own check says and how to restore it, on whichever
statement first meets the damage, instead of a driver traceback on every command.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url

from metasift.errors import ProjectError
from metasift.store import postgres

BACKUP_DIR = "backups"
# What SQLite says when the file itself is damaged (as opposed to a busy lock or a bad statement).
_DAMAGE_SIGNS = ("file is not a database", "database disk image is malformed", "malformed database schema",
                 "database corrupt")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for other back ends and in-memory databases."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def is_damage(exc: BaseException) -> bool:
    """True when a driver error says the SQLite file itself is damaged."""
    return isinstance(exc, sqlite3.DatabaseError) and any(s in str(exc).lower() for s in _DAMAGE_SIGNS)


def integrity_result(path: Path, limit: int = 200) -> str:
    """First line of ``PRAGMA integrity_check`` on ``path`` (opened read-only), or SQLite's error."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            rows = conn.execute("PRAGMA integrity_check(5)").fetchall()
        finally:
            conn.close()
        text = "; ".join(str(r[0]) for r in rows)
    except sqlite3.Error as exc:
        text = str(exc)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def latest_backup(path: Path) -> Path | None:
    """The newest file in the project's ``backups/`` folder beside the store, if any."""
    folder = path.parent / BACKUP_DIR
    found = sorted(folder.glob("*.db"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    return found[-1] if found else None


def damaged_store(path: Path, detail: str | None = None) -> ProjectError:
    """The one-line error for a damaged store file: what SQLite says and how to get the data back."""
    detail = detail or integrity_result(path)
    backup = latest_backup(path)
    restore = (f"restore the latest backup: cp {backup} {path}" if backup else
               f"restore it from a backup, or salvage what is left with `sqlite3 {path} .recover`")
    return ProjectError(f"{path}: the store is damaged (integrity_check: {detail}); {restore}")


def make_engine(url: str) -> Engine:
    """Create an engine; for SQLite turn on WAL, foreign keys and a 30 s busy timeout per connection."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        path = sqlite_path(url)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below control transactions
            cur = dbapi_conn.cursor()
            try:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.DatabaseError as exc:  # on connect: no SQLAlchemy error hook runs yet
                if path is not None and is_damage(exc):
                    raise damaged_store(path) from exc
                raise
            finally:
                cur.close()

        @event.listens_for(engine, "handle_error")
        def _damaged(context) -> None:
            # Damage met by any later statement (a truncated file reads fine until a missing page).
            if path is not None and is_damage(context.original_exception):
                raise damaged_store(path) from context.original_exception

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:
            # Writes take the lock up front (BEGIN IMMEDIATE) so two reviewers never interleave
            # half-transactions; reads (Store.read) stay deferred so they never wait on a writer (WAL).
            readonly = conn.get_execution_options().get("metasift_read", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    if postgres.is_postgres(url):
        return postgres.make_engine(url)  # write lock, read snapshots, one-line server errors
    return create_engine(url, pool_pre_ping=True)
