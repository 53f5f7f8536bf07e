"""The offline extractor on trial PDFs rendered from known numbers, and on damaged PDFs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from metasift.config import example_protocol_text, parse_protocol
from metasift.extractor.checks import check_extraction, quote_has_number, quote_on_page
from metasift.extractor.eligibility import facts
from metasift.extractor.pdf import PdfError, read_pdf
from metasift.extractor.rules import extract

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "social_media"
MISPRINT = ("T07", "PHQ-9", "post_sd_2")  # see examples/make_pdfs.py


def _rows(name: str) -> list[dict]:
    with open(EXAMPLE / name, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


TRIALS = _rows("trials.csv")
OUTCOMES = _rows("outcomes.csv")


@pytest.mark.parametrize("trial", TRIALS, ids=[t["trial_id"] for t in TRIALS])
def test_round_trip_every_number(trial: dict) -> None:
    """Every number the PDF was rendered from comes back, with evidence that checks out."""
    doc = read_pdf(EXAMPLE / "pdfs" / f"{trial['trial_id']}.pdf")
    result = extract(doc)
    n1, n2 = int(trial["n_randomised_1"]), int(trial["n_randomised_2"])
    assert result.n_total == n1 + n2
    assert [a.name for a in result.arms] == ["Intervention", "Control"]
    assert [a.n_randomised for a in result.arms] == [n1, n2]
    assert [a.n_analysed for a in result.arms] == [int(trial["n_analysed_1"]), int(trial["n_analysed_2"])]
    assert [a.n_dropout for a in result.arms] == [n1 - int(trial["n_analysed_1"]), n2 - int(trial["n_analysed_2"])]
    truth = [o for o in OUTCOMES if o["trial_id"] == trial["trial_id"]]
    got = {(o.arm, o.measure.split(" (")[0]): o for o in result.outcomes}
    assert len(result.outcomes) == 2 * len(truth)
    for o in truth:
        for arm, k in (("Intervention", 1), ("Control", 2)):
            found = got[(arm, o["measure"])]
            sd = float(o[f"post_sd_{k}"])
            if (trial["trial_id"], o["measure"], f"post_sd_{k}") == MISPRINT:
                sd = round(sd * 10, 2)  # printed ten times too large on purpose
            assert (found.mean, found.sd, found.n) == (float(o[f"post_mean_{k}"]), sd, int(o[f"n_{k}"]))
            base = next(b for b in result.arms[k - 1].baselines if b.measure.startswith(o["measure"]))
            assert (base.mean, base.sd) == (float(o[f"baseline_mean_{k}"]), float(o[f"baseline_sd_{k}"]))
    pages = {p.number: p.text + "\n" + p.lines for p in doc.pages}
    checks = check_extraction(result, pages)
    doubted = {c.field for c in checks if c.status != "auto_verified"}
    if trial["trial_id"] == MISPRINT[0]:
        slip = next(i for i, o in enumerate(result.outcomes) if o.arm == "Control" and o.measure.startswith(MISPRINT[1]))
        assert doubted == {f"outcomes[{slip}].sd"}  # the misprint, and only it, goes to a human
    else:
        assert checks and not doubted, [c for c in checks if c.reasons]


def test_eligibility_facts_flag_the_failing_trials() -> None:
    outcomes = parse_protocol(example_protocol_text()).outcomes
    by_rule = {}
    for trial in TRIALS:
        f = facts(extract(read_pdf(EXAMPLE / "pdfs" / f"{trial['trial_id']}.pdf")), outcomes)
        failed = {name for name, limit in (("min_arm_n", 30), ("differential_attrition", 0.15),
                                           ("baseline_diff_sd", 0.25))
                  if (f[name].value < limit if name == "min_arm_n" else f[name].value >= limit)}
        by_rule[trial["trial_id"]] = failed
    expected = {"n_per_arm": {"min_arm_n"}, "differential_attrition": {"differential_attrition"},
                "baseline_balance": {"baseline_diff_sd"}, "": set()}
    for trial in TRIALS:
        assert by_rule[trial["trial_id"]] == expected[trial["fails_rule"]], trial["trial_id"]


def test_checks_catch_a_misquoted_value() -> None:
    doc = read_pdf(EXAMPLE / "pdfs" / "T01.pdf")
    result = extract(doc)
    result.outcomes[0].sd = 40.0  # impossible for PHQ-9
    result.evidence[-1].quote = "a sentence that is not in the paper at all 12.5"
    checks = {c.field: c for c in check_extraction(result, {p.number: p.text for p in doc.pages})}
    assert checks["outcomes[0].sd"].status == "needs_human"
    assert any("impossible" in r for r in checks["outcomes[0].sd"].reasons)
    assert checks[result.evidence[-1].field].status == "needs_human"


def test_quote_matching_forgives_pdf_noise() -> None:
    page = "The signiﬁcant effect was seen in partici-\npants randomised (n = 61)."
    assert quote_on_page("significant effect was seen in participants randomised (n = 61)", page) >= 90
    assert quote_has_number("4.30 (4.32)", 4.3)
    assert not quote_has_number("14.30 (4.32)", 4.3)


def test_truncated_pdf_is_reported_not_raised_as_a_crash(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes((EXAMPLE / "pdfs" / "T01.pdf").read_bytes()[:1500])
    with pytest.raises(PdfError) as err:
        read_pdf(broken)
    assert err.value.status == "broken" and str(broken) in str(err.value)


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    scanned = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(scanned))
    c.rect(100, 100, 300, 500, fill=1)
    c.showPage()
    c.save()
    with pytest.raises(PdfError) as err:
        read_pdf(scanned)
    assert err.value.status == "no_text"


def test_extract_pdf_cli_contract(cli) -> None:
    result = cli("extract-pdf", EXAMPLE / "pdfs" / "T03.pdf", "--json", "--outcome", "PHQ-9")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert set(data) >= {"arms", "outcomes", "evidence", "warnings", "target", "primary_outcome"}
    arm = data["arms"][0]
    assert set(arm) >= {"name", "n_randomised", "n_analysed", "n_dropout", "baseline", "baselines"}
    assert set(arm["baseline"]) == {"measure", "mean", "sd", "n", "outcome", "printed_as"}
    assert "PHQ" in arm["baseline"]["measure"] and arm["baseline"]["outcome"] == "outcome1"
    assert data["target"]["measure"] == arm["baseline"]["measure"]
    assert set(data["evidence"][0]) >= {"field", "value", "page", "quote"}


def test_extract_pdf_says_the_design_and_which_baseline_it_reports(cli) -> None:
    result = cli("extract-pdf", EXAMPLE / "pdfs" / "T03.pdf", "--outcome", "PHQ-9")
    assert result.exit_code == 0, result.stderr
    assert "design: parallel, 2 arms" in result.stderr
    assert "baseline: PHQ-9" in result.stderr and "an instrument of outcome 'PHQ-9'" in result.stderr


def test_extract_pdf_without_an_outcome_or_a_stated_primary_gives_no_baseline_not_the_first_row(cli) -> None:
    result = cli("extract-pdf", EXAMPLE / "pdfs" / "T03.pdf", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["target"] is None and data["primary_outcome"] is None
    assert all(a["baseline"] is None and a["baselines"] for a in data["arms"])
    assert any("no baseline of the paper's primary outcome" in w for w in data["warnings"])


def test_number_words_and_change_scores_pass_the_checks() -> None:
    from metasift.extractor.checks import check_extraction
    from metasift.extractor.schema import Evidence, ExtractionResult, Outcome

    assert quote_has_number("Six patients withdrew consent", 6)
    assert not quote_has_number("Six patients withdrew consent", 7)
    result = ExtractionResult(outcomes=[Outcome(arm="A", measure="LVESVi, mL/m2", timepoint="change", mean=-0.4,
                                                sd=9.1, n=50)],
                              evidence=[Evidence(field="outcomes[0].sd", value=9.1, page=1, quote="-0.4 (9.1)")])
    checks = {c.field: c for c in check_extraction(result, {1: "change -0.4 (9.1)"})}
    assert checks["outcomes[0].sd"].status == "auto_verified"


def test_the_design_is_read_from_the_trials_own_sentences_not_from_its_references() -> None:
    from metasift.extractor.design import detect_design

    crossover, warnings = detect_design([(1, "This was a randomised, double-blind, crossover trial of 78 adults.")], 2)
    assert crossover.kind == "crossover" and crossover.page == 1
    assert any("sequence groups" in w for w in warnings)
    cluster, warnings = detect_design([(1, "In total, 16 schools were randomised (1:1) to the programme or to "
                                           "usual lessons.")], 2)
    assert (cluster.kind, cluster.clusters, cluster.allocation) == ("cluster", 16, "1:1")
    assert any("design effect" in w for w in warnings)
    three, warnings = detect_design([(1, "Participants were randomly assigned (2:1:1) to three groups.")], 3)
    assert three.kind == "parallel" and three.allocation == "2:1:1"
    assert any("3 arms" in w for w in warnings) and any("unequal allocation 2:1:1" in w for w in warnings)
    # a crossover trial in the reference list, or a "therapeutic crossover" outcome, is not the design
    pages = [(1, "Patients were randomised to ablation or drugs. Therapeutic crossover was a secondary outcome."),
             (2, "Results were as expected."), (3, "References\n1. A randomised, double-blind, crossover trial.")]
    assert detect_design(pages, 2)[0].kind == "parallel"


def test_a_crossover_arm_named_by_a_treatment_alone_is_named_as_the_group_that_received_it_first() -> None:
    from metasift.extractor.rules import _name_sequence_groups
    from metasift.extractor.schema import Arm, ExtractionResult, Outcome

    result = ExtractionResult(arms=[Arm(name="empagliflozin 25 mg"), Arm(name="placebo")],
                              outcomes=[Outcome(arm="placebo", measure="PHQ-9", timepoint="baseline")])
    _name_sequence_groups(result)
    assert [a.name for a in result.arms] == ["empagliflozin 25 mg first", "placebo first"]
    assert result.outcomes[0].arm == "placebo first"
    named = ExtractionResult(arms=[Arm(name="Sequence AB"), Arm(name="placebo/app"), Arm(name="app first")])
    _name_sequence_groups(named)
    assert [a.name for a in named.arms] == ["Sequence AB", "placebo/app", "app first"]


def test_no_arm_value_of_a_crossover_or_cluster_trial_is_auto_verified() -> None:
    from metasift.extractor.checks import check_extraction
    from metasift.extractor.schema import Arm, Design, Evidence, ExtractionResult

    page = "Sequence AB (n = 37) and sequence BA (n = 41) were randomised."
    result = ExtractionResult(arms=[Arm(name="Sequence AB", n_randomised=37)],
                              evidence=[Evidence(field="arms[0].n_randomised", value=37, page=1, quote=page,
                                                 support=2)])
    assert check_extraction(result, {1: page})[0].status == "auto_verified"
    for kind in ("crossover", "cluster"):
        result.design = Design(kind=kind, n_arms=1)
        check = check_extraction(result, {1: page})[0]
        assert check.status == "needs_human" and f"{kind} design" in check.reasons[0]


def test_an_arm_count_printed_once_and_tied_to_nothing_waits_for_a_human() -> None:
    from metasift.extractor.checks import check_extraction
    from metasift.extractor.schema import Arm, Evidence, ExtractionResult

    page = "Of these, 52 were assigned to the app and 53 to the waitlist; 105 were randomised in total."

    def status(support: int, total: int | None) -> list[str]:
        result = ExtractionResult(arms=[Arm(name="App", n_randomised=52), Arm(name="Waitlist", n_randomised=53)],
                                  n_total=total, evidence=[
            Evidence(field=f"arms[{i}].n_randomised", value=v, page=1, quote=page, support=support)
            for i, v in enumerate((52, 53))])
        return [c.status for c in check_extraction(result, {1: page}) if c.field.startswith("arms")]

    assert status(1, None) == ["needs_human", "needs_human"]  # one statement, nothing ties it
    assert status(2, None) == ["auto_verified", "auto_verified"]  # printed twice (abstract and results)
    assert status(1, 105) == ["auto_verified", "auto_verified"]  # the arms add up to the stated total


def test_a_primary_outcome_statement_names_measures_by_name_or_abbreviation_never_by_unit() -> None:
    from metasift.extractor.outcomes import choose_target, names_measure, primary_statements

    [said] = primary_statements([(3, "The primary outcome was the change in depressive symptoms (BDI-II) at "
                                     "2 years. The primary outcome was not met.")])
    assert said.page == 3 and said.text.startswith("the change in depressive symptoms")
    assert names_measure(said.text, "Beck Depression Inventory (BDI-II)")
    assert names_measure(said.text, "Depressive symptoms, mean (SD)")
    assert not names_measure(said.text, "Age (years)")  # "(years)" is a unit, not the outcome's name
    # printed as mean and SD wins over the same outcome printed as a median
    target = choose_target(["BDI-II median (IQR)", "BDI-II"], [], [said], usable={"BDI-II"})
    assert target is not None and target.measure == "BDI-II"
