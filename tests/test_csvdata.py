"""The analysis commands read their CSV without pandas (issue #15, start-up) but must see what pandas saw:
the same columns, the same types, the same missing values, the same errors; and the models' label-column
helpers (``analysis._codes``) must give what the pandas calls they replace gave."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasift.analysis import _codes
from metasift.cli._csvdata import CsvData
from metasift.errors import AnalysisError

TRICKY = (
    'study,yi,vi,n,group,mixed,empty,"quoted, name",flag\n'
    'Smith 2019,0.1,0.02,10,a,1,,x,1\n'
    '"Doe, J 2020",-0.3e-1,.05,12,b,2.5,,y,NA\n'
    '\n'
    'Lee 2021,NA,0.01,,a,n/a,,"line\nbreak",0\n'
    'Kim 2022, 0.5 ,1E-2,7,NULL,text,,z,1\n'
)


def _same_column(mine: np.ndarray, theirs: pd.Series) -> bool:
    ref = theirs.to_numpy()
    if ref.dtype.kind in "iuf":
        return mine.dtype.kind == ref.dtype.kind and np.array_equal(mine, ref, equal_nan=True)
    if mine.dtype != object:
        return False
    return all((pd.isna(a) and pd.isna(b)) or a == b for a, b in zip(mine, ref, strict=True))


def test_columns_are_typed_as_pandas_types_them(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(TRICKY, encoding="utf-8")
    mine, ref = CsvData.read(path), pd.read_csv(path)
    assert mine.columns == list(ref.columns) and len(mine) == len(ref)
    for name in mine.columns:
        assert _same_column(mine.values(name), ref[name]), name


def test_a_byte_order_mark_and_short_rows_read_as_pandas_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes("\ufeffyi,vi,slab\n0.1,0.2\n0.3,0.4,b\n".encode())
    mine, ref = CsvData.read(path), pd.read_csv(path)
    assert mine.columns == list(ref.columns) == ["yi", "vi", "slab"]
    assert _same_column(mine.values("slab"), ref["slab"])


def test_a_duplicate_or_empty_header_is_renamed_as_pandas_renames_it(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("yi,yi,,vi\n1,2,3,4\n", encoding="utf-8")
    assert CsvData.read(path).columns == list(pd.read_csv(path).columns)


@pytest.mark.parametrize(("content", "what"), [
    (b"", "no columns"),
    (b"yi,vi\n1,2\n3,4,5\n", "expected 2 fields in line 3, saw 3"),
    (b"yi,vi\n\xff\xfe,1\n", "cannot read as CSV"),
])
def test_a_file_that_is_not_a_table_is_one_error_naming_it(tmp_path: Path, content: bytes, what: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(AnalysisError, match=what) as err:
        CsvData.read(path)
    assert str(path) in str(err.value)


def test_the_label_helpers_give_what_pandas_gave() -> None:
    labels = np.array(["b", "a", None, "c", "a", float("nan"), "b"], dtype=object)
    assert np.array_equal(_codes.isna(labels), pd.isna(labels))
    assert np.array_equal(_codes.isna(np.array([1.0, np.nan])), [False, True])
    assert not _codes.isna(np.array([3, 4])).any()
    present = [x for x in labels if not _codes.is_missing(x)]
    for sort in (True, False):
        codes, levels = _codes.factorize(present, sort=sort)
        ref_codes, ref_levels = pd.factorize(pd.Series(present, dtype=object), sort=sort)
        assert codes.tolist() == ref_codes.tolist() and levels == list(ref_levels)
    numbers = [10, 2, 2, 33, 10]
    assert _codes.factorize(numbers, sort=True)[1] == sorted(pd.unique(pd.Series(numbers)))
    assert _codes.counts(labels) == dict(pd.Series(list(labels)).value_counts(sort=False).items())
    assert _codes.as_text([1, 2.0, "x"]).tolist() == pd.Series([1, 2.0, "x"]).astype(str).tolist()
