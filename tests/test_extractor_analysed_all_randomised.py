"""A sentence saying the analysis included everyone randomised makes each arm's analysed its randomised, for a
human to confirm (eighth session); a modified ITT, a safety set or a plan says no such thing."""

from __future__ import annotations

from metasift.extractor.checks import check_extraction
from metasift.extractor.pdf import Page, PdfDocument
from metasift.extractor.rules import extract
from metasift.kinds import ExtractionStatus

ALLOCATION = "Patients were randomized to exercise (n = 50) or to usual care (n = 48). "


def _extract(prose: str):
    doc = PdfDocument("t.pdf", [Page(1, prose, prose, [], [], 595.0)], {})
    return extract(doc, ocr=False)


def test_an_analysis_of_all_randomised_gives_each_arm_its_randomised_as_analysed_for_a_human() -> None:
    prose = ALLOCATION + ("Statistical analysis was performed on an intent-to-treat (ITT) basis and included all "
                          "patients who were randomized to treatment.")
    result = _extract(prose)
    assert [(a.n_randomised, a.n_analysed) for a in result.arms] == [(50, 50), (48, 48)]
    checks = {c.field: c for c in check_extraction(result, {1: prose})}
    analysed = checks["arms[0].n_analysed"]
    assert analysed.status == ExtractionStatus.NEEDS_HUMAN
    assert any("included everyone randomised" in r for r in analysed.reasons)


def test_all_randomised_subjects_included_in_the_analysis_counts_too() -> None:
    result = _extract(ALLOCATION + "Fifteen subjects completed the study; all randomized subjects are included in "
                                   "the analysis.")
    assert [a.n_analysed for a in result.arms] == [50, 48]


def test_everyone_in_the_analysis_may_be_said_as_enrolled_in_the_study_or_all_of_the_itt_analysis() -> None:
    for sentence in ('The analysis was conducted according to "intention to treat" population comprising all the '
                     "subjects included in the study.",
                     "Intent-to-treat analyses were performed on all enrollees (n = 98, ITT cohort).",
                     "All patients were included in the intention to treat analysis.",
                     "All analyses followed the intention-to-treat principle: all participants were included in the "
                     "analyses."):
        assert [a.n_analysed for a in _extract(ALLOCATION + sentence).arms] == [50, 48], sentence


def test_all_of_some_people_or_of_another_analysis_gives_no_analysed() -> None:
    for sentence in ("All participants with follow-up data were included in the analysis.",
                     "All participants who completed the study were included in the analysis.",
                     "All patients were included in the per-protocol analysis.",
                     "All patients were included in the study after giving written consent."):
        assert [a.n_analysed for a in _extract(ALLOCATION + sentence).arms] == [None, None], sentence


def test_a_modified_itt_a_safety_set_or_a_plan_gives_no_analysed() -> None:
    for sentence in ("The modified intention-to-treat analysis included all randomized patients with a baseline visit.",
                     "The safety analysis included all randomized patients who received at least one dose.",
                     "The analysis will include all randomized participants."):
        assert [a.n_analysed for a in _extract(ALLOCATION + sentence).arms] == [None, None], sentence
