"""Read a labelled screening dataset (CSV with ``title``, ``abstract``, ``label_included``) for simulation.

The layout of ASReview's benchmark sets and ``../shared/data/screening``: one record a row, label 1 for
included, 0 for excluded. Errors name the file, the line and what is wrong.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from pydantic import BaseModel

from metasift.errors import ImportFormatError
from metasift.screener._features import record_text

REQUIRED = ("title", "abstract", "label_included")
_TRUE = {"1", "1.0", "true", "yes", "y", "include", "included"}
_FALSE = {"0", "0.0", "false", "no", "n", "exclude", "excluded"}


class LabelledData(BaseModel):
    """Texts (title + abstract) and true labels, row by row."""

    path: str
    texts: list[str]
    labels: list[int]

    @property
    def n_included(self) -> int:
        return sum(self.labels)


def read_labelled_csv(path: Path | str) -> LabelledData:
    """Read ``path``; a missing column, an unreadable file or a bad label raises ``ImportFormatError``."""
    path = Path(path)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ImportFormatError(str(path), None, f"cannot read: {exc.strerror or exc}") from None
    texts: list[str] = []
    labels: list[int] = []
    with handle:
        try:
            reader = csv.DictReader(handle)
            header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
            if not header:
                raise ImportFormatError(str(path), 1, "empty file: expected a header with "
                                        + ", ".join(REQUIRED))
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise ImportFormatError(str(path), 1, f"missing column {', '.join(repr(c) for c in missing)} "
                                        f"(columns needed: {', '.join(REQUIRED)})")
            names = dict(zip(header, reader.fieldnames or [], strict=True))
            for row in reader:
                raw = (row.get(names["label_included"]) or "").strip().lower()
                if raw in _TRUE:
                    labels.append(1)
                elif raw in _FALSE:
                    labels.append(0)
                else:
                    raise ImportFormatError(str(path), reader.line_num,
                                            f"label_included must be 0 or 1, got {raw!r}")
                texts.append(record_text(row.get(names["title"]), row.get(names["abstract"])))
        except UnicodeDecodeError:
            raise ImportFormatError(str(path), None, "not UTF-8 text") from None
        except csv.Error as exc:
            raise ImportFormatError(str(path), reader.line_num, f"malformed CSV: {exc}") from None
    if not labels:
        raise ImportFormatError(str(path), None, "no records")
    return LabelledData(path=str(path), texts=texts, labels=labels)
