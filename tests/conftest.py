"""Shared fixtures: a fresh review project per test, the shared data folder, a network guard, and the bundled
example taken once through the whole path (`reviewed`)."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may talk to 127.0.0.1 only: any other connection attempt fails the test."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if isinstance(address, tuple) and address:
            host = str(address[0])
            try:
                ok = ipaddress.ip_address(host).is_loopback
            except ValueError:
                ok = host == "localhost"
            if not ok:
                raise AssertionError(f"test tried to reach {address}: only 127.0.0.1 is allowed")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def shared_dir() -> Path:
    """``../shared/data`` beside the repository; the test is skipped when it is absent."""
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip("../shared/data is not available")
    return data


@pytest.fixture
def draft_project(tmp_path: Path) -> Path:
    """A freshly initialised review project directory, its starter protocol not yet confirmed."""
    from typer.testing import CliRunner

    from metasift.cli import app

    root = tmp_path / "review"
    result = CliRunner().invoke(app, ["init", str(root)])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def project(draft_project: Path) -> Path:
    """A freshly initialised review project whose protocol is confirmed (rules may exclude)."""
    from typer.testing import CliRunner

    from metasift.cli import app

    result = CliRunner().invoke(app, ["confirm", "--as", "tester", "--project", str(draft_project)])
    assert result.exit_code == 0, result.output
    return draft_project


class CLIResult:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.exit_code, self.stdout, self.stderr = code, stdout, stderr

    def json(self) -> object:
        import json

        return json.loads(self.stdout)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run ``metasift ARGS...`` in-process through the real entry point (error handling included)."""
    from metasift.cli import main

    def run(*args: str) -> CLIResult:
        capsys.readouterr()
        code = 0
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out = capsys.readouterr()
        return CLIResult(code, out.out, out.err)

    return run


@pytest.fixture(scope="session")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example taken through the whole path once per test session (as `make demo` does: study
    fields imported, the demo's moderators named) for the tests that read its store and report."""
    from tests.helpers import whole_path

    return whole_path(tmp_path_factory.mktemp("e2e") / "review")


# -- PostgreSQL (tests/pgserver.py) ----------------------------------------------------------------------
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL cluster for the whole session (skipped, or failed under
    METASIFT_REQUIRE_POSTGRES=1, where none can be started); ``PGPASSFILE`` points at its .pgpass."""
    import os

    from tests.pgserver import Cluster, need_server

    need_server()
    cluster = Cluster().start()
    before = os.environ.get("PGPASSFILE")
    os.environ["PGPASSFILE"] = str(cluster.pgpass)
    try:
        yield cluster
    finally:
        if before is None:
            os.environ.pop("PGPASSFILE", None)
        else:
            os.environ["PGPASSFILE"] = before
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster) -> object:
    """A fresh, empty database on the test cluster (dropped afterwards); its URL, without a password."""
    name = pg_cluster.create_database()
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


def on_backend(request: pytest.FixtureRequest, project: Path) -> Path:
    """``project`` as is (SQLite) or with its store on a fresh PostgreSQL database, by ``request.param``;
    for a test module's ``project`` fixture parametrised over ``BACKENDS``."""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        config = project / "review.toml"
        config.write_text(config.read_text(encoding="utf-8") + f'\n[store]\nurl = "{url}"\n', encoding="utf-8")
    return project
