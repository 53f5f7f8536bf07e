"""``metasift export``: records or decisions as CSV, RIS or JSON lines.

CSV text cells a spreadsheet would run as formulas are prefixed with ``'`` (``metasift.csvsafe``).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from metasift.cli._common import ProjectOption, info, project_dir
from metasift.csvsafe import LINE_END, safe_row
from metasift.errors import MetasiftError

if TYPE_CHECKING:  # the store loads in the command (start-up, issue #15)
    from metasift.store import Store

RECORD_COLUMNS = ["id", "title", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid",
                  "abstract", "source", "source_file", "cluster_id", "is_primary"]
DECISION_COLUMNS = ["id", "record_id", "stage", "decider_kind", "decider", "label", "reasons", "criteria",
                    "confidence", "model", "prompt_hash", "note", "settings", "created_at", "retracted_at"]


class Format(str, Enum):
    csv = "csv"
    ris = "ris"
    jsonl = "jsonl"


class What(str, Enum):
    records = "records"
    decisions = "decisions"


class Stage(str, Enum):
    title_abstract = "title_abstract"
    full_text = "full_text"


def _flat(value: Any) -> Any:
    if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict) for v in value)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, bool):
        return int(value)
    return "" if value is None else value


def records_rows(store: Store, only: set[int] | None = None) -> list[dict[str, Any]]:
    """Every record (or those whose id is in ``only``) with the export columns."""
    return [{c: getattr(row, c) for c in RECORD_COLUMNS} for row in store.records_table()
            if only is None or row.id in only]


def included_ids(store: Store, protocol: Any, stage: str) -> set[int]:
    """Records settled as "include" at ``stage``: the ones ``status`` counts as included (``record_tally``:
    ``Store.final_labels`` with the protocol's ``Counting``, within the stage's records — primary records,
    or at full text those through title/abstract). "maybe", unsettled and excluded are left out."""
    from metasift.kinds import Label
    from metasift.store import review_queue as rq

    counting = rq.Counting.of(protocol)
    scope = rq.stage_scope(store, stage, counting)
    records = set(rq.primary_ids(store)) if scope is None else scope
    labels = store.final_labels(stage, humans_needed=counting.needed, model_counts=counting.model_counts)
    return {rid for rid, label in labels.items() if label == Label.INCLUDE and rid in records}


def decisions_rows(store: Store) -> list[dict[str, Any]]:
    """Every decision, retracted ones too, with the export columns."""
    return [{c: getattr(row, c) for c in DECISION_COLUMNS} for row in store.decisions(include_retracted=True)]


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """CSV text (CRLF lines, so a carriage return inside a cell is quoted); cells a spreadsheet would read
    as formulas get a leading ``'`` (``csvsafe``)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator=LINE_END)
    writer.writeheader()
    writer.writerows(safe_row({k: _flat(v) for k, v in row.items()}) for row in rows)
    return buf.getvalue()


def to_ris(rows: list[dict[str, Any]]) -> str:
    """RIS text, each reference starting at its ``TY`` line (rispy's numbered ``1.`` headers are dropped:
    reference managers read them as stray text before the first tag)."""
    import rispy

    class PlainRisWriter(rispy.RisWriter):
        def set_header(self, count: int) -> str:
            return ""

    entries = []
    for row in rows:
        entry = {"type_of_reference": "JOUR", "id": str(row["id"]), "title": row["title"] or "",
                 "authors": row["authors"] or [], "year": str(row["year"] or ""),
                 "journal_name": row["journal"] or "", "volume": row["volume"] or "",
                 "number": row["issue"] or "", "doi": row["doi"] or "", "abstract": row["abstract"] or "",
                 "notes": [f"metasift cluster {row['cluster_id']}; primary={bool(row['is_primary'])}; "
                           f"source={row['source']}"]}
        if row["pages"]:
            start, _, end = str(row["pages"]).partition("-")
            entry["start_page"], entry["end_page"] = start, end
        if row["pmid"]:
            entry["accession_number"] = row["pmid"]
        entries.append({k: v for k, v in entry.items() if v not in ("", [])})
    return rispy.dumps(entries, implementation=PlainRisWriter)


def export(
    fmt: Format = typer.Option(Format.csv, "--format", "-f", help="csv, ris or jsonl."),
    what: What = typer.Option(What.records, "--what", help="records (with cluster ids) or decisions."),
    out: Path = typer.Option(None, "--out", "-o", help="Output file (default: stdout)."),
    included: bool = typer.Option(False, "--included",
                                  help="Only the records settled as included at --stage (as status counts)."),
    stage: Stage = typer.Option(Stage.title_abstract, "--stage", help="Stage for --included."),
    project: Path = ProjectOption,
) -> None:
    """Export all records (id, title, authors, year, journal, doi, pmid, source_file, cluster_id,
    is_primary) or all decisions (record_id, stage, decider_kind, decider, label, reasons, created_at).

    --included keeps only the records settled as "include" at --stage (default title_abstract), counted
    as `metasift status` counts them. In CSV, text cells that would be read as formulas start with '.
    """
    root = project_dir(project)
    if included and what is not What.records:
        raise MetasiftError("--included selects records; drop it or use --what records")
    protocol = None
    if included:
        from metasift.config import load_protocol

        protocol = load_protocol(root)
    from metasift.store import Store

    store = Store.open(root)
    try:
        if what is What.records:
            only = included_ids(store, protocol, stage.value) if included else None
            rows, columns = records_rows(store, only), RECORD_COLUMNS
        else:
            rows, columns = decisions_rows(store), DECISION_COLUMNS
    finally:
        store.close()
    if fmt is Format.csv:
        text = to_csv(rows, columns)
    elif fmt is Format.jsonl:
        text = "".join(json.dumps(r, default=str, ensure_ascii=False) + "\n" for r in rows)
    else:
        if what is What.decisions:
            raise MetasiftError("RIS export is for records; use --format csv or jsonl for decisions")
        text = to_ris(rows)
    if out:
        out.write_text(text, encoding="utf-8", newline="")
        info(f"wrote {len(rows)} {what.value} to {out}")
    else:
        sys.stdout.write(text)
