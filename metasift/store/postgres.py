"""PostgreSQL as the store of a review team: URLs, engine settings, one-line errors.

- ``postgresql://`` (and ``postgres://``) URLs use psycopg 3; credentials come from libpq's environment
  (``PGPASSWORD``, ``PGUSER``...), a ``.pgpass`` file (``PGPASSFILE``) or a service file (``PGSERVICE``),
  never from the URL as written into ``review.toml`` (``config_url`` refuses a password there). TLS settings
  (``sslmode``, ``sslrootcert``...) are query parameters of the URL or ``PGSSL*`` variables, passed through.
- Writes are serialised as SQLite's ``BEGIN IMMEDIATE`` serialises them: a write transaction takes one
  transaction-level advisory lock (``pg_advisory_xact_lock``) before its first statement, so the store's
  read-then-write steps (the next ranker run, a batch's ids, routes from decisions) never interleave. One
  exception: a transaction that begins with the write guard's ``SELECT … FOR UPDATE`` of a record row (a
  reviewer's or the arbiter's decision, ``review_queue.decide``/``resolve``) relies on that row lock alone,
  which serialises every decision on that record, so reviewers deciding different records never wait for
  each other or for a long ``screen`` or ``import`` transaction. Reads are ``REPEATABLE READ READ ONLY``:
  one snapshot per read, never waiting on a writer, as WAL reads are on SQLite.
- A server that cannot be reached, a refused login and a missing grant each become one ``ServerError``
  line naming the server and what to do, instead of a driver traceback.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url

from metasift.errors import ProjectError

DRIVER = "postgresql+psycopg"
# The one advisory lock key every write transaction takes (an arbitrary constant: "metasift" in ASCII).
WRITE_LOCK = 0x6D65746173696674


class ServerError(ProjectError):
    """The PostgreSQL server could not be reached, refused the login, or the role lacks a grant."""


def is_postgres(url: str | URL) -> bool:
    return make_url(url).drivername.split("+")[0] in ("postgresql", "postgres")


def driver_url(url: str | URL) -> URL:
    """``url`` with the psycopg 3 driver (``postgresql://`` would pick psycopg2)."""
    parsed = make_url(url)
    return parsed.set(drivername=DRIVER)


def without_password(url: str | URL, *, username: str | None = None) -> URL:
    """``url`` with no password at all (``URL.set(password=None)`` would keep it), optionally another role."""
    p = make_url(url)
    return URL.create(p.drivername, username=username or p.username, password=None, host=p.host, port=p.port,
                      database=p.database, query=p.query)


def shown(url: str | URL) -> str:
    """The URL as shown to people: never a password, even a masked one."""
    return without_password(url).render_as_string(hide_password=False)


def config_url(url: str) -> str:
    """The URL as written into ``review.toml``: refused when it carries a password (credentials belong in
    the environment or ``~/.pgpass``); otherwise kept exactly as the user wrote it."""
    parsed = make_url(url)
    if parsed.password:
        raise ServerError(f"{shown(url)}: the URL carries a password; put it in ~/.pgpass (or PGPASSFILE, "
                          "PGPASSWORD, a PGSERVICE file) and give the URL without it — review.toml is shared "
                          "and committed, credentials must not be")
    return url


def make_engine(url: str | URL) -> Engine:
    """An engine on the server: UTC session time zone, the write lock taken at the start of every write
    transaction, read transactions as one read-only snapshot, driver errors made one line."""
    from psycopg import IsolationLevel

    target = driver_url(url)
    engine = create_engine(target, pool_pre_ping=True, connect_args={"options": "-c timezone=UTC"})

    @event.listens_for(engine, "connect")
    def _naive_utc(dbapi_conn: Any, _record: Any) -> None:
        _load_timestamps_as_sqlite_does(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # psycopg opens the transaction with the first statement; these attributes make that BEGIN itself
        # "ISOLATION LEVEL REPEATABLE READ, READ ONLY" for a read (no extra round trip to the server)
        raw = conn.connection.dbapi_connection
        read = bool(conn.get_execution_options().get("metasift_read", False))
        raw.isolation_level = IsolationLevel.REPEATABLE_READ if read else None
        raw.read_only = True if read else None
        if not read:  # the lock waits for the first statement: a record guard does without it
            conn.info["metasift_lock_pending"] = True

    @event.listens_for(engine, "rollback")
    @event.listens_for(engine, "commit")
    def _end(conn: Any) -> None:
        conn.info.pop("metasift_lock_pending", None)

    @event.listens_for(engine, "before_cursor_execute")
    def _lock(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if conn.info.pop("metasift_lock_pending", False) and not is_record_guard(statement):
            with cursor.connection.cursor() as own:  # a client cursor even when ``cursor`` streams
                own.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")

    @event.listens_for(engine, "handle_error")
    def _one_line(context: Any) -> None:
        error = server_error(context.original_exception, target)
        if error is not None:
            raise error from context.original_exception

    return engine


def is_record_guard(statement: str) -> bool:
    """Whether ``statement`` is the write guard's row lock, ``SELECT records.id FROM records WHERE records.id =
    ... FOR UPDATE`` (``review_queue._lock_record``)."""
    flat = " ".join(statement.split())
    return flat.startswith("SELECT records.id FROM records WHERE records.id = ") and flat.endswith(" FOR UPDATE")


def _load_timestamps_as_sqlite_does(dbapi_conn: Any) -> None:
    """Read ``timestamptz`` as a naive UTC ``datetime``, as SQLAlchemy reads the same column from SQLite,
    so every caller sees one kind of timestamp whichever back end holds the store (values are written in
    UTC on both)."""
    from psycopg.types.datetime import TimestamptzBinaryLoader, TimestamptzLoader

    class NaiveUTC(TimestamptzLoader):
        def load(self, data: Any) -> Any:
            return super().load(data).astimezone(UTC).replace(tzinfo=None)

    class NaiveUTCBinary(TimestamptzBinaryLoader):
        def load(self, data: Any) -> Any:
            return super().load(data).astimezone(UTC).replace(tzinfo=None)

    dbapi_conn.adapters.register_loader("timestamptz", NaiveUTC)
    dbapi_conn.adapters.register_loader("timestamptz", NaiveUTCBinary)


def where(url: str | URL) -> str:
    """``role@host:port/database`` of a server URL, for messages (never a password)."""
    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host") or "localhost (PGHOST or the default socket)"
    if isinstance(host, tuple):
        host = ",".join(host)
    port = parsed.port or parsed.query.get("port")
    role = parsed.username or "(PGUSER or your login name)"
    return f"{role}@{host}{f':{port}' if port else ''}/{parsed.database or '(default database)'}"


def server_error(exc: BaseException, url: str | URL) -> ServerError | None:
    """The one-line error for a driver exception that is about reaching the server or the role's rights,
    or None for any other error (a bad statement stays a bug with its traceback)."""
    try:
        import psycopg
        from psycopg import errors as pgerr
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return None
    at = f"PostgreSQL {where(url)}"
    reason = _reason(exc)
    low = reason.lower()
    if isinstance(exc, pgerr.InsufficientPrivilege) and "row-level security" in low:
        return ServerError(f"{at}: refused by the team's blinding rules ({reason}): a reviewer writes human "
                           "decisions only under their own role name (--reviewer must be the role), consensus only "
                           "as an arbiter")
    if isinstance(exc, pgerr.InsufficientPrivilege):
        return ServerError(f"{at}: the role lacks a grant ({reason}); the project owner grants it with "
                           "`metasift store add-reviewer NAME`")
    if not isinstance(exc, psycopg.OperationalError) or isinstance(exc, pgerr.QueryCanceled):
        return None
    if any(s in low for s in ("password authentication failed", "no password supplied", "role \"",
                              "pg_hba.conf")):
        return ServerError(f"{at}: the server refused the login ({reason}); give the password in ~/.pgpass, "
                           "PGPASSFILE, PGPASSWORD or a PGSERVICE file — never in review.toml")
    if "database \"" in low and "does not exist" in low:
        return ServerError(f"{at}: no such database on the server ({reason}); create it (createdb) first")
    if "permission denied" in low:
        return ServerError(f"{at}: the role may not connect ({reason}); the project owner grants it with "
                           "`metasift store add-reviewer NAME`")
    if any(s in low for s in ("connection", "could not", "timeout", "no such file", "refused", "ssl",
                              "certificate", "server closed", "translate host")):
        return ServerError(f"{at}: cannot reach the server ({reason}); is it running, and are host, port "
                           "and TLS settings (sslmode, sslrootcert) right?")
    return None


def _reason(exc: BaseException) -> str:
    """The driver's message on one line, without libpq's "connection to server ... failed:" preamble."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if " failed: " in text and text.startswith(("connection failed", "connection is bad")):
        text = text.rsplit(" failed: ", 1)[1]
    return text.removeprefix("FATAL: ").strip()
