"""Full-text eligibility and effect sizes read the protocol's outcomes (issue #12).

Baseline balance is judged on the outcome's baseline, not on age or lab values; item counts come from a
known instrument or an explicit "N-item" phrase, never from a number in a name like "factor-15"; a gate
without a usable number sends the study to a human; ``effects`` says why every study was left out.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from metasift.config import OutcomeSpec, example_protocol_text, parse_protocol
from metasift.extractor.checks import items_of
from metasift.extractor.eligibility import facts
from metasift.extractor.eligibility_stage import evaluate
from metasift.extractor.outcomes import match_outcome
from metasift.extractor.pipeline import study_result
from metasift.kinds import ExtractionStatus
from metasift.records import Record
from metasift.store.rows import ExtractionRow
from tests.helpers import extraction_row, seed_store

DRAFT = parse_protocol(example_protocol_text())  # the starter protocol, not yet confirmed
PROTOCOL = parse_protocol(example_protocol_text().replace("draft = true", "draft = false"))
ARMS = ("Intervention", "Control")
Pair = tuple[tuple[float, float], tuple[float, float]]  # (mean, SD) of the intervention arm, of the control arm


def _values(*, n: tuple[int, int] = (60, 60), dropout: tuple[int, int] = (5, 5),
            baseline: dict[str, Pair] | None = None, post: dict[str, Pair] | None = None) -> list[dict[str, Any]]:
    """Extraction rows as the store takes them for a two-arm trial (all auto-verified)."""
    rows: list[dict[str, Any]] = []

    def add(field: str, value: float, arm: str, measure: str | None = None, timepoint: str | None = None) -> None:
        rows.append({"field": field, "arm": arm, "measure": measure, "timepoint": timepoint, "value": value,
                     "page": 1, "quote": "", "status": "auto_verified", "reason": None})

    for k, arm in enumerate(ARMS):
        add("n_randomised", n[k], arm)
        add("n_analysed", n[k] - dropout[k], arm)
        add("n_dropout", dropout[k], arm)
        for measure, pair in (baseline or {}).items():
            add("baseline_mean", pair[k][0], arm, measure, "baseline")
            add("baseline_sd", pair[k][1], arm, measure, "baseline")
            add("baseline_n", n[k], arm, measure, "baseline")
        for measure, pair in (post or {}).items():
            add("outcome_mean", pair[k][0], arm, measure, "post")
            add("outcome_sd", pair[k][1], arm, measure, "post")
            add("outcome_n", n[k] - dropout[k], arm, measure, "post")
    return rows


def _rows(**values: Any) -> list[ExtractionRow]:
    """``_values`` as the store returns them (``Store.extractions``), for the rules that read a study's rows."""
    return [extraction_row(i, **v) for i, v in enumerate(_values(**values), start=1)]


def _criterion(verdict: Any, cid: str) -> dict[str, Any]:
    return next(c for c in verdict.criteria if c["id"] == cid)


PHQ_BALANCED: Pair = ((10.0, 4.0), (10.2, 4.0))
PHQ_POST: Pair = ((7.0, 4.0), (9.0, 4.2))
AGE_IMBALANCED: Pair = ((25.0, 4.0), (28.0, 4.0))  # 0.75 SD


# ------------------------------------------------------------------ the matcher

@pytest.mark.parametrize(("measure", "outcome", "instrument"), [
    ("PHQ-9 score", "depression", "PHQ-9"),
    ("phq9", "depression", "PHQ-9"),
    ("Patient Health Questionnaire-9", "depression", "PHQ-9"),
    ("Beck Depression Inventory-II", "depression", "BDI-II"),
    ("DASS-21 (depression subscale)", "depression", "DASS-21 depression"),
    ("Depression (HADS)", "depression", "HADS-D"),
    ("HADS-A", "anxiety", "HADS-A"),
    ("Generalized Anxiety Disorder-7", "anxiety", "GAD-7"),
    ("State-Trait Anxiety Inventory", "anxiety", "STAI"),
    ("Perceived Stress Scale (PSS-10)", "stress", "PSS-10"),
    ("Center for Epidemiologic Studies Depression Scale", "depression", "CES-D"),
    ("Edinburgh Postnatal Depression Scale", "depression", "EPDS"),
])
def test_a_measure_as_papers_print_it_matches_its_protocol_outcome(measure: str, outcome: str,
                                                                   instrument: str) -> None:
    match = match_outcome(measure, PROTOCOL.outcomes)
    assert match is not None and (match.outcome_id, match.instrument) == (outcome, instrument)


@pytest.mark.parametrize("measure", ["Age, mean (SD), y", "HbA1c (%)", "Growth differentiation factor-15, pg/mL",
                                     "sustained attention", "HADS", "DASS-21", "Body weight, kg"])
def test_age_lab_values_and_unspecific_totals_match_no_outcome(measure: str) -> None:
    assert match_outcome(measure, PROTOCOL.outcomes) is None


def test_an_item_count_comes_from_a_known_instrument_or_an_explicit_phrase_only() -> None:
    assert items_of("Growth differentiation factor-15, pg/mL") is None
    assert items_of("IL-6 (pg/mL)") is None and items_of("Galectin-3, ng/mL") is None
    assert items_of("PHQ-9 score") == 9 and items_of("Patient Health Questionnaire-9") == 9
    assert items_of("Beck Depression Inventory-II") == 21 and items_of("Depression (HADS)") == 7
    assert items_of("a 12-item wellbeing scale") == 12 and items_of("single-item mood rating") == 1


# ------------------------------------------------------------------ the gates

def test_age_imbalance_does_not_fail_baseline_balance_when_the_phq9_is_balanced() -> None:
    rows = _rows(baseline={"Age, years": AGE_IMBALANCED, "PHQ-9 score": PHQ_BALANCED}, post={"PHQ-9": PHQ_POST})
    verdict = evaluate(PROTOCOL, rows)
    balance = _criterion(verdict, "baseline_balance")
    assert balance["verdict"] == "met" and verdict.label == "pass"
    assert "Depression (PHQ-9): PHQ-9 score: |10 - 10.2|" in balance["reason"] and "Age" not in balance["reason"]


def test_without_protocol_outcomes_only_known_instruments_count_at_baseline() -> None:
    result = study_result(_rows(baseline={"Age, years": AGE_IMBALANCED, "PHQ-9 score": PHQ_BALANCED}))
    fact = facts(result, [])["baseline_diff_sd"]
    assert fact.value == pytest.approx(0.2 / 4.0) and "PHQ-9" in fact.why


def test_an_imbalanced_outcome_baseline_still_excludes_with_its_numbers() -> None:
    rows = _rows(baseline={"PHQ-9 score": ((10.0, 4.0), (12.0, 4.0))}, post={"PHQ-9": PHQ_POST})
    verdict = evaluate(PROTOCOL, rows)
    assert verdict.label == "exclude" and verdict.failed == ["baseline_balance"]
    assert "|10 - 12| / pooled SD 4.000 = 0.500" in _criterion(verdict, "baseline_balance")["reason"]


def test_a_lab_value_named_factor_15_gives_no_item_count_and_the_study_needs_a_human() -> None:
    gdf = ((1200.0, 400.0), (1250.0, 420.0))
    rows = _rows(baseline={"PHQ-9": PHQ_BALANCED}, post={"Growth differentiation factor-15, pg/mL": gdf})
    assert facts(study_result(rows), PROTOCOL.outcomes)["outcome_items"].value is None
    verdict = evaluate(PROTOCOL, rows)
    items = _criterion(verdict, "multi_item_measure")
    assert items["verdict"] == "unclear" and items["reason"].startswith("needs a human: outcome instrument not found")
    assert verdict.label == "unsure" and verdict.failed == [] and verdict.unclear == ["multi_item_measure"]


def test_a_study_without_the_outcome_at_baseline_needs_a_human_not_an_exclusion() -> None:
    rows = _rows(baseline={"Age, years": AGE_IMBALANCED, "HbA1c (%)": ((7.5, 1.0), (7.0, 1.0))},
                   post={"PHQ-9": PHQ_POST})
    verdict = evaluate(PROTOCOL, rows)
    assert verdict.label == "unsure" and verdict.failed == []
    assert verdict.needs_human == ["needs a human: baseline of the outcome not found"]
    balance = _criterion(verdict, "baseline_balance")
    assert balance["verdict"] == "unclear" and '"Age, years"' in balance["reason"]


def test_eligibility_records_needs_a_human_and_the_cli_says_why(project: Path, cli,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # one line per table row
    store = seed_store(project, [Record(title="A trial whose baseline table has no depression score", year=2020)])
    fid = store.add_fulltext(record_id=1, path=project / "a.pdf", sha256="a" * 64, n_pages=1, status="ok",
                             message=None, matched_by="manual")
    store.replace_extractions(fid, 1, _values(baseline={"Age, years": AGE_IMBALANCED}, post={"PHQ-9": PHQ_POST}),
                              source="rule", extractor="rules")
    store.close()
    result = cli("eligibility", "--project", project)
    assert result.exit_code == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "A trial whose baseline" in line)
    assert "│ needs a human │" in row and "baseline_balance: unclear — needs a human: baseline of the outcome " \
        "not found" in result.stdout
    assert "0 pass, 0 excluded, 1 need a human" in result.stderr
    data = cli("eligibility", "--project", project, "--json").json()
    assert data["studies"][0]["label"] == "unsure"
    from metasift.store import Store

    store = Store.open(project)
    rule = [d for d in store.decisions("full_text") if d.decider_kind == "rule"]
    assert [(d.label, d.note) for d in rule] == [("unsure", "needs a human: baseline of the outcome not found")]
    assert store.final_labels("full_text") == {}  # nothing settled: a reviewer is asked
    store.close()


# ------------------------------------------------------------------ effects

TITLES = ["Peer support on Facebook for depression", "A tiny WhatsApp pilot", "A trial without a depression baseline",
          "Empagliflozin and GDF-15", "A WeChat trial whose control SD was not printed"]


def _effects_project(project: Path) -> None:
    """Five studies at full text: one usable, one the rules exclude, one waiting for a human, one without
    the protocol's outcomes, one with a missing SD."""
    store = seed_store(project, [Record(title=t, year=2020 + i, authors=[f"Author{i}, A"])
                                 for i, t in enumerate(TITLES)])
    values = [
        _values(baseline={"PHQ-9": PHQ_BALANCED}, post={"PHQ-9": PHQ_POST, "Body weight, kg": PHQ_POST}),
        _values(n=(20, 22), baseline={"PHQ-9": PHQ_BALANCED}, post={"PHQ-9": PHQ_POST}),
        _values(baseline={"Age, years": AGE_IMBALANCED}, post={"PHQ-9": PHQ_POST}),
        _values(baseline={"PHQ-9": PHQ_BALANCED}, post={"Growth differentiation factor-15, pg/mL": PHQ_POST}),
        _values(baseline={"GAD-7": PHQ_BALANCED}, post={"GAD-7": PHQ_POST}),
    ]
    values[4] = [r for r in values[4] if not (r["field"] == "outcome_sd" and r["arm"] == "Control")]
    for rid, rows in enumerate(values, start=1):
        fid = store.add_fulltext(record_id=rid, path=project / f"{rid}.pdf", sha256=str(rid) * 64, n_pages=1,
                                 status="ok", message=None, matched_by="manual")
        store.replace_extractions(fid, rid, rows, source="rule", extractor="rules")
    store.close()


def _include(project: Path, *record_ids: int) -> None:
    """Both reviewers of the starter protocol (two humans per record) include these at full text."""
    from metasift.store import Store

    store = Store.open(project)
    for rid in record_ids:
        for who in ("alice", "bob"):
            store.add_decision(record_id=rid, stage="full_text", decider_kind="human", decider=who, label="include")
    store.close()


def test_effects_json_lists_every_left_out_study_with_its_reason(project: Path, cli, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    _effects_project(project)
    assert cli("eligibility", "--project", project).exit_code == 0
    _include(project, 1, 4, 5)
    out = tmp_path / "effects.csv"
    result = cli("effects", "--out", out, "--project", project, "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["effects"] == 1 and data["studies"] == 1 and data["by_outcome"] == {"depression": 1}
    reasons = {x["record_id"]: x["reason"] for x in data["left_out"]}
    assert set(reasons) == {2, 3, 4, 5}
    assert reasons[2].startswith("excluded at full text by the rules: n_per_arm: min_arm_n >= 30")
    assert "Intervention n=20, Control n=22" in reasons[2]
    assert reasons[3].startswith("not yet decided at full text: needs a human: baseline of the outcome not found")
    assert reasons[4].startswith("no outcome data for the protocol's outcomes (depression, anxiety, stress)")
    assert '"Growth differentiation factor-15, pg/mL"' in reasons[4]
    assert reasons[5] == "no usable outcome data: GAD-7 at post: SD missing for Control"
    first = next(x for x in data["left_out"] if x["record_id"] == 2)
    assert first["study"] == "Author1 2021" and first["title"] == TITLES[1]
    assert [(x["record_id"], x["measure"]) for x in data["skipped"]] == [(1, "Body weight, kg")]
    with open(out, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["record_id"], r["outcome"], r["measure"]) for r in rows] == [("1", "depression", "PHQ-9")]

    table = cli("effects", "--out", out, "--project", project)
    assert table.exit_code == 0 and "Studies left out" in table.stdout and "Author2 2022" in table.stdout


def test_no_effect_sizes_is_an_error_that_names_each_study_and_why(project: Path, cli, tmp_path: Path) -> None:
    _effects_project(project)
    assert cli("eligibility", "--project", project).exit_code == 0
    _include(project, 4)
    result = cli("effects", "--out", tmp_path / "effects.csv", "--project", project)
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert "no effect sizes: all 5 studies that reached full text were left out" in message
    assert "Author1 2021 (record 2): excluded at full text by the rules: n_per_arm" in message
    assert "Author3 2023 (record 4): no outcome data for the protocol's outcomes" in message
    assert "Author0 2020 (record 1): not yet decided at full text" in message


def test_a_human_exclusion_is_explained_with_the_rules_numbers(project: Path, cli, tmp_path: Path) -> None:
    _effects_project(project)
    assert cli("eligibility", "--project", project).exit_code == 0
    from metasift.store import Store

    store = Store.open(project)
    for who in ("alice", "bob"):
        store.add_decision(record_id=2, stage="full_text", decider_kind="human", decider=who, label="exclude",
                           reasons=["n_per_arm"])
    store.close()
    _include(project, 1)
    data = cli("effects", "--out", tmp_path / "e.csv", "--project", project, "--json").json()
    reason = next(x["reason"] for x in data["left_out"] if x["record_id"] == 2)
    assert reason.startswith("excluded at full text by alice, bob: n_per_arm (min_arm_n >= 30: Intervention n=20")


def test_outcome_specs_without_the_protocol_file_still_match_by_instrument() -> None:
    mood = [OutcomeSpec(id="mood", label="Mood", instruments=["PHQ-9"])]
    assert match_outcome("PHQ9 total", mood).outcome_id == "mood"
    assert match_outcome("GAD-7", mood) is None


def test_without_protocol_outcomes_effects_use_every_measure_with_an_empty_outcome(project: Path, cli) -> None:
    from metasift.extractor.effects import collect_effects
    from metasift.store import Store

    _effects_project(project)
    assert cli("eligibility", "--project", project).exit_code == 0
    _include(project, 1, 4)
    store = Store.open(project)
    found = collect_effects(store, [], humans_needed=2)
    store.close()
    assert [(r.record_id, r.outcome, r.measure) for r in found.rows] == [
        (1, "", "Body weight, kg"), (1, "", "PHQ-9"), (4, "", "Growth differentiation factor-15, pg/mL")]


def test_a_draft_protocol_lets_no_full_text_rule_exclude() -> None:
    rows = _rows(baseline={"PHQ-9 score": ((10.0, 4.0), (12.0, 4.0))}, post={"PHQ-9": PHQ_POST})
    assert evaluate(PROTOCOL, rows).label == "exclude"
    held = evaluate(DRAFT, rows)
    assert held.label == "flag" and held.failed == ["baseline_balance"] and "unconfirmed draft" in (held.note or "")


def test_a_gate_that_fails_only_on_unverified_values_needs_a_human() -> None:
    rows = _rows(n=(12, 60), dropout=(1, 5), baseline={"PHQ-9": PHQ_BALANCED}, post={"PHQ-9": PHQ_POST})
    assert evaluate(PROTOCOL, rows).failed == ["n_per_arm"]
    rows = [replace(r, status=ExtractionStatus.NEEDS_HUMAN) if r.field == "n_randomised" and r.value == 12 else r
            for r in rows]
    held = evaluate(PROTOCOL, rows)
    assert held.label == "unsure" and held.failed == [] and "n_per_arm" in held.unclear
    assert "not verified yet" in (held.note or "")



def test_a_cell_with_zero_sds_is_left_out_with_its_reason_not_written_as_infinity(project: Path, cli) -> None:
    store = seed_store(project, [Record(title="A trial whose outcome SDs were both read as 0", year=2020)])
    fid = store.add_fulltext(record_id=1, path=project / "a.pdf", sha256="a" * 64, n_pages=1, status="ok",
                             message=None, matched_by="manual")
    store.replace_extractions(fid, 1, _values(baseline={"PHQ-9": PHQ_BALANCED}, post={"PHQ-9": ((7.0, 0.0), (9.0, 0.0))}),
                              source="rule", extractor="rules")
    for decider in ("alice", "bob"):
        for stage in ("title_abstract", "full_text"):
            store.add_decision(record_id=1, stage=stage, decider_kind="human", decider=decider, label="include")
    store.close()
    out = cli("effects", "--out", project / "effects.csv", "--project", project, "--json")
    assert out.exit_code != 0 and "pooled sd" in out.stderr.lower() and "inf" not in out.stdout
