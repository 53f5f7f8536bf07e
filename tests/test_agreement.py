"""Agreement statistics against statsmodels and published worked examples; the agreement command."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa as sm_kappa
from statsmodels.stats.proportion import proportion_confint

from metasift.eval.agreement import agreement, cohen_kappa, gwet_ac1, pabak, table_2x2, wilson_ci
from metasift.records import Record
from metasift.store import Store

TA = "title_abstract"


@pytest.mark.parametrize("table", [[[20, 5], [10, 15]], [[1, 9], [4, 86]], [[45, 15], [25, 15]],
                                   [[0, 3], [2, 95]], [[50, 0], [0, 50]], [[3, 40], [41, 2]]])
def test_kappa_and_ci_match_statsmodels(table: list[list[int]]) -> None:
    k, se, ci = cohen_kappa(table)
    ref = sm_kappa(np.array(table))
    assert k == pytest.approx(ref.kappa, abs=1e-12)
    assert se == pytest.approx(ref.std_kappa, abs=1e-12)
    assert ci == pytest.approx((ref.kappa_low, ref.kappa_upp), abs=1e-12)


def test_kappa_matches_random_tables_from_statsmodels() -> None:
    rng = random.Random(3)
    for _ in range(50):
        table = [[rng.randint(0, 60), rng.randint(0, 30)], [rng.randint(0, 30), rng.randint(1, 60)]]
        table[0][0] += 1
        k, se, _ci = cohen_kappa(table)
        ref = sm_kappa(np.array(table))
        assert (k, se) == pytest.approx((ref.kappa, ref.std_kappa), abs=1e-12)


def test_kappa_published_worked_examples() -> None:
    # Stata `kapci` (analytical CI, Fleiss, Cohen & Everitt 1969), Statalist 2009-12 msg00320: N = 1932
    k, se, ci = cohen_kappa([[1395, 118], [261, 158]])
    assert k == pytest.approx(0.3411969207847029, abs=1e-12)
    assert se == pytest.approx(0.0262913719660408, abs=1e-12)
    assert ci == pytest.approx((0.2896667786271169, 0.3927270629422889), abs=1e-9)
    # statpsych::ci.kappa(.05, f00=31, f01=12, f10=4, f11=58) (Bonett; Fleiss & Paik 2003): Cohen's kappa row
    k, se, ci = cohen_kappa([[58, 4], [12, 31]])  # rows/cols: include first
    assert (k, se) == pytest.approx((0.6756757, 0.07344761), abs=1e-7)
    assert ci == pytest.approx((0.5317210, 0.8196303), abs=1e-7)


def test_wilson_matches_statsmodels_and_newcombe_1998() -> None:
    for k, n in [(0, 1), (1, 1), (3, 7), (50, 100), (99, 100), (0, 250), (17, 1000)]:
        assert wilson_ci(k, n) == pytest.approx(proportion_confint(k, n, method="wilson"), abs=1e-12)
    # Newcombe (1998) Stat Med 17:857, Table I, method 3 (Wilson score)
    for (k, n), (lo, hi) in {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605),
                             (0, 20): (0.0, 0.1611), (1, 29): (0.0061, 0.1718), (29, 29): (0.8830, 1.0)}.items():
        assert wilson_ci(k, n) == pytest.approx((lo, hi), abs=5e-5)
    assert wilson_ci(0, 0) is None


def test_pabak_ac1_and_undefined_cases() -> None:
    t = [[20, 5], [10, 15]]  # po = .70; pi = (25/50 + 30/50)/2 = .55; pe(AC1) = 2·.55·.45 = .495
    assert pabak(t) == pytest.approx(0.4)
    assert gwet_ac1(t) == pytest.approx((0.7 - 0.495) / (1 - 0.495))
    assert cohen_kappa([[10, 0], [0, 0]]) == (None, None, None)  # one label only: kappa undefined
    k, se, ci = cohen_kappa([[40, 1], [0, 9]])  # near-perfect agreement: the Wald interval would pass 1
    assert k + 1.96 * se > 1 and ci[1] == 1.0 and ci[0] == pytest.approx(k - 1.959964 * se, rel=1e-6)
    assert gwet_ac1([[10, 0], [0, 0]]) == pytest.approx(1.0)  # AC1 stays defined
    assert agreement([], []).model_dump()["kappa"] is None
    assert table_2x2([True, True, False], [True, False, False]) == [[1, 1], [0, 1]]
    with pytest.raises(ValueError):
        table_2x2([True], [])


def test_accuracy_against_a_reference() -> None:
    test = [True] * 8 + [False] * 2 + [True] * 3 + [False] * 87   # tp 8, fn 2, fp 3, tn 87
    truth = [True] * 10 + [False] * 90
    r = agreement(test, truth, b_is_reference=True)
    assert r.table == [[8, 3], [2, 87]]
    assert (r.sensitivity.k, r.sensitivity.n, r.sensitivity.estimate) == (8, 10, 0.8)
    assert r.specificity.estimate == pytest.approx(87 / 90)
    assert r.precision.estimate == pytest.approx(8 / 11)
    assert r.npv.estimate == pytest.approx(87 / 89)
    assert r.sensitivity.ci == pytest.approx(proportion_confint(8, 10, method="wilson"))
    assert agreement(test, truth).sensitivity is None


# -- the command --------------------------------------------------------------------------------------------------
def _labelled_project(project: Path) -> Store:
    store = Store.open(project)
    recs = [Record(title=f"Record {i}", year=2015) for i in range(40)]
    store.add_import(path=project / "x.ris", sha256="f" * 64, source="Test", fmt="ris", layout=None,
                     encoding="utf-8", warnings=[], records=recs)
    rng = random.Random(11)
    for rid in range(1, 41):
        truth = rid % 4 == 0
        a = truth if rng.random() < 0.85 else not truth
        b = truth if rng.random() < 0.85 else not truth
        for who, lab in (("alice", a), ("bob", b)):
            store.add_decision(record_id=rid, stage=TA, decider_kind="human", decider=who,
                               label="include" if lab else "exclude",
                               reasons=None if lab else ["design_rct"])
        if a != b:
            store.add_decision(record_id=rid, stage=TA, decider_kind="consensus", decider="carol",
                               label="include" if truth else "exclude", reasons=None if truth else ["design_rct"])
        m = truth if rng.random() < 0.9 else not truth
        store.add_decision(record_id=rid, stage=TA, decider_kind="model", decider="gpt", confidence=0.8,
                           label="include" if m else "exclude",
                           criteria=[{"id": "design_rct", "verdict": "met" if m else "not_met", "quote": "",
                                      "reason": ""}])
    return store


def test_agreement_command_humans_json(project: Path, cli) -> None:
    store = _labelled_project(project)
    ds = store.decisions(TA)
    res = cli("agreement", "--project", project, "--json")
    assert res.exit_code == 0, res.stderr
    out = res.json()
    assert {"n", "table", "percent_agreement", "kappa", "kappa_ci", "pabak", "ac1"} <= set(out)
    assert "sensitivity" not in out  # two humans: no reference
    alice = {d.record_id: d.label == "include" for d in ds if d.decider == "alice"}
    bob = {d.record_id: d.label == "include" for d in ds if d.decider == "bob"}
    ref = sm_kappa(np.array(table_2x2([alice[r] for r in sorted(alice)], [bob[r] for r in sorted(alice)])))
    assert out["n"] == 40 and out["kappa"] == pytest.approx(ref.kappa)
    assert out["kappa_ci"] == pytest.approx([max(ref.kappa_low, -1), min(ref.kappa_upp, 1)])


def test_agreement_command_model_vs_consensus(project: Path, cli, tmp_path: Path) -> None:
    _labelled_project(project)
    png = tmp_path / "agreement.png"
    res = cli("agreement", "--project", project, "--a", "consensus", "--b", "model", "--json", "--plot", png)
    assert res.exit_code == 0, res.stderr
    out = res.json()
    assert out["reference"] == "consensus" and out["a"] == "model"  # the truth goes to the columns
    for key in ("sensitivity", "specificity", "precision", "npv"):
        assert set(out[key]) == {"k", "n", "estimate", "ci"}
    (tp, _fp), (fn, tn) = out["table"]
    assert out["sensitivity"]["estimate"] == pytest.approx(tp / (tp + fn))
    assert out["rule_criteria_left_out"] == ["published_after_2005", "primary_report"]
    assert not set(out["rule_criteria_left_out"]) & set(out["per_criterion"])  # no reviewer judges a rule
    crit = out["per_criterion"]["design_rct"]
    assert crit["n"] == 40 and crit["table"][0][0] == tn  # criterion not met ⇔ excluded for design here
    assert png.stat().st_size > 10_000
    text = cli("agreement", "--project", project, "--a", "model", "--b", "consensus")
    assert text.exit_code == 0 and "sensitivity" in text.stdout and "design_rct" in text.stdout


def test_agreement_command_errors(project: Path, cli) -> None:
    _labelled_project(project)
    bad = cli("agreement", "--project", project, "--a", "robot", "--b", "model")
    assert bad.exit_code == 2 and "human:NAME" in bad.stderr
    half = cli("agreement", "--project", project, "--a", "model")
    assert half.exit_code == 2 and "both --a and --b" in half.stderr
