"""A damaged or missing store (#18): one line naming the file and what to do, `init` recreates only the
store, and `metasift backup` makes a checked copy that `status` remembers."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from metasift.errors import ProjectError

REPO = Path(__file__).resolve().parents[1]
SEARCH = REPO / "examples" / "social_media" / "search"


@pytest.fixture
def imported(project: Path, cli) -> Path:
    assert cli("import", SEARCH / "pubmed.nbib", "--project", project).exit_code == 0
    return project


@pytest.mark.parametrize("keep", [0, 50, 4096, 40_000])
def test_a_truncated_store_is_one_line_naming_the_file_and_how_to_restore_it(imported: Path, cli,
                                                                              keep: int) -> None:
    db = imported / "metasift.db"
    with open(db, "r+b") as fh:
        fh.truncate(keep)
    for command in (["status"], ["import", SEARCH / "scopus.csv"], ["export", "--format", "csv"]):
        result = cli(*command, "--project", imported)
        assert result.exit_code == ProjectError.exit_code, result.stderr
        line = result.stderr.strip()
        assert "\n" not in line and "Traceback" not in line
        assert f"{db}: the store is damaged (integrity_check: " in line
        assert "restore it from a backup" in line


def test_a_store_damaged_in_the_middle_is_caught_on_the_statement_that_meets_it(imported: Path, cli) -> None:
    db = imported / "metasift.db"
    with open(db, "r+b") as fh:
        fh.seek(4096 * 20)
        fh.write(b"\xff" * 4096 * 40)
    result = cli("export", "--format", "csv", "--project", imported)
    assert result.exit_code == ProjectError.exit_code
    assert f"{db}: the store is damaged" in result.stderr and "Traceback" not in result.stderr


def test_a_file_that_is_not_a_database_says_so(imported: Path, cli) -> None:
    (imported / "metasift.db").write_bytes(b"this is a text file, not SQLite\n" * 200)
    result = cli("status", "--project", imported)
    assert result.exit_code == ProjectError.exit_code
    assert "(integrity_check: file is not a database)" in result.stderr


def test_a_missing_store_says_init_creates_it_and_init_keeps_the_protocol(imported: Path, cli) -> None:
    toml = (imported / "review.toml").read_bytes()
    (imported / "metasift.db").unlink()
    result = cli("status", "--project", imported)
    assert result.exit_code == ProjectError.exit_code
    assert f"`metasift init {imported}` creates an empty store and keeps review.toml" in result.stderr
    made = cli("init", imported)
    assert made.exit_code == 0, made.stderr
    assert "created an empty store" in made.stderr and "kept" in made.stderr
    assert (imported / "review.toml").read_bytes() == toml
    assert cli("status", "--project", imported).exit_code == 0
    again = cli("init", imported)  # with both there, init still refuses
    assert again.exit_code == ProjectError.exit_code and "already exists" in again.stderr


def test_backup_writes_a_consistent_checked_copy_and_status_shows_when(imported: Path, cli) -> None:
    status = " ".join(cli("status", "--project", imported).stderr.split())
    assert "warning: last backup: never" in status
    made = cli("backup", "--project", imported, "--json")
    assert made.exit_code == 0, made.stderr
    copy = Path(made.json()["path"])
    assert copy.parent == imported / "backups" and copy.name.startswith("metasift-") and copy.suffix == ".db"
    with sqlite3.connect(copy) as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert conn.execute("select count(*) from records").fetchone()[0] == 225
    with sqlite3.connect(imported / "metasift.db") as conn:
        payload = conn.execute("select payload from events where action = 'backup'").fetchone()[0]
    assert str(copy) in payload
    status = "".join(cli("status", "--project", imported).stderr.split())  # rich wraps even inside a path
    assert "lastbackup:" in status and "lastbackup:never" not in status and str(copy) in status


def test_a_backup_restores_a_damaged_store(imported: Path, tmp_path: Path, cli) -> None:
    out = tmp_path / "safe.db"
    assert cli("backup", "--out", out, "--project", imported).exit_code == 0
    refused = cli("backup", "--out", out, "--project", imported)  # never overwrites
    assert refused.exit_code == ProjectError.exit_code
    db = imported / "metasift.db"
    with open(db, "r+b") as fh:
        fh.truncate(100)
    shutil.copy(out, db)
    status = cli("status", "--project", imported, "--json")
    assert status.exit_code == 0 and status.json()["records_imported"] == 225


def test_backup_of_a_postgresql_store_says_to_use_pg_dump(project: Path, cli) -> None:
    toml = project / "review.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + '\n[store]\nurl = "postgresql://u@db.invalid/review"\n',
                    encoding="utf-8")
    result = cli("backup", "--project", project)
    assert result.exit_code != 0
    line = result.stderr.strip()
    assert "pg_dump" in line and "\n" not in line
