"""Study-level fields from a CSV (``metasift studies import FILE.csv``): one row per study, keyed by
``record_id`` or by ``study`` ("Family Year", as the effect sizes and forest plots name studies); every other
column is a field (female_pct, guidance, control_type...) that ``[analysis] moderators`` and ``subgroups``
may name. The whole file is checked before anything is stored; an error names the file and line.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from metasift.errors import ImportFormatError
from metasift.records import study_label
from metasift.store.rows import RecordRow

KEYS = ("record_id", "study")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Fields every effect size already has: a study field of the same name would shadow it.
RESERVED = frozenset({"study_id", "es_id", "record_id", "study", "year", "outcome", "measure", "timepoint",
                      "intervention", "control", "m1", "sd1", "n1", "m2", "sd2", "n2", "yi", "vi", "verified"})
MAX_VALUE = 500


@dataclass(frozen=True, slots=True)
class StudyRow:
    """One study's line of the file: its record, the line, and its values (None for a blank cell)."""

    record_id: int
    line: int
    values: dict[str, str | None]


@dataclass(frozen=True, slots=True)
class StudyFile:
    """A checked study CSV: its fields (in column order), one row per study, its sha256."""

    path: Path
    sha256: str
    key: str                  # record_id or study
    fields: list[str]
    rows: list[StudyRow]


def _record_lookup(records: Sequence[RecordRow]) -> tuple[dict[int, RecordRow], dict[str, list[int]]]:
    by_id = {r.id: r for r in records}
    by_label: dict[str, list[int]] = {}
    for r in records:
        by_label.setdefault(study_label(r).casefold(), []).append(r.id)
    return by_id, by_label


def _pick(ids: list[int], prefer: Sequence[set[int]]) -> int | None:
    """The one record a shared label means: the only one in the first preference tier holding any of them."""
    if len(ids) == 1:
        return ids[0]
    for tier in prefer:
        inside = [i for i in ids if i in tier]
        if inside:
            return inside[0] if len(inside) == 1 else None
    return None


def read_study_csv(path: Path, records: Sequence[RecordRow], prefer: Sequence[set[int]] = ()) -> StudyFile:
    """Parse and check a study CSV against the project's (primary) records; ImportFormatError names FILE:LINE.

    A "Family Year" several records share means the one in the first of ``prefer`` (e.g. the studies included
    at full text, then those included at title/abstract) that holds exactly one of them."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFormatError(path, line, "not UTF-8 text (save the CSV as UTF-8)") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ImportFormatError(path, 1, "empty file: expected a header with record_id or study and the fields")
    reader = csv.reader(lines)
    header = [h.strip() for h in next(reader)]
    lowered = [h.lower() for h in header]
    key = next((k for k in KEYS if k in lowered), None)
    if key is None:
        raise ImportFormatError(path, 1, "no record_id or study column to say which study each row is")
    key_col = lowered.index(key)
    fields: list[str] = []
    for i, name in enumerate(header):
        if i == key_col or lowered[i] in KEYS:
            continue
        if not _FIELD.match(name):
            raise ImportFormatError(path, 1, f"column {name!r} is not a field name (letters, digits and _, "
                                             "not starting with a digit)")
        if name in RESERVED:
            raise ImportFormatError(path, 1, f"column {name!r} is already a field of every effect size")
        if name in fields:
            raise ImportFormatError(path, 1, f"column {name!r} appears twice")
        fields.append(name)
    if not fields:
        raise ImportFormatError(path, 1, "no field columns besides the study key")
    by_id, by_label = _record_lookup(records)
    rows: list[StudyRow] = []
    seen: dict[int, int] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise ImportFormatError(path, line, f"{len(cells)} cells but the header has {len(header)} columns")
        ident = cells[key_col].strip()
        if not ident:
            raise ImportFormatError(path, line, f"no {key}")
        if key == "record_id":
            if not ident.isdigit() or int(ident) not in by_id:
                raise ImportFormatError(path, line, f"record_id {ident!r} is not a record of this project")
            rid = int(ident)
        else:
            ids = by_label.get(ident.casefold(), [])
            if not ids:
                raise ImportFormatError(path, line, f"study {ident!r} is not a study of this project (name it "
                                                    "'Family Year' as the effect sizes do, or use record_id)")
            picked = _pick(ids, prefer)
            if picked is None:
                raise ImportFormatError(path, line, f"study {ident!r} names {len(ids)} records "
                                                    f"({', '.join(map(str, ids))}): use a record_id column")
            rid = picked
        if rid in seen:
            raise ImportFormatError(path, line, f"the study of line {seen[rid]} again (record {rid})")
        seen[rid] = line
        values: dict[str, str | None] = {}
        for i, name in enumerate(header):
            if name not in fields:
                continue
            value = cells[i].strip()
            if len(value) > MAX_VALUE:
                raise ImportFormatError(path, line, f"{name}: a value longer than {MAX_VALUE} characters")
            values[name] = value or None
        rows.append(StudyRow(record_id=rid, line=line, values=values))
    if not rows:
        raise ImportFormatError(path, 2, "no studies below the header")
    return StudyFile(path=path, sha256=hashlib.sha256(raw).hexdigest(), key=key, fields=fields, rows=rows)
