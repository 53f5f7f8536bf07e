"""The analysis commands' input CSV, read with the standard library as pandas' ``read_csv`` would type it.

Why not pandas: importing it takes about 0.35 s, over half of a whole ``metasift meta`` on 1,000 effect
sizes (issue #15 asks for < 0.6 s; the fit takes 3 ms). The commands only need named columns as numbers or
labels, so the file is read with ``csv`` and each column typed as pandas types it (integers, floats, else
text; pandas' missing-value markers). ``frame()`` gives the pandas DataFrame for the paths that need one
(moderator tables, the effect-size writer): read by pandas itself, so those paths behave as before.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import numpy as np

from metasift.errors import AnalysisError

# pandas.read_csv's default missing-value markers.
NA_MARKERS = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                        "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})
_INT = re.compile(r"\s*[+-]?\d+\s*")
_FLOAT = re.compile(r"\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity)\s*", re.IGNORECASE)


def number(text: str) -> float | None:
    """The cell as a float when pandas would read it as one, else None (no Python-only forms like 1_000)."""
    return float(text) if _FLOAT.fullmatch(text) else None


class CsvData:
    """A CSV's header and cells (``None`` for a missing one), columns typed on demand."""

    def __init__(self, path: Path, columns: list[str], cells: list[list[str | None]]) -> None:
        self.path = path
        self.columns = columns
        self._cells = cells
        self._typed: dict[str, np.ndarray] = {}

    @classmethod
    def read(cls, path: Path) -> CsvData:
        """Read ``path``; a file that is not a CSV table is an AnalysisError naming it (and the line)."""
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise AnalysisError(f"{path}: cannot read as CSV ({exc})") from None
        reader = csv.reader(io.StringIO(text, newline=""))
        rows: list[list[str]] = []
        try:
            header = next((r for r in reader if r), None)
            if header is None:
                raise AnalysisError(f"{path}: cannot read as CSV (no columns to parse from file)")
            for row in reader:
                if not row:
                    continue  # pandas skips blank lines
                if len(row) > len(header):
                    raise AnalysisError(f"{path}: cannot read as CSV (expected {len(header)} fields in line "
                                        f"{reader.line_num}, saw {len(row)})")
                rows.append(row + [""] * (len(header) - len(row)))
        except csv.Error as exc:
            raise AnalysisError(f"{path}: cannot read as CSV (line {reader.line_num}: {exc})") from None
        names = _unique_names(header)
        cells = [[None if cell in NA_MARKERS else cell for cell in col] for col in zip(*rows, strict=True)] \
            if rows else [[] for _ in names]
        return cls(path, names, cells)

    def __len__(self) -> int:
        return len(self._cells[0]) if self._cells else 0

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def values(self, name: str) -> np.ndarray:
        """Column ``name`` typed as pandas types it: int64, float64 (NaN for missing) or object text."""
        if name not in self._typed:
            self._typed[name] = _typed(self._cells[self.columns.index(name)])
        return self._typed[name]

    def frame(self) -> Any:
        """The whole table as a pandas DataFrame (pandas imported here, for the paths that need it)."""
        import pandas as pd

        return pd.read_csv(self.path)


def _typed(cells: list[str | None]) -> np.ndarray:
    present = [c for c in cells if c is not None]
    if present and all(_INT.fullmatch(c) for c in present):
        if len(present) == len(cells):
            return np.array([int(c) for c in present], dtype=np.int64)
        return np.array([np.nan if c is None else float(c) for c in cells])
    if present and all(number(c) is not None for c in present):
        return np.array([np.nan if c is None else float(c) for c in cells])
    if not present:
        return np.full(len(cells), np.nan)
    return np.array([np.nan if c is None else c for c in cells], dtype=object)


def _unique_names(names: list[str]) -> list[str]:
    """pandas' duplicate-column renaming: a second ``x`` becomes ``x.1``; an empty name ``Unnamed: i``."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        name = name or f"Unnamed: {i}"
        base = name
        while name in seen:
            seen[base] += 1
            name = f"{base}.{seen[base]}"
        seen.setdefault(name, 0)
        out.append(name)
    return out
