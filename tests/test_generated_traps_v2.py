"""Traps v2 of the generated trial corpora (bench/make_generated_trials.py --traps v2): the truth of a drawn
paper holds only what it prints, and the default draws stay the v1 papers."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))
gen = pytest.importorskip("make_generated_trials")  # a bench script (reportlab: a dev dependency)
syn = gen.syn

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) not installed")


def build(i: int, tmp_path: Path) -> tuple[object, dict, str]:
    """Draw paper ``i`` with traps v2, build it, write its truth and read it back against the PDF."""
    p = gen.draw_paper(i, "v2")
    truth, pdf = syn.Truth(), tmp_path / f"{p.stem}.pdf"
    syn.build(p, pdf, truth)
    data = json.loads(json.dumps(syn.truth_json(p, truth, syn.page_texts(pdf))))
    assert syn.validate(pdf, data) > 0  # stops the run (SystemExit) on any value not printed where stated
    text = "\f".join(v for page in syn.page_texts(pdf) for v in page)
    return p, data, text


def test_a_subgroup_by_arm_paper_names_the_parent_arms_with_their_methods_n_and_no_baseline(tmp_path) -> None:
    p, data, text = build(6018, tmp_path)
    assert p.v2["mode"] == "arm_by_subgroup" and p.v2["span"]
    assert data["design"]["kind"] == "secondary-analysis"
    assert [a["n_randomised"]["value"] for a in data["arms"]] == [a.n for a in p.parent]
    for arm in data["arms"]:  # the n comes from the methods sentence, not from a subgroup column's header
        assert arm["n_randomised"]["quote"] in p.v2["note"] or syn.low(arm["name"]) in arm["n_randomised"]["quote"]
        assert f"(n = {arm['n_randomised']['value']})" not in text.split("Table 1")[-1]
        assert arm["n_analysed"] is None and arm["n_dropout"] is None
    assert all(b["mean"] is None and b["printed_as"] == "not reported"
               for o in data["outcomes"] for b in o["baseline"])
    assert "secondary analysis of" not in text.lower()
    columns = [a.n for a in p.arms]  # four subgroup x arm columns, none of them an arm's n
    assert len(columns) == 4 and not set(columns) & {a.n for a in p.parent}


def test_a_non_randomised_column_is_no_arm_and_its_cells_are_in_no_baseline_quote(tmp_path) -> None:
    p, data, text = build(6006, tmp_path)
    extra = p.v2["extra"]
    assert extra["arm"].name in text and f"n = {extra['arm'].n}" in text
    assert [a["name"] for a in data["arms"]] == [a.name for a in p.arms] and len(data["arms"]) == 2
    for o in data["outcomes"]:
        cells = " ".join(syn.stat_cells(p, o["label"], *extra["base"][o["label"]])[0])
        for b in o["baseline"]:
            assert b["mean"] is None or cells not in b["quote"]


def test_a_pooled_table_one_and_a_programme_evaluation_print_no_baseline_by_arm(tmp_path) -> None:
    for i in (6021, 6002):  # pooled Table 1; mixed-methods programme evaluation
        p, data, _ = build(i, tmp_path)
        assert p.v2.get("pooled") or p.v2.get("programme")
        assert all(b["mean"] is None for o in data["outcomes"] for b in o["baseline"])
        assert all(a["n_randomised"]["value"] for a in data["arms"])
    assert data["design"]["kind"] == "cluster" and len(data["arms"]) == 4
    assert all(a["n_analysed"] is None for a in data["arms"])


def test_plus_for_plus_minus_keeps_mean_and_sd_in_the_truth(tmp_path) -> None:
    p, data, text = build(6004, tmp_path)
    assert p.style == "pm_plus" and "±" not in text
    printed = [b for o in data["outcomes"] for b in o["baseline"] if b["sd"] is not None]  # not the SE rows
    assert printed and all(b["printed_as"] == "mean ± SD" and f"{b['mean']:.{p.dec}f} + {b['sd']:.{p.dec}f}"
                           in b["quote"] for b in printed)


def test_the_default_draws_are_the_v1_papers() -> None:
    for i in (6000, 6018, 6006):
        v1, v2 = gen.draw_paper(i), gen.draw_paper(i, "v2")
        assert v1.v2 == {} and v2.v2
        assert gen.draw_paper(i).title == v1.title  # seeded: the same paper on every draw
