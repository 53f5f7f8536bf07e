"""Full texts in a project: attach by DOI or title, extract into the store, keep human edits."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from metasift.extractor.pipeline import study_result
from metasift.records import Record
from metasift.store import Store

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "social_media"


def _seed(project: Path, *, drop_doi_of: str = "T02") -> Store:
    store = Store.open(project)
    with open(EXAMPLE / "trials.csv", encoding="utf-8") as fh:
        trials = list(csv.DictReader(fh))
    recs = [Record(title=t["title"], year=int(t["year"]), doi=None if t["trial_id"] == drop_doi_of else t["doi"],
                   authors=t["authors"].split("; ")) for t in trials]
    recs.append(Record(title="An unrelated cross-sectional survey of something else entirely", year=2019))
    store.add_import(path=project / "seed.ris", sha256="a" * 64, source="Test", fmt="ris", layout=None,
                     encoding="utf-8", warnings=[], records=recs)
    return store


def test_attach_extract_and_human_edit(project: Path, tmp_path: Path, cli) -> None:
    store = _seed(project)
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    for name in ("T01.pdf", "T02.pdf", "T03.pdf"):
        shutil.copy(EXAMPLE / "pdfs" / name, pdfs / name)
    (pdfs / "broken.pdf").write_bytes(b"%PDF-1.4\n garbage")
    (pdfs / "stranger.pdf").write_bytes((EXAMPLE / "pdfs" / "T05.pdf").read_bytes())
    store.close()

    result = cli("fulltext", "attach", pdfs, "--all", "--project", project, "--json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    by_file = {Path(a["path"]).name: a for a in report["attached"]}
    assert by_file["T01.pdf"]["matched_by"] == "doi" and by_file["T01.pdf"]["record_id"] == 1
    assert by_file["T02.pdf"]["matched_by"] == "title" and by_file["T02.pdf"]["record_id"] == 2
    assert by_file["stranger.pdf"]["record_id"] == 5  # T05's PDF under another name still finds its record
    assert [Path(u["path"]).name for u in report["unreadable"]] == ["broken.pdf"]

    again = cli("fulltext", "attach", pdfs, "--all", "--project", project, "--json").json()
    assert again["attached"] == [] and len(again["already"]) == 4

    result = cli("extract", "--project", project, "--json")
    assert result.exit_code == 0, result.stderr
    store = Store.open(project)
    rows = store.extractions(record_id=1)
    assert {r.status for r in rows} == {"auto_verified"}
    first = next(r for r in rows if r.field == "outcome_mean")
    store.review_extraction(first.id, status="verified", actor="alice", value=4.35, reason="typo in table")
    assert cli("extract", "--project", project).exit_code == 0  # re-extract keeps the human's edit
    rows = store.extractions(record_id=1)
    edited = [r for r in rows if r.id == first.id]
    assert edited and edited[0].value == 4.35 and edited[0].updated_by == "alice"
    same = [r for r in rows if (r.field, r.arm, r.measure, r.timepoint) ==
            (first.field, first.arm, first.measure, first.timepoint)]
    assert len(same) == 1  # no second draft of a value a human settled
    rebuilt = study_result(rows)
    assert [a.n_randomised for a in rebuilt.arms] == [61, 64]
    assert rebuilt.outcomes[0].mean == 4.35


def test_verifying_one_candidate_settles_the_other(project: Path) -> None:
    store = _seed(project)
    fid = store.add_fulltext(record_id=1, path=EXAMPLE / "pdfs" / "T01.pdf", sha256="d" * 64, n_pages=2,
                             status="ok", message=None, matched_by="manual")
    key = {"field": "outcome_mean", "arm": "Control", "measure": "PHQ-9 (depression)", "timepoint": "post",
           "page": 2, "quote": "", "status": "needs_human", "reason": "rule and model disagree"}
    store.replace_extractions(fid, 1, [{**key, "value": 6.89}], source="rule", extractor="rules")
    store.replace_extractions(fid, 1, [{**key, "value": 6.98}], source="model", extractor="m")
    rule_row = next(r for r in store.extractions(record_id=1) if r.value == 6.89)
    store.review_extraction(rule_row.id, status="verified", actor="alice")
    rows = {r.value: r for r in store.extractions(record_id=1)}
    assert rows[6.89].status == "verified"
    assert rows[6.98].status == "rejected" and "verified by alice" in (rows[6.98].reason or "")
    assert study_result([r for r in rows.values() if r.status != "rejected"]).outcomes[0].mean == 6.89
