"""The simulated model of known quality, and the whole screening system it is played through."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from metasift.errors import MetasiftError
from metasift.screener.oracle import OracleQuality, draw_verdicts
from metasift.screener.ranker import get_ranker, out_of_fold_proba
from metasift.screener.routing import RoutingPolicy
from metasift.screener.simulate_system import SystemSettings, human_stop_target, retrain_points, run_system
from tests.test_simulate import _write_csv

TOPIC = ["depression", "rodent", "forced", "swim", "antidepressant", "stress", "anhedonia", "sucrose"]
OTHER = [["cardiac", "stent", "artery", "angina", "infarct", "statin", "troponin", "valve"],
         ["asthma", "inhaler", "wheeze", "airway", "spirometry", "allergen", "bronchial", "steroid"]]
FILLER = ["study", "results", "patients", "group", "effect", "method", "trial", "data", "analysis", "outcome"]


def hard_set(n: int = 400, n_included: int = 80, hard: float = 0.3, seed: int = 1) -> tuple[list[str], list[int]]:
    """Includes mostly on one topic, but a share ``hard`` of them written like excludes: the ranker misses those,
    so only the model's verdict can keep them from automated exclusion."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(n, dtype=int)
    labels[rng.choice(n, n_included, replace=False)] = 1
    texts = []
    for y in labels:
        topic = TOPIC if y and rng.random() >= hard else OTHER[rng.integers(2)]
        words = [*rng.choice(topic, 5), *rng.choice(FILLER, 8)]
        rng.shuffle(words)
        texts.append(" ".join(words))
    return texts, labels.tolist()


@pytest.fixture(scope="module")
def labelled() -> tuple[list[str], list[int]]:
    return hard_set()


def settings(**kw) -> SystemSettings:
    # a small set: calibration at 0.8 / 90 % needs 11 sample includes (the sample of 200 holds ~40)
    kw.setdefault("routing", RoutingPolicy(target_recall=0.8))
    return SystemSettings(target_recall=0.7, confidence=0.9, sample_size=200, **kw)


# -- the simulated model ------------------------------------------------------------------------------------
def test_a_simulated_model_errs_at_its_stated_rates_within_binomial_tolerance() -> None:
    y = np.r_[np.ones(4000, dtype=int), np.zeros(16000, dtype=int)]
    for cal in ("good", "overconfident"):
        v = draw_verdicts(y, OracleQuality(sensitivity=0.9, specificity=0.8, calibration=cal), seed=3)
        inc = np.array(v.include)
        for rate, hits, n in ((0.9, inc[y == 1].sum(), 4000), (0.8, (~inc[y == 0]).sum(), 16000)):
            assert abs(hits / n - rate) < 4 * np.sqrt(rate * (1 - rate) / n)  # 4 standard errors
    again = draw_verdicts(y, OracleQuality(sensitivity=0.9, specificity=0.8), seed=3)
    other = draw_verdicts(y, OracleQuality(sensitivity=0.9, specificity=0.8), seed=4)
    assert again == draw_verdicts(y, OracleQuality(sensitivity=0.9, specificity=0.8), seed=3) and again != other


def test_a_well_calibrated_model_is_right_as_often_as_it_says_and_an_overconfident_one_is_not() -> None:
    y = np.r_[np.ones(6000, dtype=int), np.zeros(24000, dtype=int)]
    good = draw_verdicts(y, OracleQuality(sensitivity=0.8, specificity=0.6), seed=0)
    conf, right = np.array(good.confidence), np.array(good.include) == (y == 1)
    for lo in (0.2, 0.4, 0.6, 0.8):  # within confidence bins, the share right matches the confidence
        b = (conf >= lo) & (conf < lo + 0.2)
        assert b.sum() > 1000 and abs(right[b].mean() - conf[b].mean()) < 0.03
    over = draw_verdicts(y, OracleQuality(sensitivity=0.8, specificity=0.6, calibration="overconfident"), seed=0)
    conf, right = np.array(over.confidence), np.array(over.include) == (y == 1)
    assert conf.mean() > 0.93 and right.mean() < 0.7  # claims 95 %, is right two times in three
    assert abs(conf[right].mean() - conf[~right].mean()) < 0.01  # and the confidence tells nothing


def test_the_oracle_option_reads_both_rates_and_refuses_anything_else() -> None:
    q = OracleQuality.parse("sens=0.90, spec=0.8", "overconfident")
    assert (q.sensitivity, q.specificity, q.calibration) == (0.9, 0.8, "overconfident")
    for bad in ("sens=0.9", "sens=1.5,spec=0.8", "sensitivity:0.9,spec=0.8"):
        with pytest.raises(MetasiftError):
            OracleQuality.parse(bad)
    with pytest.raises(MetasiftError):
        OracleQuality.parse("sens=0.9,spec=0.8", "humble")


# -- the system --------------------------------------------------------------------------------------------
def test_a_good_model_saves_work_and_the_review_keeps_its_recall(labelled) -> None:
    texts, labels = labelled
    res = run_system(texts, labels, OracleQuality(sensitivity=0.97, specificity=0.9), seed=0, settings=settings())
    assert res.automation and res.auto_excluded > 50 and not res.warnings
    assert res.sample_size == 200 and res.human_workload == 200 + res.screened
    assert res.final_recall >= 0.7 and res.bound_held
    assert res.work_saved == pytest.approx(1 - res.human_workload / 400)
    assert res.final_recall == res.found / sum(labels) and res.found >= res.sample_includes
    assert res.human_target == pytest.approx(0.7 / res.automation_recall_lower)


def test_a_bad_model_on_hand_set_thresholds_is_warned_about_before_the_queue(labelled) -> None:
    texts, labels = labelled
    hand_set = RoutingPolicy(target_recall=0.8, llm_exclude_confidence=0.8, ranker_exclude_probability=0.5)
    bad = OracleQuality(sensitivity=0.3, specificity=0.9, calibration="overconfident")
    res = run_system(texts, labels, bad, seed=0, settings=settings(policy="fixed", routing=hand_set))
    assert res.includes_auto_excluded >= 10 and res.automation_recall < 0.8  # the danger is real
    assert any("not certified" in w for w in res.warnings)
    good = run_system(texts, labels, OracleQuality(sensitivity=0.97, specificity=0.9), seed=0,
                      settings=settings(policy="fixed", routing=hand_set))
    assert not good.warnings and good.automation_recall >= 0.8
    calibrated = run_system(texts, labels, bad, seed=0, settings=settings(routing=hand_set))  # reined in
    assert calibrated.includes_auto_excluded < res.includes_auto_excluded and calibrated.final_recall >= 0.7


def test_without_enough_sample_includes_the_automation_stays_off_and_says_why(labelled) -> None:
    texts, labels = labelled
    res = run_system(texts, labels, OracleQuality(sensitivity=0.99, specificity=0.99), seed=0,
                     settings=SystemSettings(sample_size=100))  # 0.98 needs 149 includes
    assert not res.automation and res.auto_excluded == 0 and res.bound_held is None
    assert any("calibration refused" in n for n in res.notes) and not res.warnings
    assert res.queue == 300 and res.human_target == 0.95


def test_the_stop_target_shares_the_final_target_with_the_automation() -> None:
    assert human_stop_target(0.95, 0.98) == pytest.approx(0.9693877551)
    assert human_stop_target(0.95, 1.0) == 0.95 and human_stop_target(0.95, 0.0) == float("inf")
    assert sorted(retrain_points([10, 50], 200)) == [10, 30, 70, 120, 170]  # the review app's schedule


def test_out_of_fold_probabilities_do_not_know_the_record_they_score() -> None:
    texts, labels = hard_set(n=200, n_included=40, hard=0.0, seed=2)
    texts[0], labels[0] = "quokka wombat numbat bilby", 1  # an include like no other record
    for name, params in (("svm", None), ("logistic", {"min_df": 1})):  # Platt's margins; refitted folds
        model = get_ranker(name, feature_params=params)
        model.prepare(texts)
        X = model.vectorize(texts)
        oof = out_of_fold_proba(model, X, labels)
        in_sample = model.fit_vectors(X, labels).predict_proba_vectors(X)
        # trained on it, the model knows its words; without it, it does not (other includes it still finds)
        assert in_sample[0] > 0.8 and oof[0] < 0.3
        assert np.mean([p for p, y in zip(oof[1:], labels[1:]) if y]) > 0.8


def test_simulate_with_an_oracle_prints_the_review_and_its_warnings(cli, tmp_path: Path, labelled) -> None:
    texts, labels = labelled
    path = _write_csv(tmp_path / "set.csv", texts, labels)
    # review.toml's thresholds on a sample of ~40 includes: far too few to certify recall 0.98
    res = cli("simulate", path, "--llm-oracle", "sens=0.3,spec=0.9", "--confidence-calibration", "overconfident",
              "--policy", "fixed", "--sample", "200", "--json")
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["warnings"] and "not certified" in res.stderr and "cannot be promised" in res.stderr
    assert 0 < out["final_recall"] <= 1 and out["sample_size"] == 200
    table = cli("simulate", path, "--llm-oracle", "sens=0.97,spec=0.9", "--routing-target", "0.8",
                "--target-recall", "0.7", "--confidence", "0.9", "--sample", "200")
    assert table.exit_code == 0 and "final recall" in table.stdout and "warning" not in table.stderr
    bad = cli("simulate", path, "--llm-oracle", "sens=0.9")
    assert bad.exit_code != 0 and "spec" in bad.stderr


def test_outside_records_can_be_scored_by_the_same_fold_models_as_the_sample() -> None:
    from sklearn.model_selection import StratifiedKFold

    from metasift.screener.platt import platt_proba
    from metasift.screener.simulate_system import fold_model_proba

    texts, labels = hard_set(n=300, n_included=60, hard=0.2, seed=3)
    y = np.asarray(labels)
    model = get_ranker("svm", seed=5)
    model.prepare(texts)
    X = model.vectorize(texts)
    sample, rest = np.arange(0, 200), np.arange(200, 300)
    oof = out_of_fold_proba(model, X[sample], y[sample])
    a, b = model._sigmoid()
    # the fold models, rebuilt on the same stratified folds, give the sample its out-of-fold probabilities
    per_fold = []
    for train, test in StratifiedKFold(5, shuffle=True, random_state=5).split(np.zeros(200), y[sample]):
        fold = get_ranker("svm", seed=5).fit_vectors(X[sample][train], y[sample][train])
        assert np.allclose(platt_proba(fold.score_vectors(X[sample][test]), a, b), oof[test], atol=1e-12)
        per_fold.append(platt_proba(fold.score_vectors(X[rest]), a, b))
    options = np.array(per_fold)
    crossed = fold_model_proba(model, "svm", X[sample], y[sample], X[rest], 5, "cross_fit")
    mean = fold_model_proba(model, "svm", X[sample], y[sample], X[rest], 5, "fold_mean")
    # cross-fit: every outside record scored by one of those models, and not always the same one
    picked = np.argmin(np.abs(options - crossed), axis=0)
    assert np.allclose(options[picked, np.arange(100)], crossed, atol=1e-12) and len(set(picked)) == 5
    # fold mean: the mean margin through the sigmoid, between the folds' extremes
    assert np.all((mean >= options.min(axis=0) - 1e-12) & (mean <= options.max(axis=0) + 1e-12))
    assert not np.allclose(crossed, model.predict_proba_vectors(X[rest]))


def test_the_run_promises_the_realised_bound_and_checks_exactly_that(labelled) -> None:
    texts, labels = labelled
    q = OracleQuality(sensitivity=0.9, specificity=0.9)
    realised = run_system(texts, labels, q, seed=1, settings=settings())
    rate = run_system(texts, labels, q, seed=1, settings=settings(bound="rate"))
    assert realised.bound == "realised" and rate.bound == "rate" and realised.automation
    assert realised.bound_held == (realised.automation_recall >= realised.automation_recall_lower - 1e-12)
    assert realised.target_held == (realised.automation_recall >= 0.8 - 1e-12)
    # the realised bound pays for not knowing the outside records: it is lower than the rate bound
    assert realised.automation_recall_lower < rate.automation_recall_lower
    assert realised.human_target == pytest.approx(0.7 / realised.automation_recall_lower)
    crossed = run_system(texts, labels, q, seed=1, settings=settings(outside_scores="cross_fit"))
    assert crossed.policy == realised.policy  # calibration sees the same sample scores either way
