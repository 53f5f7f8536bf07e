"""Counts of unseen reports the checks had let through (released probe papers, 2026-12-07): an arm whose printed
counts do not add up, where the abstract's "randomly assigned ... (n = 32)" counts the completers, and a paper
that compares subgroups by a result ("women who lost weight (WL; n = 21)") beside the arms it allocated."""

from __future__ import annotations

from metasift.extractor._consort import Count
from metasift.extractor.checks import check_extraction
from metasift.extractor.rules import _arm_names
from metasift.extractor.schema import Arm, Evidence, ExtractionResult


def _arms(randomised: int, analysed: int, dropout: int) -> ExtractionResult:
    arm = Arm(name="Intervention group", n_randomised=randomised, n_analysed=analysed, n_dropout=dropout)
    quotes = {"n_randomised": f"(n = {randomised})", "n_analysed": f"analysed n = {analysed}",
              "n_dropout": f"{dropout} withdrew"}
    result = ExtractionResult(path="x.pdf", arms=[arm])
    result.evidence = [Evidence(field=f"arms[0].{name}", value=getattr(arm, name), page=1, quote=quote, support=2)
                       for name, quote in quotes.items()]
    return result


def _statuses(result: ExtractionResult) -> dict[str, tuple[str, list[str]]]:
    page = " ".join(ev.quote for ev in result.evidence)
    return {c.field: (c.status, c.reasons) for c in check_extraction(result, {1: page})}


def test_counts_that_do_not_add_up_all_go_to_a_human() -> None:
    status = _statuses(_arms(32, 32, 3))
    for name in ("n_randomised", "n_analysed", "n_dropout"):
        assert status[f"arms[0].{name}"][0] == "needs_human"
        assert "randomised 32 - analysed 32 != dropout 3" in status[f"arms[0].{name}"][1]


def test_counts_that_add_up_twice_printed_auto_verify() -> None:
    status = _statuses(_arms(35, 32, 3))
    assert {s for s, _ in status.values()} == {"auto_verified"}


def test_more_analysed_than_randomised_doubts_both() -> None:
    result = _arms(30, 32, 0)
    status = _statuses(result)
    assert status["arms[0].n_randomised"][0] == status["arms[0].n_analysed"][0] == "needs_human"


def _count(field: str, arm: str, value: int, sentence: str) -> Count:
    return Count(field, arm, value, 4, sentence, "prose", sentence=sentence)


def test_groups_of_another_kind_beside_the_allocated_arms_are_no_arms() -> None:
    allocated = "Survivors were randomized to intervention (n = 23) or usual care (n = 22) groups."
    compared = "We compared women who lost weight (WL; n = 21) versus those who gained weight (WG; n = 24)."
    counts = [_count("n_randomised", "intervention", 23, allocated), _count("n_randomised", "usual care", 22, allocated),
              _count("n_analysed", "WL", 21, compared), _count("n_analysed", "WG", 24, compared)]
    assert _arm_names([], counts) == ["intervention", "usual care"]


def test_without_an_allocation_sentence_the_prose_names_the_arms() -> None:
    said = "Of these, 40 in the exercise group and 38 in the control group completed the trial."
    counts = [_count("n_analysed", "exercise", 40, said), _count("n_analysed", "control", 38, said)]
    assert _arm_names([], counts) == ["exercise", "control"]


def test_an_arm_analysed_whole_despite_its_losses_is_intention_to_treat_where_the_paper_says_so() -> None:
    result = _arms(71, 71, 10)
    page = " ".join(ev.quote for ev in result.evidence) + " Analyses were by intention to treat."
    status = {c.field: c.status for c in check_extraction(result, {1: page})}
    assert status["arms[0].n_randomised"] == status["arms[0].n_analysed"] == "auto_verified"
    assert status["arms[0].n_dropout"] == "needs_human"
    assert _statuses(_arms(71, 71, 10))["arms[0].n_randomised"][0] == "needs_human"  # no such statement
