"""Disk cache of validated answers, keyed by everything that determines the answer, so re-runs cost nothing.

One SQLite file (``answers.sqlite``) in the cache directory: a put is one small committed insert (no
file per answer to create, fsync and rename), a get one indexed lookup, several processes can share it,
and a crash never leaves half an entry. An unreadable entry counts as a miss.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from metasift.errors import LLMError

if TYPE_CHECKING:
    from metasift.llm.settings import LLMSettings

CACHE_FILE = "answers.sqlite"


def _canonical(value: Any) -> bytes:
    """Sorted-key compact UTF-8 JSON: the same bytes for the same content, whatever the dict order."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)


def key_prefix(*, endpoint: str, model: str, template_hash: str, params: dict[str, Any]) -> str:
    """sha256 of the parts shared by every call with the same settings and output schema (computed once)."""
    return hashlib.sha256(_canonical({"endpoint": endpoint, "model": model, "template_hash": template_hash,
                                      "params": params})).hexdigest()


def settings_key_prefix(settings: LLMSettings, template_hash: str, schema_name: str, schema: dict[str, Any]) -> str:
    """``key_prefix`` for a call under ``settings`` with this output schema: the one place that says which
    settings enter the key, so the client and the batch path find each other's answers."""
    return key_prefix(endpoint=settings.endpoint, model=settings.model, template_hash=template_hash,
                      params={"temperature": settings.temperature, "max_tokens": settings.max_tokens,
                              "schema_name": schema_name, "schema": schema})


def key_for(prefix: str, messages: list[dict[str, Any]]) -> str:
    """The cache key of one request: its settings prefix and its messages."""
    return hashlib.sha256(prefix.encode("ascii") + _canonical(messages)).hexdigest()


def cache_key(
    *,
    endpoint: str,
    model: str,
    template_hash: str,
    messages: list[dict[str, Any]],
    params: dict[str, Any],
) -> str:
    """sha256 over the canonical JSON of everything that determines the answer (schema goes in ``params``)."""
    return key_for(key_prefix(endpoint=endpoint, model=model, template_hash=template_hash, params=params), messages)


class DiskCache:
    """Answers in ``<directory>/answers.sqlite``; opened lazily, safe to share between threads and processes."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.directory / CACHE_FILE, timeout=30, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # a crash may drop the last answers, never corrupt the file
            db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, entry TEXT NOT NULL)")
            self._db = db
        return self._db

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored entry, or None when absent or corrupt."""
        try:
            with self._lock:
                row = self._conn().execute("SELECT entry FROM answers WHERE key = ?", (key,)).fetchone()
            data = orjson.loads(row[0]) if row else None
        except (sqlite3.Error, orjson.JSONDecodeError, OSError):
            return None
        return data if isinstance(data, dict) else None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        """Store (or replace) one entry, committed at once."""
        text = orjson.dumps(entry, option=orjson.OPT_NON_STR_KEYS, default=str).decode("utf-8")
        try:
            with self._lock:
                self._conn().execute("INSERT OR REPLACE INTO answers (key, entry) VALUES (?, ?)", (key, text))
        except sqlite3.Error as exc:
            raise LLMError(f"{self.directory / CACHE_FILE}: the answer cache cannot be written ({exc}); "
                           "move the file away and run again (a new cache is started)") from None

    def close(self) -> None:
        """Close the database file (reopened on next use)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __len__(self) -> int:
        if not (self.directory / CACHE_FILE).exists():
            return 0
        with self._lock:
            return int(self._conn().execute("SELECT count(*) FROM answers").fetchone()[0])
