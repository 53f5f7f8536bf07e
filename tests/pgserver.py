"""A throwaway PostgreSQL cluster for the tests: ``initdb`` into a temporary directory, ``pg_ctl`` on a Unix
socket in that directory (no TCP port), password logins only (scram-sha-256, passwords in a temporary
``.pgpass`` named by ``PGPASSFILE``), stopped and removed at the end of the session.

initdb and postgres refuse to run as root: as root the cluster runs as the ``postgres`` system user (Debian's
package creates it), else ``nobody``. Where the binaries or psycopg are missing the tests that need a server
are skipped with a message naming what is missing — unless ``METASIFT_REQUIRE_POSTGRES=1`` (``make test`` sets
it once ``make postgres`` installed the server), when they fail.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ADMIN = "metasift_admin"
PORT = 5433


def pg_bindir() -> Path | None:
    """Where initdb and pg_ctl are: ``METASIFT_PG_BIN``, PATH, or Debian's /usr/lib/postgresql/N/bin."""
    if os.environ.get("METASIFT_PG_BIN"):
        return Path(os.environ["METASIFT_PG_BIN"])
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def missing() -> str | None:
    """What is missing for a test server, or None."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    if pg_bindir() is None:
        return ("PostgreSQL server binaries (initdb, pg_ctl) not found: `make postgres` installs Debian's "
                "postgresql package")
    return None


def need_server() -> None:
    """Skip (or, when ``METASIFT_REQUIRE_POSTGRES=1``, fail) a test when no server can be started."""
    why = missing()
    if why is None:
        return
    if os.environ.get("METASIFT_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"METASIFT_REQUIRE_POSTGRES=1 but {why}")
    pytest.skip(f"no PostgreSQL for the tests: {why}")


class Cluster:
    """One running cluster; ``url(db, role)`` names a database on it (no password in the URL)."""

    def __init__(self) -> None:
        bindir = pg_bindir()
        assert bindir is not None
        self.bin = bindir
        self.root = Path(tempfile.mkdtemp(prefix="msift-pg-"))
        self.data, self.socket = self.root / "data", self.root / "sock"
        self.passwords: dict[str, str] = {ADMIN: secrets.token_hex(12)}
        self.pgpass = self.root / "pgpass"
        self.user = self._run_as()
        self._names = itertools.count(1)

    @staticmethod
    def _run_as() -> str | None:
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            try:
                pwd.getpwnam(name)
                return name
            except KeyError:
                continue
        raise RuntimeError("running as root and neither a postgres nor a nobody user exists for initdb")

    def _pg(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")
        return done

    def start(self) -> Cluster:
        self.socket.mkdir()
        pwfile = self.root / "admin.pw"
        pwfile.write_text(self.passwords[ADMIN] + "\n")
        if self.user:
            os.chmod(self.root, 0o755)  # the server user reaches its data dir, socket dir and password file
            info = pwd.getpwnam(self.user)
            for path in (self.root, self.socket, pwfile):
                os.chown(path, info.pw_uid, info.pw_gid)
        self._pg("initdb", "-D", str(self.data), "-U", ADMIN, f"--pwfile={pwfile}", "--auth=scram-sha-256",
                 "--encoding=UTF8", "--locale=C", "--no-sync")
        pwfile.unlink()
        options = (f"-k {self.socket} -p {PORT} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=400 -c shared_buffers=32MB")
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                 "-o", options, "start")
        self._write_pgpass()
        return self

    def stop(self) -> None:
        try:
            self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _write_pgpass(self) -> None:
        self.pgpass.write_text("".join(f"*:*:*:{role}:{pw}\n" for role, pw in self.passwords.items()))
        os.chmod(self.pgpass, 0o600)

    def add_password(self, role: str, password: str) -> None:
        """Let libpq log in as ``role`` (a line in the session's .pgpass)."""
        self.passwords[role] = password
        self._write_pgpass()

    def url(self, database: str, role: str = ADMIN) -> str:
        return f"postgresql://{role}@/{database}?host={self.socket}&port={PORT}"

    def admin(self):  # psycopg connection to the maintenance database, autocommit
        import psycopg

        return psycopg.connect(host=str(self.socket), port=PORT, user=ADMIN, dbname="postgres", autocommit=True)

    def create_database(self) -> str:
        name = f"t{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
