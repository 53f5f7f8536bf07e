"""metasift effect-size (#18): inputs that give no effect size are named by row and study, never ±inf."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasift.analysis import effect_sizes as es
from metasift.errors import AnalysisError

SMD = ("--measure", "SMD", "--m1", "m1", "--sd1", "sd1", "--n1", "n1", "--m2", "m2", "--sd2", "sd2", "--n2", "n2")
RR = ("--measure", "RR", "--ai", "ai", "--n1", "n1", "--ci", "ci", "--n2", "n2")


def _said(text: str) -> str:
    """stderr with rich's line wrapping undone."""
    return " ".join(text.split())


def _csv(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / "in.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _smd_row(study: str, sd1: float = 2.0, sd2: float = 2.0, **kw: object) -> dict[str, object]:
    return {"study": study, "m1": 10.0, "sd1": sd1, "n1": 20, "m2": 8.0, "sd2": sd2, "n2": 20, **kw}


def _rr_row(study: str, ai: int, n1: int, ci: int, n2: int) -> dict[str, object]:
    return {"study": study, "ai": ai, "n1": n1, "ci": ci, "n2": n2}


def test_smd_with_both_sds_zero_is_left_out_with_a_warning_naming_row_and_study(cli, tmp_path: Path) -> None:
    src = _csv(tmp_path, [_smd_row("Able 2001"), _smd_row("Baker 2003", sd1=0.0, sd2=0.0), _smd_row("Cole 2005")])
    out = tmp_path / "out.csv"
    res = cli("effect-size", src, *SMD, "--out", out, "--json")
    assert res.exit_code == 0, res.stderr
    got = pd.read_csv(out)
    assert np.isfinite(got["yi"][[0, 2]]).all() and got["yi"].isna()[1] and got["vi"].isna()[1]
    assert "inf" not in out.read_text().lower()
    assert "data row 2" in _said(res.stderr) and "Baker 2003" in _said(res.stderr) and "pooled SD is 0" in _said(res.stderr)
    report = res.json()
    assert report["computed"] == 2
    assert report["left_out"] == [{"row": 2, "line": 3, "study": "Baker 2003",
                                   "why": report["left_out"][0]["why"]}]


def test_a_missing_input_is_named_in_the_warning(cli, tmp_path: Path) -> None:
    src = _csv(tmp_path, [_smd_row("Able 2001"), _smd_row("Baker 2003", sd2=np.nan)])
    res = cli("effect-size", src, *SMD, "--out", tmp_path / "out.csv")
    assert res.exit_code == 0, res.stderr
    assert "data row 2" in _said(res.stderr) and "Baker 2003" in _said(res.stderr) and "sd2 is missing" in _said(res.stderr)


def test_rr_with_a_group_of_size_zero_is_an_error_naming_row_and_study(cli, tmp_path: Path) -> None:
    src = _csv(tmp_path, [_rr_row("Able 2001", 3, 30, 5, 30), _rr_row("Empty arm 2004", 0, 0, 4, 25)])
    out = tmp_path / "out.csv"
    res = cli("effect-size", src, *RR, "--out", out)
    assert res.exit_code == 5
    assert "no participants" in _said(res.stderr) and "data row 2" in _said(res.stderr) and "Empty arm 2004" in _said(res.stderr)
    assert not out.exists()


def test_rr_with_more_events_than_participants_is_an_error_naming_row_and_study(cli, tmp_path: Path) -> None:
    src = _csv(tmp_path, [_rr_row("Able 2001", 3, 30, 5, 30), _rr_row("Typo 2009", 3, 30, 50, 30)])
    res = cli("effect-size", src, *RR, "--out", tmp_path / "out.csv")
    assert res.exit_code == 5
    assert "exceed" in _said(res.stderr) and "data row 2" in _said(res.stderr) and "Typo 2009" in _said(res.stderr)
    assert "Able 2001" not in res.stderr


def test_negative_counts_are_an_error_naming_row_and_study(cli, tmp_path: Path) -> None:
    src = _csv(tmp_path, [_rr_row("Able 2001", 3, 30, 5, 30), _rr_row("Minus 2010", -2, 30, 5, 30)])
    res = cli("effect-size", src, *RR, "--out", tmp_path / "out.csv")
    assert res.exit_code == 5
    assert "negative" in _said(res.stderr) and "data row 2" in _said(res.stderr) and "Minus 2010" in _said(res.stderr)


def test_a_negative_sd_names_the_row_and_the_slab_column(cli, tmp_path: Path) -> None:
    rows = [_smd_row("x", author="Able"), _smd_row("y", author="Baker"), _smd_row("z", sd1=-1.0, author="Cole")]
    res = cli("effect-size", _csv(tmp_path, rows), *SMD, "--slab", "author", "--out", tmp_path / "out.csv")
    assert res.exit_code == 5
    assert "must not be negative" in _said(res.stderr) and "data row 3 (line 4, study 'Cole')" in _said(res.stderr)


def test_effect_size_output_neutralises_formula_labels_and_keeps_negative_numbers(cli, tmp_path: Path) -> None:
    src = _csv(tmp_path, [_smd_row('=HYPERLINK("http://evil.example","x")', m1=-0.37), _smd_row("-Plain 2001")])
    out = tmp_path / "out.csv"
    assert cli("effect-size", src, *SMD, "--out", out).exit_code == 0
    got = pd.read_csv(out)
    assert got["study"].tolist() == ['\'=HYPERLINK("http://evil.example","x")', "'-Plain 2001"]
    assert got["m1"][0] == -0.37 and got["yi"][0] < 0  # numbers stay numbers, unprefixed
    assert out.read_text().splitlines()[1].split(",")[-2].startswith("-")


@pytest.mark.parametrize("call, why", [
    (lambda: es.smd([1, 1], [1, 0], [10, 10], [0, 0], [1, 0], [10, 10]), "pooled SD is 0"),
    (lambda: es.smd([1, 1], [1, 1], [10, 1], [0, 0], [1, 1], [10, 1]), "at least 3"),
    (lambda: es.smcr([1, 1], [0, 0], [1, 0], 0.5, [10, 10]), "pre-test SD is 0"),
    (lambda: es.smcc([1, 1], [0, 0], [1, 1], [1, 1], [0.5, 1.0], [10, 10]), "SD of the change is 0"),
    (lambda: es.smd_prepost([1, 1], [0, 0], [1, 0], [10, 10], [1, 1], [0, 0], [1, 1], [10, 10], 0.5),
     "group 1: the pre-test SD is 0"),
])
def test_degenerate_rows_are_nan_with_a_reason_never_inf(call, why: str) -> None:
    res = call()
    assert np.isfinite(res.yi[0]) and np.isfinite(res.vi[0]) and res.why[0] == ""
    assert np.isnan(res.yi[1]) and np.isnan(res.vi[1]) and why in res.why[1]


def test_impossible_inputs_carry_the_rows_at_fault() -> None:
    with pytest.raises(es.InvalidInput) as err:
        es.log_rr([1, 0, 2], [9, 0, 8], [1, 1, 1], [9, 9, 9])
    assert err.value.rows == [1] and isinstance(err.value, AnalysisError)
    with pytest.raises(es.InvalidInput) as err:
        es.counts_from_n([1, 5, 12], [10, 10, 10], [1, 1, 1], [10, 10, 10])
    assert err.value.rows == [2] and "input row 3" in str(err.value)
