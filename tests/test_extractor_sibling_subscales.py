"""A baseline row that names a sibling subscale of the outcome's instrument (released probe papers, 2026-12-07:
"STAI-Trait score" read for an outcome of STAI state anxiety, matched through the bare "STAI", because the table
that prints the state subscale went unread). Nine such values auto-verified on one paper; they go to a human."""

from __future__ import annotations

from metasift.config import OutcomeSpec
from metasift.extractor.checks import check_extraction
from metasift.extractor.outcomes import apply_target, sibling_measure
from metasift.extractor.schema import Arm, Baseline, Evidence, ExtractionResult


def _one_row(measure: str) -> ExtractionResult:
    arms = [Arm(name=n, baselines=[Baseline(measure=measure, mean=m, sd=s, n=283)])
            for n, m, s in (("Control", 36.6, 8.9), ("Telephone support", 35.7, 9.0))]
    result = ExtractionResult(path="x.pdf", arms=arms)
    quote = f"{measure} 36.6 (8.9) 35.7 (9.0)"
    result.evidence = [Evidence(field=f"arms[{i}].baselines[0].{stat}", value=getattr(arms[i].baselines[0], stat),
                                page=5, quote=quote if stat != "n" else "C n = 283 T n = 283")
                       for i in range(2) for stat in ("mean", "sd", "n")]
    return result


def _checked(result: ExtractionResult, spec: OutcomeSpec) -> dict:
    apply_target(result, [spec])
    page = "C n = 283 T n = 283\n" + " ".join(ev.quote for ev in result.evidence)
    return {c.field: c for c in check_extraction(result, {5: page})}


STATE = OutcomeSpec(id="anx", label="STAI state anxiety", instruments=["STAI-state", "STAI"])


def test_a_trait_row_chosen_for_a_state_outcome_goes_to_a_human_with_the_reason() -> None:
    result = _one_row("STAI-Trait score Mean (SD)")
    status = _checked(result, STATE)
    assert result.arms[0].baseline is not None  # still offered, for the reader to confirm or reject
    for stat in ("mean", "sd", "n"):
        check = status[f"arms[0].baselines[0].{stat}"]
        assert check.status == "needs_human"
        assert "names trait where the outcome names state" in check.reasons[-1]


def test_the_outcomes_own_subscale_auto_verifies() -> None:
    status = _checked(_one_row("STAI-S score Mean (SD)"), STATE)
    assert status["arms[0].baselines[0].mean"].status == "auto_verified"


def test_an_outcome_naming_both_subscales_doubts_neither() -> None:
    both = OutcomeSpec(id="anx", label="Anxiety", instruments=["STAI state", "STAI trait", "STAI"])
    assert sibling_measure("STAI-Trait score", both) is None


def test_the_depression_subscale_is_a_sibling_of_an_anxiety_outcome_and_the_bare_instrument_is_not() -> None:
    anxiety = OutcomeSpec(id="anx", label="Anxiety", instruments=["HADS-A", "HADS anxiety", "HADS"])
    assert sibling_measure("HADS depression, mean (SD)", anxiety) is not None
    assert sibling_measure("HADS-D", anxiety) is not None
    assert sibling_measure("HADS total", anxiety) is None
    assert sibling_measure("HADS anxiety subscale", anxiety) is None


def test_a_component_summary_of_another_kind_is_a_sibling() -> None:
    mental = OutcomeSpec(id="qol", label="SF-36 mental component summary", instruments=["SF-36 MCS", "SF-36"])
    assert sibling_measure("SF-36 physical component summary", mental) is not None
