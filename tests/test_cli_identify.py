"""init → import → dedup → status → export, as a reviewer runs them."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path


def invoke(cli, *args: str) -> tuple[int, str]:
    result = cli(*args)
    return result.exit_code, result.stdout


REPO = Path(__file__).resolve().parents[1]
SEARCH = REPO / "examples" / "social_media" / "search"
def test_version(cli) -> None:
    code, out = invoke(cli, "--version")
    assert code == 0 and out.startswith("metasift ")


def test_import_dedup_status_export(project: Path, tmp_path: Path, cli) -> None:
    p = str(project)
    code, out = invoke(cli, "import", str(SEARCH / "pubmed.nbib"), str(SEARCH / "scopus.csv"),
                       str(SEARCH / "psycinfo.ris"), "--project", p, "--json")
    assert code == 0, out
    files = json.loads(out)["files"]
    assert [f["status"] for f in files] == ["imported"] * 3
    assert {f["source"] for f in files} >= {"PubMed", "Scopus"}
    imported = sum(f["n_records"] for f in files)

    code, out = invoke(cli, "dedup", "--project", p, "--json")
    assert code == 0, out
    summary = json.loads(out)
    # The example has 320 distinct works (20 trials, 300 others) spread over three databases.
    assert summary["clusters"] == 320
    assert summary["duplicates_removed"] == imported - 320

    code, out = invoke(cli, "status", "--project", p, "--json")
    status = json.loads(out)
    assert status["records_imported"] == imported
    assert status["records_unique"] == 320
    assert status["duplicates_removed"] == imported - 320

    code, out = invoke(cli, "export", "--format", "csv", "--project", p)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == imported
    assert {"id", "title", "authors", "year", "journal", "doi", "pmid", "source_file", "cluster_id",
            "is_primary"} <= set(rows[0])
    # cluster_id is equal for duplicates (same DOI here) and distinct otherwise
    by_doi: dict[str, set[str]] = {}
    for r in rows:
        if r["doi"]:
            by_doi.setdefault(r["doi"], set()).add(r["cluster_id"])
    assert all(len(c) == 1 for c in by_doi.values())
    assert len({next(iter(c)) for c in by_doi.values()}) == len(by_doi)
    assert sum(int(r["is_primary"]) for r in rows) == 320

    out_ris = tmp_path / "records.ris"
    assert invoke(cli, "export", "--format", "ris", "--out", str(out_ris), "--project", p)[0] == 0
    assert out_ris.read_text().count("TY  - ") == imported


def test_reimport_is_skipped_by_hash(project: Path, cli) -> None:
    p = str(project)
    assert invoke(cli, "import", str(SEARCH / "psycinfo.ris"), "--project", p)[0] == 0
    code, out = invoke(cli, "import", str(SEARCH / "psycinfo.ris"), "--project", p, "--json")
    assert code == 0
    assert json.loads(out)["files"][0]["status"] == "skipped"
    assert json.loads(invoke(cli, "status", "--project", p, "--json")[1])["files_imported"] == 1


def test_broken_file_leaves_store_byte_for_byte_unchanged(project: Path, tmp_path: Path, cli) -> None:
    p = str(project)
    assert invoke(cli, "import", str(SEARCH / "psycinfo.ris"), "--project", p)[0] == 0
    db = project / "metasift.db"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    broken = tmp_path / "broken.ris"
    good = (SEARCH / "psycinfo.ris").read_text().split("ER  - ")
    # the last record is never closed: malformed at a known line
    text = good[0] + "ER  - \nTY  - JOUR\nTI  - unterminated record\n"
    broken.write_text(text)
    result = cli("import", broken, "--project", p)
    assert result.exit_code == 4
    assert f"{broken}:" in result.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert json.loads(invoke(cli, "status", "--project", p, "--json")[1])["files_imported"] == 1


def test_commands_outside_a_project_fail_clearly(tmp_path: Path, cli) -> None:
    result = cli("status", "--project", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "metasift init" in result.stderr


def test_a_borderline_pair_is_shown_with_both_abstracts_and_never_says_none(project: Path) -> None:
    from metasift.cli.records import _describe
    from metasift.records import Record
    from tests.helpers import seed_store

    store = seed_store(project, [Record(title="Peer support online", abstract="Background: " + "word " * 300),
                                 Record(title="Peer support online")])
    try:
        full, bare = (_describe(store, rid).plain for rid in (1, 2))
        removed = _describe(store, 99).plain
    finally:
        store.close()
    assert "Background: word" in full and full.endswith("…")  # the abstract's start, cut
    assert "None" not in bare and "— · — · — · doi —" in bare and "(no abstract)" in bare
    assert "removed since" in removed
