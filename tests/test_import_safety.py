"""Import safety (#18): Ctrl-C rolls a file back, a batch can be removed, a race on the same file is a skip,
--encoding / --skip-bad reach the parser, and file names cannot drive the terminal."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from metasift.importers import ImportResult
from metasift.records import Record
from metasift.store import Store

REPO = Path(__file__).resolve().parents[1]
SEARCH = REPO / "examples" / "social_media" / "search"


def big_ris(path: Path, n: int) -> Path:
    """A generated RIS export of ``n`` records."""
    entry = ("TY  - JOUR\nTI  - Randomised trial number {i} of an intervention\nAU  - Smith, J{i}\n"
             "PY  - {year}\nDO  - 10.1000/big{i}\nAB  - Abstract {i} " + "word " * 40 + "\nER  - \n\n")
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(entry.format(i=i, year=1990 + i % 30) for i in range(n))
    return path


def table_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {name: conn.execute(f"select count(*) from {name}").fetchone()[0]
                for name in ("import_batches", "records", "events", "clusters")}


def test_ctrl_c_during_a_big_import_rolls_the_file_back_and_keeps_the_files_before_it(project: Path,
                                                                                     tmp_path: Path) -> None:
    big = big_ris(tmp_path / "big.ris", 50_000)
    wal = project / "metasift.db-wal"
    # SIGINT handled as Python's default even if this test runs with SIGINT ignored (a background job)
    default_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    proc = subprocess.Popen([sys.executable, "-m", "metasift", "import", str(SEARCH / "psycinfo.ris"),
                             str(big), "--project", str(project)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    deadline = time.monotonic() + 120
    # the big file's transaction is writing once the WAL outgrows the small file's commit by far
    while proc.poll() is None and time.monotonic() < deadline and (wal.exists() and wal.stat().st_size) < 6e6:
        time.sleep(0.005)
    assert proc.poll() is None, "the import finished before it could be interrupted"
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    elapsed = time.monotonic() - sent
    assert proc.returncode == 130, err
    err = " ".join(err.split())  # rich wraps at 80 columns
    assert f"interrupted: nothing of {big} was imported" in err
    assert "1 file(s) imported before it are kept" in err
    assert "Traceback" not in err
    counts = table_counts(project / "metasift.db")
    small = (SEARCH / "psycinfo.ris").read_text(encoding="utf-8").splitlines()
    assert counts["import_batches"] == 1
    assert counts["records"] == sum(line.startswith("TY  -") for line in small)
    print(f"rolled back and exited {elapsed:.2f} s after SIGINT")


def _seed_two_files(cli, project: Path) -> None:
    code = cli("import", SEARCH / "pubmed.nbib", SEARCH / "psycinfo.ris", "--project", project).exit_code
    assert code == 0


def test_import_list_shows_each_file_with_its_batch_id(project: Path, cli) -> None:
    _seed_two_files(cli, project)
    batches = cli("import", "--list", "--json", "--project", project).json()["batches"]
    assert [(b["id"], b["filename"]) for b in batches] == [(1, "pubmed.nbib"), (2, "psycinfo.ris")]
    imported = cli("import", SEARCH / "scopus.csv", "--json", "--project", project).json()["files"][0]
    assert imported["batch_id"] == 3


def test_undo_removes_a_batch_and_its_records_in_one_transaction_with_an_event(project: Path, cli) -> None:
    _seed_two_files(cli, project)
    assert cli("dedup", "--project", project).exit_code == 0
    before = table_counts(project / "metasift.db")
    result = cli("import", "--undo", "2", "--project", project, "--json")
    assert result.exit_code == 0, result.stderr
    removal = result.json()
    assert removal["dedup"] is not None  # clusters touching it are recomputed at once
    store = Store.open(project)
    try:
        assert [b.filename for b in store.batches()] == ["pubmed.nbib"]
        assert store.counts().records_imported == before["records"] - removal["n_records"]
        assert store.counts().records_unique == removal["dedup"]["clusters"]
        with store.read() as conn:
            event = conn.execute(text("select actor_kind, actor, entity_id, payload from events "
                                      "where action = 'import_removed'")).one()
    finally:
        store.close()
    assert event.actor_kind == "human" and event.entity_id == 2
    assert json.loads(event.payload)["n_records"] == removal["n_records"]
    # the same file can be imported again after its removal
    again = cli("import", SEARCH / "psycinfo.ris", "--project", project, "--json").json()["files"][0]
    assert again["status"] == "imported"


def test_undo_is_refused_while_a_record_of_the_batch_has_a_decision(project: Path, cli) -> None:
    _seed_two_files(cli, project)
    store = Store.open(project)
    first_of_2 = min(r.id for r in store.records_table() if r.source_file == "psycinfo.ris")
    store.add_decision(record_id=first_of_2, stage="title_abstract", decider_kind="human", decider="alice",
                       label="include")
    store.close()
    before = table_counts(project / "metasift.db")
    result = cli("import", "--undo", "2", "--project", project)
    assert result.exit_code == 3
    assert f"batch 2 (psycinfo.ris) is not removed: 1 decision on record {first_of_2}" in result.stderr
    assert table_counts(project / "metasift.db") == before


def test_a_file_committed_by_another_process_meanwhile_is_skipped_not_a_traceback(
        project: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("import", SEARCH / "psycinfo.ris", "--project", project).exit_code == 0
    # the other process committed between our "already imported?" check and our write
    monkeypatch.setattr(Store, "batch_by_hash", lambda self, sha: None)
    result = cli("import", SEARCH / "psycinfo.ris", "--project", project, "--json")
    monkeypatch.undo()
    assert result.exit_code == 0, result.stderr
    assert result.json()["files"][0]["status"] == "skipped" and "already imported" in result.stderr
    assert table_counts(project / "metasift.db")["import_batches"] == 1


def test_two_processes_importing_the_same_file_at_once_import_it_once(project: Path, tmp_path: Path) -> None:
    big = big_ris(tmp_path / "same.ris", 5_000)
    cmd = [sys.executable, "-m", "metasift", "import", str(big), "--project", str(project), "--json"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
    statuses = sorted(json.loads(out)["files"][0]["status"] for out, _ in results)
    assert statuses == ["imported", "skipped"]
    assert table_counts(project / "metasift.db")["import_batches"] == 1


def test_encoding_option_reaches_the_parser_and_is_recorded(project: Path, tmp_path: Path, cli,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from metasift import importers

    seen: dict[str, object] = {}
    real = importers.read_file

    def spy(path, fmt=None, *, encoding=None, skip_bad=False):
        seen.update(encoding=encoding, skip_bad=skip_bad)
        return real(path, fmt, encoding=encoding, skip_bad=skip_bad)

    monkeypatch.setattr(importers, "read_file", spy)
    ris = tmp_path / "cafe.ris"
    ris.write_bytes("TY  - JOUR\nTI  - Caf\u00e9 \u20ac trial\nER  - \n".encode("cp1252"))
    result = cli("import", ris, "--encoding", "cp1252", "--project", project, "--json")
    assert result.exit_code == 0, result.stderr
    assert seen == {"encoding": "cp1252", "skip_bad": False}
    assert result.json()["files"][0]["encoding"] == "cp1252" and "warning" not in result.stderr
    store = Store.open(project)
    assert store.records_table()[0].title == "Caf\u00e9 \u20ac trial"
    store.close()


def test_skip_bad_lists_every_skipped_entry_as_a_warning_in_json_and_with_the_batch(
        project: Path, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from metasift import importers

    ris = tmp_path / "mixed.ris"
    ris.write_text("TY  - JOUR\nTI  - Good\nER  - \n", encoding="utf-8")
    bad = [f"{ris}:7: record without TY line", f"{ris}:12: unterminated record"]

    def fake(path, fmt=None, *, encoding=None, skip_bad=False):
        assert skip_bad is True
        return ImportResult(path=str(path), format="ris", layout=None, encoding="utf-8",
                            records=[Record(title="Good", line=1)], warnings=[], skipped=bad)

    monkeypatch.setattr(importers, "read_file", fake)
    result = cli("import", ris, "--skip-bad", "--project", project, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["files"][0]["skipped_entries"] == bad
    err = " ".join(result.stderr.split())  # rich wraps at 80 columns
    for entry in bad:
        assert f"warning: skipped {entry}" in err
    store = Store.open(project)
    assert store.batches()[0].warnings == [f"skipped {entry}" for entry in bad]
    store.close()


def test_a_file_name_with_an_escape_sequence_is_printed_escaped(project: Path, tmp_path: Path, cli) -> None:
    name = tmp_path / "\x1b[31mred.ris"
    name.write_bytes((SEARCH / "psycinfo.ris").read_bytes())
    result = cli("import", name, "--project", project)
    assert result.exit_code == 0
    assert "\x1b" not in result.stderr and "\\x1b[31mred.ris" in result.stderr
    again = cli("import", name, "--project", project)
    assert "\x1b" not in again.stderr


def test_an_error_echoing_file_contents_stays_one_capped_line_without_control_characters(
        project: Path, tmp_path: Path, cli) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("\x1b]0;owned\x07" + "z" * 5000 + "\n", encoding="utf-8")
    result = cli("import", junk, "--project", project)
    assert result.exit_code == 4
    line = result.stderr.strip()
    assert "\x1b" not in line and "\x07" not in line and "\n" not in line and len(line) <= 420
