"""``metasift export``: records or decisions as CSV, RIS or JSON lines."""

from __future__ import annotations

import csv
import io
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from metasift.cli._common import ProjectOption, info, project_dir
from metasift.errors import MetasiftError
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


def _flat(value: Any) -> Any:
    if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict) for v in value)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, bool):
        return int(value)
    return "" if value is None else value


def records_rows(store: Store) -> list[dict[str, Any]]:
    return [{c: row.get(c) for c in RECORD_COLUMNS} for row in store.records_table()]


def decisions_rows(store: Store) -> list[dict[str, Any]]:
    return [{c: row.get(c) for c in DECISION_COLUMNS} for row in store.decisions(include_retracted=True)]


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _flat(v) for k, v in row.items()} for row in rows)
    return buf.getvalue()


def to_ris(rows: list[dict[str, Any]]) -> str:
    import rispy

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
    return rispy.dumps(entries)


def export(
    fmt: Format = typer.Option(Format.csv, "--format", "-f", help="csv, ris or jsonl."),
    what: What = typer.Option(What.records, "--what", help="records (with cluster ids) or decisions."),
    out: Path = typer.Option(None, "--out", "-o", help="Output file (default: stdout)."),
    project: Path = ProjectOption,
) -> None:
    """Export all records (id, title, authors, year, journal, doi, pmid, source_file, cluster_id,
    is_primary) or all decisions (record_id, stage, decider_kind, decider, label, reasons, created_at)."""
    store = Store.open(project_dir(project))
    if what is What.records:
        rows, columns = records_rows(store), RECORD_COLUMNS
    else:
        rows, columns = decisions_rows(store), DECISION_COLUMNS
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
        out.write_text(text, encoding="utf-8")
        info(f"wrote {len(rows)} {what.value} to {out}")
    else:
        sys.stdout.write(text)
