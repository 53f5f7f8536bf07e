"""General extraction mechanisms on small layouts built from positioned words (no shared PDFs needed):
tables set in one column of a two-column page, flow diagrams whose boxes are not aligned or are pooled,
and where an arm count comes from."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._consort import diagram_counts
from metasift.extractor._tables import find_tables
from metasift.extractor._values import declares
from metasift.extractor.checks import check_extraction
from metasift.extractor.layout import Word, join_words
from metasift.extractor.ocr import names_flow
from metasift.extractor.pdf import Page
from metasift.extractor.rules import _derive_dropout
from metasift.extractor.schema import Arm, Evidence, ExtractionResult
from tests.helpers import printed_line as _line

_PROSE = ["the trial was run in eight centres and all sites", "followed the same protocol for every visit",
          "patients were seen at three six and twelve months", "with a telephone call between the visits",
          "adverse events were recorded at every contact", "by a nurse who did not know the allocation",
          "the data were entered twice and checked again", "before the database was locked for analysis",
          "missing values were handled as described above", "and no interim analysis was planned at all",
          "the steering committee met every six months", "to review recruitment and the safety reports"]


def _two_column_page() -> SimpleNamespace:
    """A table in the left column; the right column's prose sits on lines of its own between the table's."""
    left = [
        (100, [(50, "Table 1 Baseline characteristics of the")]),
        (110, [(50, "patients by allocated group")]),
        (130, [(50, "Characteristic"), (160, "Ablation"), (220, "Drugs")]),
        (140, [(160, "(n = 98)"), (220, "(n = 48)")]),
        (152, [(50, "Age (year)"), (160, "55 (9)"), (220, "56 (8)")]),
        (164, [(50, "Male sex, n (%)"), (160, "76 (77.6)"), (220, "37 (77.1)")]),
        (176, [(50, "Left atrial size (mm)"), (160, "41.3 (4.6)"), (220, "42.7 (5.1)")]),
        (188, [(50, "HBP"), (160, "46 (46.9)"), (220, "19 (39.6)")]),
        (204, [(50, "Data are means (SD) or n (%).")]),
    ]
    rows = []
    for k, (y, cells) in enumerate(left):
        rows.append(_line(y, *cells))
        rows.append(_line(y + 5, (310, _PROSE[k])))  # the other column, a few points lower
    for k in range(10):  # more of the page: two columns of prose
        rows.append(_line(230 + 12 * k, (50, _PROSE[k % 12])) + _line(230 + 12 * k, (310, _PROSE[(k + 3) % 12])))
    return SimpleNamespace(number=4, rows=rows, width=595.0)


def test_a_table_in_one_column_is_read_past_the_other_columns_lines() -> None:
    (t,) = find_tables([_two_column_page()], [])
    assert [(a.name, a.n) for a in t.arms] == [("Ablation", 98), ("Drugs", 48)]
    assert t.caption == "Table 1 Baseline characteristics of the patients by allocated group"
    got = [(t.arms[v.arm].name, v.measure, v.mean, v.sd, v.n) for v in t.values]
    assert got == [("Ablation", "Age (year)", 55.0, 9.0, 98), ("Drugs", "Age (year)", 56.0, 8.0, 48),
                   ("Ablation", "Left atrial size (mm)", 41.3, 4.6, 98),
                   ("Drugs", "Left atrial size (mm)", 42.7, 5.1, 48)]  # counts (b = 100 a / n) are not SDs


def test_a_full_width_table_on_a_two_column_page_keeps_all_its_columns() -> None:
    page = _two_column_page()
    table = [_line(40, (50, "Table 2 Outcomes at 12 months, mean (SD)")),
             _line(52, (200, "A (n = 30)"), (330, "B (n = 31)"), (460, "C (n = 29)")),
             _line(64, (50, "Left atrial size (mm)"), (200, "40.1 (4.0)"), (330, "41.0 (4.2)"), (460, "40.7 (3.9)"))]
    page.rows = table + page.rows
    tables = find_tables([page], [])
    assert [a.name for a in tables[0].arms] == ["A", "B", "C"]
    assert [v.mean for v in tables[0].values] == [40.1, 41.0, 40.7]


def test_means_sd_in_a_footnote_declares_mean_and_sd() -> None:
    assert declares("Data are means (SD) or n (%).") == "mean_sd"
    assert declares("Values are means ± SDs") == "mean_sd"
    assert declares("Data are n (%)") == "count"


def _page(rows: list[list[Word]]) -> Page:
    return Page(4, "\n".join(join_words(r) for r in rows), "", [], rows, 595.0)


def test_diagram_boxes_of_one_column_need_not_start_at_the_same_x() -> None:
    rows = [_line(100, (118, "Allocated to drug (n = 12)"), (301, "Allocated to placebo (n = 11)")),
            _line(140, (141, "Lost to follow-up (n = 1)"), (301, "Lost to follow-up (n = 0)")),
            _line(180, (141, "Analysed (n = 11)"), (305, "Analysed (n = 11)"))]
    got = {(c.field, c.arm, c.value) for c in diagram_counts([_page(rows)])}
    assert got == {("n_randomised", "drug", 12), ("n_randomised", "placebo", 11), ("n_dropout", "drug", 1),
                   ("n_dropout", "placebo", 0), ("n_analysed", "drug", 11), ("n_analysed", "placebo", 11)}


def test_a_pooled_box_across_the_columns_and_a_second_period_box_are_no_arms_counts() -> None:
    # A crossover diagram: first-period boxes, second-period boxes under them (the right one's n lost by
    # OCR), then one "Analysed" box centred under both columns.
    rows = [_line(100, (118, "Allocated to drug (n = 12)"), (301, "Allocated to placebo")),
            _line(140, (141, "Allocated to placebo (n = 12)"), (301, "Allocated to drug (n = 11)")),
            _line(180, (250, "Analysed (n = 23)"))]
    got = {(c.field, c.arm, c.value) for c in diagram_counts([_page(rows)])}
    assert got == {("n_randomised", "drug", 12)}  # not "placebo Allocated to drug" = 11, nor 23 analysed


def test_a_spelled_out_consort_caption_names_a_flow_diagram() -> None:
    assert names_flow("Figure 2. Consolidated Standards of Reporting Trials diagram.")
    assert not names_flow("Figure 3. Change in urine volume from baseline.")


def _result(origin: str, quote: str) -> ExtractionResult:
    result = ExtractionResult(path="x.pdf", arms=[Arm(name="A", n_randomised=50, n_analysed=44, n_dropout=4)])
    result.evidence = [Evidence(field="arms[0].n_randomised", value=50, page=2, quote="50 to A", origin="sentence"),
                       Evidence(field="arms[0].n_analysed", value=44, page=3, quote="Analysed (n = 44)",
                                origin="diagram"),
                       Evidence(field="arms[0].n_dropout", value=4, page=3, quote=quote, origin=origin)]
    return result


def test_dropout_from_a_diagrams_loss_boxes_is_recomputed_where_they_miss_exits_but_a_sentence_is_not() -> None:
    boxes = _result("diagram", "Lost to follow-up (n = 4)")
    _derive_dropout(boxes)
    assert boxes.arms[0].n_dropout == 6
    (ev,) = [e for e in boxes.evidence if e.field == "arms[0].n_dropout"]
    assert ev.source == "derived" and ev.page is None and "randomised 50 - analysed 44 = 6" in ev.quote
    assert check_extraction(boxes, {3: "Analysed (n = 44)"})[-1].status == "needs_human"
    # The same numbers stated in a sentence that happens to hold "(n =": the printed count stands.
    sentence = _result("sentence", "four participants (n = 4) were lost to follow-up")
    _derive_dropout(sentence)
    assert sentence.arms[0].n_dropout == 4


def test_the_verify_screen_lays_pages_out_with_the_public_layout_module() -> None:
    import importlib.util

    from metasift.tui.verify_app import page_layout

    assert importlib.util.find_spec("metasift.extractor._layout") is None  # no private twin left to import
    assert join_words([Word("kg/m", 0, 20, 10, 8), Word("2", 20.5, 23, 7, 5, "sup")]) == "kg/m2"
    rows = [_line(100, (50, "Age"), (200, "55 (9)")), _line(112, (50, "BMI, kg/m2"), (200, "27 (4)"))]
    assert [line.split() for line in page_layout(_page(rows)).splitlines()] == [["Age", "55", "(9)"],
                                                                                ["BMI,", "kg/m2", "27", "(4)"]]


def _table(*lines: list[Word]):
    return find_tables([SimpleNamespace(number=3, rows=list(lines), width=595.0)], [])


def _values(table) -> list[tuple]:
    return [(table.arms[v.arm].name, v.measure, v.mean, v.sd, v.n, v.printed_as) for v in table.values]


def test_an_upper_case_table_caption_starts_a_table() -> None:
    (t,) = _table(_line(100, (50, "TABLE 1 Baseline characteristics")),
                  _line(112, (200, "iCBT (n = 50)"), (320, "Control (n = 48)")),
                  _line(124, (50, "PHQ-9, mean (SD)"), (200, "14.2 (4.1)"), (320, "14.0 (3.9)")))
    assert _values(t) == [("iCBT", "PHQ-9, mean (SD)", 14.2, 4.1, 50, "mean (SD)"),
                          ("Control", "PHQ-9, mean (SD)", 14.0, 3.9, 48, "mean (SD)")]


def test_mean_plus_minus_sd_under_each_arm_on_one_line_or_stacked_over_three() -> None:
    one_line = [_line(122, (200, "Mean ± SD"), (320, "Mean ± SD"))]
    stacked = [_line(122, (200, "Mean"), (320, "Mean")), _line(132, (200, "±"), (320, "±")),
               _line(142, (200, "SD"), (320, "SD"))]
    for sub in (one_line, stacked):
        (t,) = _table(_line(100, (50, "Table 1 Baseline characteristics")),
                      _line(112, (200, "Intervention (n = 50)"), (320, "Control (n = 48)")), *sub,
                      _line(156, (50, "PHQ-9"), (200, "14.2 ± 4.1"), (320, "14.0 ± 3.9")))
        assert _values(t) == [("Intervention", "PHQ-9", 14.2, 4.1, 50, "mean (SD)"),
                              ("Control", "PHQ-9", 14.0, 3.9, 48, "mean (SD)")]


def test_a_mean_se_column_gives_the_mean_and_no_sd() -> None:
    (t,) = _table(_line(100, (50, "Table 2 Baseline scores")),
                  _line(112, (200, "Intervention (n = 50)"), (320, "Control (n = 48)")),
                  _line(122, (200, "Mean (SE)"), (320, "Mean (SE)")),
                  _line(134, (50, "PHQ-9"), (200, "14.2 (0.6)"), (320, "14.0 (0.5)")))
    assert _values(t) == [("Intervention", "PHQ-9", 14.2, None, 50, "mean (SE)"),
                          ("Control", "PHQ-9", 14.0, None, 48, "mean (SE)")]


def test_an_undeclared_a_b_cell_is_read_as_mean_and_sd_only_for_a_human_to_confirm() -> None:
    from metasift.extractor._values import UNDECLARED

    head = [_line(100, (50, "Table 2 Baseline scores")),
            _line(112, (200, "Intervention (n = 50)"), (320, "Control (n = 48)"))]
    (t,) = _table(*head, _line(134, (50, "PHQ-9"), (200, "14.2 (4.1)"), (320, "14.0 (3.9)")),
                  _line(146, (50, "Female"), (200, "30 (60.0)"), (320, "12 (25.0)")))  # counts: b = 100 a / n
    assert [(v.mean, v.sd, v.doubt) for v in t.values] == [(14.2, 4.1, UNDECLARED), (14.0, 3.9, UNDECLARED)]
    # a row that says it prints mean (SD) makes the undeclared rows of whole numbers something else: nothing is
    # guessed for them; a first number that is not whole is no count, and is still guessed for a human
    (t,) = _table(*head, _line(134, (50, "PHQ-9"), (200, "14 (4)"), (320, "14 (3)")),
                  _line(146, (50, "Age, mean (SD)"), (200, "34.2 (8.1)"), (320, "35.0 (9.9)")))
    assert [v.measure for v in t.values if v.measure == "PHQ-9"] == []
    (t,) = _table(*head, _line(134, (50, "PHQ-9"), (200, "14.2 (4.1)"), (320, "14.1 (3.9)")),
                  _line(146, (50, "Age, mean (SD)"), (200, "34.2 (8.1)"), (320, "35.0 (9.9)")))
    assert [v.doubt for v in t.values if v.measure == "PHQ-9"] == [UNDECLARED, UNDECLARED]
    # a row that marks itself as the exception (median) says nothing about the rest: still guessed, with the doubt
    (t,) = _table(*head, _line(134, (50, "PHQ-9"), (200, "14.2 (4.1)"), (320, "14.0 (3.9)")),
                  _line(146, (50, "Age, median (IQR)"), (200, "34 (28-41)"), (320, "35 (29-40)")))
    assert [(v.mean, v.sd, v.doubt) for v in t.values if v.measure == "PHQ-9"] == [(14.2, 4.1, UNDECLARED),
                                                                                   (14.0, 3.9, UNDECLARED)]
    # a cell whose first number is not whole is no count, even when b happens to be 100 a / n
    (t,) = _table(_line(100, (50, "Table 2 Baseline scores")),
                  _line(112, (200, "Intervention (n = 150)"), (320, "Control (n = 148)")),
                  _line(134, (50, "BDI-II"), (200, "22.5 (15.0)"), (320, "21.0 (9.9)")))
    assert [(v.mean, v.sd) for v in t.values] == [(22.5, 15.0), (21.0, 9.9)]
    (t,) = _table(*head, _line(134, (50, "PHQ-9"), (200, "14.2 (4.1)"), (320, "14.0 (3.9)")),
                  _line(150, (50, "Values are median (IQR).")))
    assert t.values == [] or all(v.printed_as != "mean (SD)" for v in t.values)


def test_a_value_the_rule_doubted_waits_for_a_human() -> None:
    result = ExtractionResult(path="x.pdf", arms=[Arm(name="A")])
    result.evidence = [Evidence(field="arms[0].baselines[0].mean", value=14.2, page=2, quote="PHQ-9 14.2 (4.1)",
                                doubt="undeclared")]
    (check,) = check_extraction(result, {2: "PHQ-9 14.2 (4.1)"})
    assert check.status == "needs_human" and check.reasons == ["undeclared"]


def test_per_protocol_rows_are_not_read_and_their_heading_is_not_part_of_a_label() -> None:
    (t,) = _table(_line(100, (50, "Table 3 Outcomes at 12 weeks, mean (SD)")),
                  _line(112, (200, "Intervention (n = 50)"), (320, "Control (n = 48)")),
                  _line(124, (50, "Intention-to-treat")),
                  _line(136, (50, "PHQ-9"), (200, "9.2 (4.1)"), (320, "12.0 (3.9)")),
                  _line(148, (50, "GAD-7 (completers)"), (200, "6.2 (3.0)"), (320, "7.9 (2.8)")),
                  _line(160, (50, "Per-protocol")),
                  _line(172, (50, "PHQ-9"), (200, "8.2 (4.0)"), (320, "11.9 (3.8)")))
    assert [(m, mean) for _, m, mean, *_ in _values(t)] == [("PHQ-9", 9.2), ("PHQ-9", 12.0)]


def test_a_table_with_a_second_block_of_groups_gives_no_arms() -> None:
    # Parts of a phase 1 study, each with its own dose groups and "(n = X)": the first block's columns are
    # not the trial's arms.
    assert _table(_line(100, (50, "TABLE 2 Adverse events by dose group")),
                  _line(112, (200, "Placebo"), (280, "5 mg"), (360, "10 mg")),
                  _line(122, (200, "(n = 16)"), (280, "(n = 6)"), (360, "(n = 6)")),
                  _line(134, (50, "Headache"), (200, "2 (12.5)"), (280, "0 (0.0)"), (360, "1 (16.7)")),
                  _line(146, (50, "Part 2"), (200, "Placebo"), (280, "40 mg"), (360, "120 mg")),
                  _line(156, (200, "(n = 9)"), (280, "(n = 9)"), (360, "(n = 9)")),
                  _line(168, (50, "Headache"), (200, "2 (22.2)"), (280, "1 (11.1)"), (360, "1 (11.1)"))) == []


def test_the_number_screened_is_not_the_number_randomised() -> None:
    from metasift.extractor._consort import total_n

    page = Page(5, "A total of 245 participants were screened, of which 116 were randomized.", "", [], [], 595.0)
    assert total_n([page])[0] == 116


def test_a_total_n_stated_once_and_not_the_arms_sum_waits_for_a_human() -> None:
    result = ExtractionResult(path="x.pdf", n_total=116)
    result.evidence = [Evidence(field="n_total", value=116, page=5, quote="116 were randomized")]
    (check,) = check_extraction(result, {5: "Of these, 116 were randomized."})
    assert check.status == "needs_human"
    result.evidence[0].support = 2  # the abstract says it too
    assert check_extraction(result, {5: "Of these, 116 were randomized."})[0].status == "auto_verified"


def test_a_count_per_cohort_is_not_the_total() -> None:
    from metasift.extractor._consort import total_candidates

    text = ("In each dose cohort, six participants were randomized to receive the drug and two participants were "
            "randomized to receive placebo. A total of 245 participants were screened, of which 116 were randomized.")
    assert {v for v, _, _ in total_candidates([Page(4, text, text, [], [], 595.0)])} == {116}


def _text_page(text: str) -> Page:
    return Page(3, text, text, [], [], 595.0)


def test_the_first_arms_count_of_an_allocation_sentence_is_not_the_total() -> None:
    from metasift.extractor._consort import prose_counts, total_candidates

    page = _text_page("Sixty participants were randomly assigned to the intervention group and 58 to the control group.")
    assert total_candidates([page]) == []
    assert [(c.field, c.arm, c.value) for c in prose_counts([page])] == [
        ("n_randomised", "intervention", 60), ("n_randomised", "control", 58)]


def test_losses_as_fractions_with_the_arm_named_between_them() -> None:
    from metasift.extractor._consort import fraction_losses

    for text in ("Lost to follow-up: 9/60 in the intervention group vs 6/58 in the control group.",
                 "Attrition was 15% in the intervention group (9/60) and 10% in the control group (6/58)."):
        assert [pairs for pairs, _, _ in fraction_losses([_text_page(text)])] == [[(9, 60), (6, 58)]]
    # another count between them is not a second arm's loss
    assert fraction_losses([_text_page("Lost to follow-up 9/60 in 3 sites and 2/58 elsewhere.")]) == []


def test_a_label_listing_counts_across_the_width_is_no_second_block_of_groups() -> None:
    (t,) = _table(_line(100, (50, "Table 1 Baseline characteristics, mean (SD)")),
                  _line(112, (200, "IG (n = 20)"), (320, "WL (n = 20)")),
                  _line(124, (50, "Country: Albania (n = 2), Belarus (n = 3), Canada (n = 3), Ghana (n = 1)")),
                  _line(136, (50, "Stress"), (200, "13.1 (2.3)"), (320, "13.6 (2.5)")))
    assert [v.mean for v in t.values] == [13.1, 13.6]


def _rows_page(number: int, rows: list[list[Word]]) -> Page:
    return Page(number, "\n".join(join_words(r) for r in rows), "", [], rows, 595.0)


def test_groups_printed_as_rows_of_a_table_by_group_with_their_part() -> None:
    from metasift.extractor._row_arms import row_arms

    rows = [_line(100, (46, "TABLE 1 Participant demographics by dose group and study part.")),
            _line(112, (52, "Dose group"), (156, "Age, mean (SD)"), (240, "Male, n (%)")),
            _line(124, (52, "Part 1")),
            _line(136, (60, "Placebo (n=4)"), (156, "31.2 (12.9)"), (240, "4 (100)")),
            _line(148, (60, "5mg (n=6)"), (156, "29.0 (12.3)"), (240, "6 (100)")),
            _line(160, (52, "Part 2"), (240, "Sex, female")),
            _line(172, (60, "Placebo (n=2)"), (156, "23.0 (4.2)"), (240, "2 (100)")),
            _line(184, (60, "5mg (n=6)"), (156, "25.5 (5.8)"), (240, "6 (100)")),
            _line(198, (46, "Abbreviations: SD, standard deviation."))]
    groups = row_arms([_rows_page(7, rows)])
    assert [(g.name, g.n) for g in groups] == [("Part 1 Placebo", 4), ("Part 1 5 mg", 6), ("Part 2 Placebo", 2),
                                               ("Part 2 5 mg", 6)]
    # a table of subgroups is not by group: nothing read
    rows[0] = _line(100, (46, "TABLE 1 Outcomes in subgroups."))
    assert row_arms([_rows_page(7, rows)]) == []


def test_an_attrition_table_of_completers_and_dropouts_names_no_arms() -> None:
    from metasift.extractor.rules import _arm_names

    completers = _table(_line(100, (50, "Table 2 Baseline characteristics of completers and dropouts, mean (SD)")),
                        _line(112, (200, "Completers (n = 80)"), (320, "Dropouts (n = 20)")),
                        _line(124, (50, "PHQ-9"), (200, "14.1 (4.0)"), (320, "15.2 (4.4)")))
    arms = _table(_line(100, (50, "Table 1 Baseline characteristics, mean (SD)")),
                  _line(112, (200, "iCBT (n = 50)"), (320, "Waitlist (n = 50)")),
                  _line(124, (50, "PHQ-9"), (200, "14.1 (4.0)"), (320, "15.2 (4.4)")))
    assert _arm_names(completers, []) == []
    assert _arm_names(completers + arms, []) == ["iCBT", "Waitlist"]


def test_a_mean_and_an_sd_not_printed_side_by_side_wait_for_a_human() -> None:
    from metasift.extractor.schema import Baseline

    def status(quote: str, mean: float, sd: float) -> set[str]:
        arm = Arm(name="A", baselines=[Baseline(measure="PHQ-9", mean=mean, sd=sd, n=50)])
        result = ExtractionResult(path="x.pdf", arms=[arm])
        result.evidence = [Evidence(field=f"arms[0].baselines[0].{s}", value=v, page=2, quote=quote)
                           for s, v in (("mean", mean), ("sd", sd))]
        return {c.status for c in check_extraction(result, {2: quote})}

    assert status("PHQ-9 14.2 (4.1) 14.0 (3.9)", 14.2, 4.1) == {"auto_verified"}
    assert status("PHQ-9 14.2 ± 4.10 14.0 ± 3.9", 14.2, 4.1) == {"auto_verified"}
    assert status("PHQ-9 14.2 (4.1) 14.0 (3.9)", 14.2, 3.9) == {"needs_human"}  # another cell's SD


def test_a_sentence_that_nobody_left_gives_every_arm_no_dropouts_unless_it_names_an_exception() -> None:
    from metasift.extractor._consort import no_losses

    for said in ("All randomized participants completed the study.", "There were no participant dropouts.",
                 "No patient was withdrawn or lost to follow-up.", "No participants dropped out.",
                 "All 60 participants completed the trial.",
                 "We recruited 20 participants (11 physiotherapy, 9 control) and all completed the 10-week trial."):
        assert no_losses([_text_page(said)]) is not None, said
    for said in ("All participants completed the study except three in the CA arm.",
                 "All participants randomized in parts 1, 3, and 4 completed the study.",
                 "All participants completed the intervention.",
                 "Participants who did not complete the study were contacted.",
                 "No one dropped out before receiving the intervention.",  # one phase only
                 "No participants were lost to follow-up."):  # others may have withdrawn
        assert no_losses([_text_page(said)]) is None, said


def test_analysis_boxes_worded_otherwise() -> None:
    for left, right in (("Analysed in ITT (n = 50)", "Analysed in ITT (n = 48)"),
                        ("Included in the primary analysis (n = 50)", "Included in the primary analysis (n = 48)")):
        rows = [_line(100, (60, "Allocated to drug (n = 55)"), (300, "Allocated to placebo (n = 52)")),
                _line(140, (60, "Not analysed (n = 5)"), (300, "Not analysed (n = 4)")),
                _line(180, (60, left), (300, right))]
        got = {(c.arm, c.value) for c in diagram_counts([_page(rows)]) if c.field == "n_analysed"}
        assert got == {("drug", 50), ("placebo", 48)}, left


def test_a_measure_printed_without_its_item_count_or_with_a_subscale_letter_matches_its_instrument() -> None:
    from metasift.extractor.checks import items_of
    from metasift.extractor.outcomes import instrument_matches

    assert instrument_matches("DASS-21 depression", "DASS-D") and instrument_matches("PSS-10", "PSS")
    assert instrument_matches("STAI state", "STAI-S, mean (SD)") and not instrument_matches("STAI trait", "STAI-S")
    assert not instrument_matches("PHQ-9", "PHQ-15") and not instrument_matches("DASS-21 depression", "DASS-A")
    assert instrument_matches("PHQ-9", "PHQ-9 score") > instrument_matches("PHQ-9", "PHQ score")  # exact wins
    assert items_of("PSS") is None and items_of("PSS-10") == 10  # which version is not guessed


def test_a_total_said_of_all_pupils_in_each_school_is_still_the_total() -> None:
    from metasift.extractor._consort import total_candidates

    text = "In each school, all pupils in year 1 with a signed authorization (744 pupils) have been included in the trial."
    assert {v for v, _, _ in total_candidates([_text_page(text)])} == {744}


def test_an_ocr_box_border_read_as_a_huge_letter_does_not_join_two_columns_boxes() -> None:
    border = Word("i", 328, 504, 180, 73)  # Tesseract reads a box's edge as one tall "i"
    rows = [_line(100, (85, "Allocated to app (n = 94)"), (334, "Allocated to waitlist (n = 93)")),
            sorted(_line(180, (85, "Analysed (n = 85)"), (334, "Analysed (n = 84)")) + [border], key=lambda w: w.x0)]
    got = {(c.arm, c.value) for c in diagram_counts([_page(rows)]) if c.field == "n_analysed"}
    assert got == {("app", 85), ("waitlist", 84)}


def test_three_arms_listed_in_one_allocation_sentence_each_get_their_count() -> None:
    from metasift.extractor._consort import prose_counts

    page = _text_page("Of 836 screened, 546 were randomised: 182 to coaching, 179 to social media programme, "
                      "185 to attention control.")
    assert [(c.field, c.arm, c.value) for c in prose_counts([page])] == [
        ("n_randomised", "coaching", 182), ("n_randomised", "social media programme", 179),
        ("n_randomised", "attention control", 185)]


def test_header_names_spilling_over_narrow_columns_take_the_names_the_sentences_give() -> None:
    # long names overflow their columns, so words of two arms sit over one "(n = X)"
    lines = [_line(100, (50, "Table 1 Baseline characteristics, mean (SD)")),
             _line(108, (200, "Coaching")), _line(114, (225, "Social media programme")),
             _line(120, (290, "Attention control")),
             _line(128, (200, "(n = 182)"), (260, "(n = 179)"), (320, "(n = 185)")),
             _line(140, (50, "PHQ-9"), (200, "14.6 (4.4)"), (260, "14.4 (3.7)"), (320, "14.4 (3.9)"))]
    (t,) = find_tables([SimpleNamespace(number=3, rows=lines, width=595.0)], [])
    assert [a.name for a in t.arms] == ["Coaching Social", "Attention", "Attention control"]  # by x-overlap alone
    known = ["coaching", "social media programme", "attention control"]
    (t,) = find_tables([SimpleNamespace(number=3, rows=lines, width=595.0)], known)
    assert [a.name for a in t.arms] == ["coaching", "social media programme", "Attention control"]  # own case kept
    assert [v.mean for v in t.values] == [14.6, 14.4, 14.4]


def test_values_on_an_arm_no_sentence_names_wait_for_a_human() -> None:
    from metasift.extractor.rules import _doubt_unnamed_arms

    result = ExtractionResult(path="x.pdf", arms=[Arm(name="Coaching"), Arm(name="media programme Attention")])
    result.evidence = [Evidence(field=f"arms[{i}].n_randomised", value=v, page=2, quote=f"(n = {v})")
                       for i, v in enumerate((182, 179))]
    _doubt_unnamed_arms(result, ["coaching", "social media programme"], {})
    assert [ev.doubt is None for ev in result.evidence] == [True, False]
    assert "named by no sentence" in result.evidence[1].doubt
    (ok, doubted) = check_extraction(result, {2: "(n = 182) (n = 179)"})
    assert doubted.status == "needs_human"


def test_columns_a_sentence_names_by_their_counts_are_its_arms_not_unnamed_ones() -> None:
    from metasift.extractor._consort import Count
    from metasift.extractor._header import TableArm
    from metasift.extractor.rules import _counted_names, _doubt_unnamed_arms

    said = [Count("n_randomised", "CA", 98, 2, "CA (98 patients)", "prose"),
            Count("n_randomised", "ADT", 48, 2, "ADT (48 patients)", "prose")]

    def doubts(columns: list[tuple[str, int]]) -> list[bool]:
        table = SimpleNamespace(arms=[TableArm(name, n, f"(n = {n})") for name, n in columns])
        result = ExtractionResult(path="x.pdf", arms=[Arm(name=name) for name, _ in columns])
        result.evidence = [Evidence(field=f"arms[{i}].baselines[0].mean", value=55.0, page=4, quote="Age 55 (9)")
                           for i in range(len(columns))]
        _doubt_unnamed_arms(result, ["CA", "ADT"], _counted_names([table], said))
        return [ev.doubt is not None for ev in result.evidence]

    # "randomly assigned to CA (98 patients) or ADT (48 patients)" over "Ablation (n = 98)", "Drug therapy (n = 48)"
    assert doubts([("Ablation", 98), ("Drug therapy", 48)]) == [False, False]
    # equal counts cannot tell the columns apart, and a count no sentence prints names nothing
    said[1] = Count("n_randomised", "ADT", 98, 2, "ADT (98 patients)", "prose")
    assert doubts([("Ablation", 98), ("Drug therapy", 98)]) == [True, True]
    said[1] = Count("n_randomised", "ADT", 48, 2, "ADT (48 patients)", "prose")
    assert doubts([("Ablation", 98), ("Drug therapy", 47)]) == [True, True]


def test_a_secondary_analysis_takes_its_arms_from_the_randomisation_sentence_not_the_subgroup_tables() -> None:
    from metasift.extractor.design import secondary_analysis
    from metasift.extractor.rules import extract

    title = _line(60, (50, "Coaching versus waitlist by sex: a secondary analysis of a randomised controlled trial"))
    methods = _line(80, (50, "In the trial, 325 participants were randomised to coaching (n = 170) or waitlist (n = 155)."))
    table = [_line(100, (50, "Table 1 Baseline characteristics, mean (SD)")),
             _line(112, (200, "Women (n = 179)"), (320, "Men (n = 146)")),
             _line(124, (50, "PHQ-9"), (200, "14.6 (4.4)"), (320, "14.4 (3.7)"))]
    page = _rows_page(1, [title, methods, *table])
    assert secondary_analysis([(1, page.text)]) is not None
    result = extract(SimpleNamespace(pages=[page], path="x.pdf"), ocr=False)
    assert [(a.name, a.n_randomised, a.baselines) for a in result.arms] == [("coaching", 170, []), ("waitlist", 155, [])]
    assert result.design.secondary and any("secondary analysis" in w for w in result.warnings)
    # a primary report that plans secondary analyses of its outcomes is no secondary analysis
    assert secondary_analysis([(1, "Secondary analyses of the outcomes used mixed models.")]) is None


def test_a_row_that_names_the_baseline_in_an_outcome_table_is_that_measures_baseline() -> None:
    (t,) = _table(_line(100, (50, "Table 2 Outcomes by group, mean (SD)")),
                  _line(112, (200, "Intervention (n = 98)"), (320, "Control (n = 96)")),
                  _line(124, (50, "PHQ-9, baseline"), (200, "14.2 (4.1)"), (320, "14.0 (3.9)")),
                  _line(136, (50, "PHQ-9, post-treatment"), (200, "9.1 (4.4)"), (320, "12.8 (4.0)")),
                  _line(148, (50, "GAD-7, baseline, mean (SE)"), (200, "10.2 (0.4)"), (320, "10.4 (0.4)")),
                  _line(160, (50, "GAD-7, change from baseline"), (200, "-3.1 (4.0)"), (320, "-1.2 (3.8)")))
    got = [(v.measure, v.timepoint, v.mean, v.sd) for v in t.values if v.arm == 0]
    assert got[0] == ("PHQ-9", "baseline", 14.2, 4.1)
    assert got[1][:2] == ("PHQ-9, post-treatment", "post")
    assert got[2] == ("GAD-7, mean (SE)", "baseline", 10.2, None)
    assert got[3][0] == "GAD-7, change from baseline" and got[3][1] != "baseline"


def test_a_secondary_analysis_with_no_randomisation_sentence_sends_its_table_arms_to_a_human() -> None:
    from metasift.extractor.design import secondary_analysis
    from metasift.extractor.rules import extract

    assert secondary_analysis([(1, "This post hoc analysis of EMPA-REG OUTCOME evaluated uric acid.")])
    assert secondary_analysis([(1, "A post hoc analysis of the ITT population was done.")]) is None
    title = _line(60, (50, "Uric acid and outcomes: a post hoc analysis of EMPA-REG OUTCOME"))
    table = [_line(100, (50, "Table 1 Baseline characteristics, mean (SD)")),
             _line(112, (200, "Empagliflozin (n = 4687)"), (320, "Placebo (n = 2333)")),
             _line(124, (50, "Uric acid, mg/dL"), (200, "6.1 (1.5)"), (320, "6.0 (1.5)"))]
    result = extract(SimpleNamespace(pages=[_rows_page(1, [title, *table])], path="x.pdf"), ocr=False)
    assert [a.name for a in result.arms] == ["Empagliflozin", "Placebo"]
    arm_evidence = [ev for ev in result.evidence if ev.field.startswith("arms[")]
    assert arm_evidence and all("secondary analysis" in (ev.doubt or "") for ev in arm_evidence)


def test_an_n_wrapped_onto_the_next_header_line_still_names_its_arm() -> None:
    (t,) = _table(_line(100, (50, "Table 1 Baseline characteristics, mean (SD)")),
                  _line(112, (200, "Intervention (n ="), (320, "Control (n =")),
                  _line(121, (215, "58)"), (335, "62)")),
                  _line(134, (50, "PHQ-9"), (200, "14.6 (4.4)"), (320, "14.4 (3.7)")))
    assert [(a.name, a.n) for a in t.arms] == [("Intervention", 58), ("Control", 62)]
    assert [(v.mean, v.n) for v in t.values] == [(14.6, 58), (14.4, 62)]


def test_an_analysed_count_is_not_tied_by_a_dropout_computed_from_it() -> None:
    # randomised 62 (two statements), analysed 51 printed once, dropout 11 only computed as 62 - 51
    result = ExtractionResult(path="x.pdf", arms=[Arm(name="Coaching", n_randomised=62, n_analysed=51, n_dropout=11)])
    result.evidence = [Evidence(field="arms[0].n_randomised", value=62, page=1, quote="62 to coaching", support=2),
                       Evidence(field="arms[0].n_analysed", value=51, page=2, quote="Coaching (n = 51)")]
    checks = {c.field: c for c in check_extraction(result, {1: "62 to coaching", 2: "Coaching (n = 51)"})}
    assert checks["arms[0].n_analysed"].status == "needs_human"
    # a printed dropout of 11 does tie it
    result.evidence.append(Evidence(field="arms[0].n_dropout", value=11, page=2, quote="lost to follow-up (n = 11)"))
    checks = {c.field: c for c in check_extraction(result, {1: "62 to coaching",
                                                            2: "Coaching (n = 51) lost to follow-up (n = 11)"})}
    assert checks["arms[0].n_analysed"].status == "auto_verified"


def test_an_n_split_after_its_open_bracket_still_names_its_arm() -> None:
    (t,) = _table(_line(100, (50, "Table 2 Outcomes, mean (SD)")),
                  _line(112, (200, "Coaching (n"), (320, "Usual care (n")),
                  _line(121, (215, "= 55)"), (335, "= 49)")),
                  _line(134, (50, "PHQ-9, post-treatment"), (200, "9.6 (4.4)"), (320, "12.4 (3.7)")))
    assert [(a.name, a.n) for a in t.arms] == [("Coaching", 55), ("Usual care", 49)]


def test_arms_listed_with_in_after_an_allocation_and_their_losses_as_parts_of_each_arm_are_read() -> None:
    from metasift.extractor._consort import prose_counts

    page = _text_page("Of 23 schools invited, 16 agreed and were randomised (8 per arm), enrolling 127 students: "
                      "62 in intervention schools, 65 in control schools. At follow-up, 3 of 62 students in "
                      "intervention schools and 6 of 65 in control schools were lost to follow-up (absent on the "
                      "assessment day or moved school).")
    assert [(c.field, c.arm, c.value) for c in prose_counts([page])] == [
        ("n_randomised", "intervention schools", 62), ("n_randomised", "control schools", 65),
        ("n_dropout", "intervention schools", 3), ("n_dropout", "control schools", 6)]


def test_packages_listed_after_a_colon_each_with_its_clusters_and_n_are_as_many_arms_even_when_names_nest() -> None:
    from metasift.extractor.pdf import PdfDocument
    from metasift.extractor.rules import extract

    text = ("The programme was evaluated in 36 village clusters, allocated at random to four packages: cash "
            "transfer only (7 clusters, n = 141 households); cash plus lump sum (7 clusters, n = 164 households); "
            "cash plus training (12 clusters, n = 298 households); cash plus lump sum and training (10 clusters, "
            "n = 267 households). The evaluation combined a survey with interviews.")
    result = extract(PdfDocument("p.pdf", [_text_page(text)], {}), ocr=False)
    assert [(a.name, a.n_randomised) for a in result.arms] == [
        ("cash transfer only", 141), ("cash plus lump sum", 164), ("cash plus training", 298),
        ("cash plus lump sum and training", 267)]


def test_a_tables_text_run_into_the_prose_gives_no_sentence_counts_and_a_sentence_naming_a_table_still_does() -> None:
    from metasift.extractor._consort import prose_counts

    # a completers table whose caption and header came out of the text layer as one run of "prose"
    table = _text_page("Table 2 Outcomes by group; participants with outcome data (completers) Non-randomised "
                       "comparison group (n = 29) iCBT (n = 48) Attention control (n = 48) Mean (SD) Mean (SD) "
                       "Mean (SD) STAI-S, post-treatment 47.8 (10.5) 40.8 (13.5) 45.9 (10.8) STAI-S, follow-up "
                       "46.9 (10.5) 41.3 (11.0) 44.9 (12.4)")
    assert prose_counts([table]) == []
    # a sentence that names a table, or cites one in brackets, is still a sentence
    for text in ("Table 1 shows the 109 randomised participants: iCBT (n = 54) and attention control (n = 55).",
                 "Of those randomised (Table 1), iCBT (n = 54) and attention control (n = 55) were similar in "
                 "age 22.2 (3.1) vs 22.0 (3.1), sleep 7.6 (1.1) vs 7.5 (1.2) and BMI 26.1 (4.7) vs 26.3 (5.0)."):
        assert [(c.arm, c.value) for c in prose_counts([_text_page(text)])] == [
            ("iCBT", 54), ("attention control", 55)], text


def test_an_allocation_list_that_cites_its_flow_figure_after_the_last_arm_still_gives_every_arm() -> None:
    from metasift.extractor._consort import prose_counts

    page = _text_page("Of 290 screened, 182 were randomised: 60 to social media programme, 59 to mindfulness app, "
                      "63 to information leaflet (Figure 1).")
    assert [(c.arm, c.value) for c in prose_counts([page])] == [
        ("social media programme", 60), ("mindfulness app", 59), ("information leaflet", 63)]
    pair = _text_page("In all, 52 were randomised to the app and 53 to usual care (see Fig. 1).")
    assert [(c.arm, c.value) for c in prose_counts([pair])] == [("app", 52), ("usual care", 53)]


def test_a_randomised_count_ocr_misread_gives_way_to_the_number_a_randomised_table_prints() -> None:
    from metasift.extractor.rules import _Candidate, _settle_counts
    from metasift.extractor.schema import Arm, ExtractionResult

    result = ExtractionResult(path="p.pdf", arms=[Arm(name="Peer support")])
    box = [51.0, 148.0, 544.0, 448.0]
    _settle_counts(result, {(0, "n_randomised"): [
        _Candidate(113, 2, "Allocated to peer support (n= 113)", "ocr", box),
        _Candidate(119, 2, "Peer support (n = 119)", "table")],
        (0, "n_analysed"): [_Candidate(115, 2, "Analysed (n= 115)", "ocr", box)]})
    assert result.arms[0].n_randomised == 119
    assert result.arms[0].n_analysed == 115  # nothing printed in the text layer to set against the OCR reading
    assert "Peer support: n_randomised is 119 (page 2) but 113 on page 2" in result.warnings
    (randomised,) = [e for e in result.evidence if e.field == "arms[0].n_randomised"]
    assert (randomised.source, randomised.origin) == ("rule", "table")


def test_a_table_ends_at_a_gap_wider_than_its_line_pitch_so_a_flow_diagram_under_it_is_no_block_of_its_rows() -> None:
    rows = [_line(100, (57, "Table 2 Outcomes by group; participants with outcome data (completers)")),
            _line(112, (174, "App (n = 90)"), (300, "Waitlist (n = 79)")),
            _line(124, (176, "Mean ± SD"), (302, "Mean ± SD")),
            _line(136, (63, "HADS-A, baseline"), (176, "10.32 ± 3.43"), (302, "10.56 ± 4.06")),
            _line(148, (63, "HADS-A, post-treatment"), (176, "8.94 ± 4.00"), (302, "10.14 ± 4.55")),
            _line(160, (63, "HADS-A, follow-up"), (176, "8.47 ± 3.47"), (302, "10.27 ± 4.54")),
            # the trial's flow diagram, set 30 pt under the table
            _line(190, (150, "Enrollment")),
            _line(210, (140, "Allocated to app (n = 92)"), (300, "Allocated to waitlist (n = 90)")),
            _line(230, (140, "Analysed (n = 90)"), (300, "Analysed (n = 79)"))]
    (t,) = find_tables([_page(rows)], [])
    assert [(a.name, a.n) for a in t.arms] == [("App", 90), ("Waitlist", 79)]
    assert sorted((v.mean, v.sd) for v in t.values if v.arm == 0) == [(8.47, 3.47), (8.94, 4.0), (10.32, 3.43)]


def test_a_right_column_shorter_than_a_fifth_of_the_page_is_still_a_column_when_nothing_crosses_the_gutter() -> None:
    from metasift.extractor.layout import gutter

    left = [_line(100 + 12 * i, (57, "the trial was run in eight centres and all")) for i in range(50)]
    refs = [_line(100 + 12 * i, (312, f"{i + 1}. Author A, Author B. A title of a paper.")) for i in range(9)]
    assert gutter(left[:41] + refs, 595.0) is not None  # 9 of 50 lines right of the gutter
    assert gutter(left[:41] + refs[:6], 595.0) is None  # six lines are no column
    crossing = [_line(700, (57, "a line set across the whole width of the page from margin to margin"))]
    assert gutter(left[:41] + refs + crossing, 595.0) is None


def test_a_sentence_that_opens_with_a_numeral_is_its_own_sentence_so_the_allocation_before_it_is_read() -> None:
    from metasift.extractor._consort import prose_counts
    from metasift.extractor._text import sentences

    text = ("Of 206 screened, 126 were randomised: 66 to sequence AB, 60 to sequence BA. 17 participants did not "
            "complete the second period. Smith et al. 2019 and Fig. 2 show more.")
    assert sentences(text) == [
        "Of 206 screened, 126 were randomised: 66 to sequence AB, 60 to sequence BA.",
        "17 participants did not complete the second period.", "Smith et al. 2019 and Fig. 2 show more."]
    assert [(c.arm, c.value) for c in prose_counts([_text_page(text)])] == [("sequence AB", 66), ("sequence BA", 60)]


def test_diagram_boxes_set_close_side_by_side_are_separate_columns_not_one_box_across_them() -> None:
    # "(n=156)" ends 6 pt before the next column's "Allocated": two boxes, not one line across the boundary
    rows = [_line(100, (57, "Allocated to app (n=157)"), (172, "Allocated to social media programme (n=156)"),
                  (350, "Allocated to usual care (n=154)")),
            _line(130, (57, "Lost to follow-up (n=7)"), (172, "Lost to follow-up (n=11)"), (350, "Lost to follow-up (n=5)")),
            _line(160, (57, "Analysed (n=150)"), (172, "Analysed (n=145)"), (350, "Analysed (n=149)"))]
    assert 350 - rows[0][9].x1 == 6  # the middle column's "(n=156)" ends 6 pt before the next "Allocated"
    got = {(c.field, c.arm, c.value) for c in diagram_counts([_page(rows)])}
    assert {("n_randomised", "usual care", 154), ("n_analysed", "usual care", 149),
            ("n_randomised", "social media programme", 156)} <= got


def test_a_table_that_lost_a_column_gives_way_to_the_arms_its_allocation_sentence_names() -> None:
    from metasift.extractor._consort import Count
    from metasift.extractor._tables import Table
    from metasift.extractor._values import TableArm
    from metasift.extractor.rules import _arm_names

    sentence = "467 were randomised: 157 to unguided app, 156 to social media programme, 154 to usual care."
    counts = [Count("n_randomised", arm, n, 2, f"{n} to {arm}", "prose", sentence=sentence)
              for arm, n in (("unguided app", 157), ("social media programme", 156), ("usual care", 154))]
    table = Table(2, "Table 2 Outcomes by group", "outcome", "post", "analysed",
                  [TableArm("Unguided app", 150, "(n = 150)"), TableArm("programme", 145, "(n = 145)")])
    assert _arm_names([table], counts) == ["Unguided app", "social media programme", "usual care"]
    # a table naming every arm keeps its own names
    whole = Table(2, "Table 1 Baseline", "baseline", "baseline", "randomised",
                  [TableArm("Unguided app", 157, ""), TableArm("Social media programme", 156, ""),
                   TableArm("Usual care", 154, "")])
    assert _arm_names([whole], counts) == ["Unguided app", "Social media programme", "Usual care"]


def test_mean_standard_deviation_stacked_over_three_lines_under_each_arm_declares_its_pairs() -> None:
    rows = [_line(100, (51, "Table 1 Baseline characteristics of the randomised participants")),
            _line(112, (123, "Peer support"), (181, "Waitlist (n = 73)")),
            _line(120, (131, "(n = 147)")),
            _line(130, (136, "mean"), (193, "mean")),
            _line(138, (129, "(standard"), (185, "(standard")),
            _line(146, (128, "deviation)"), (185, "deviation)")),
            _line(158, (54, "Age, years"), (130, "22.6 (3.6)"), (186, "22.2 (3.5)")),
            _line(170, (54, "PSS-10"), (130, "20.3 (5.9)"), (186, "20.7 (5.4)"))]
    (t,) = find_tables([_page(rows)], [])
    assert [(a.name, a.n) for a in t.arms] == [("Peer support", 147), ("Waitlist", 73)]
    assert [(v.measure, v.arm, v.mean, v.sd, v.doubt) for v in t.values if v.measure == "PSS-10"] == [
        ("PSS-10", 0, 20.3, 5.9, ""), ("PSS-10", 1, 20.7, 5.4, "")]


def test_counts_printed_with_thousands_separators_are_read_whole_in_sentences_and_table_headers() -> None:
    from metasift.extractor._consort import prose_counts
    from metasift.extractor.checks import quote_on_page

    page = _text_page("Of 6,609 randomised, 3,304 were assigned to empagliflozin and 3,305 to placebo.")
    assert [(c.arm, c.value) for c in prose_counts([page])] == [("empagliflozin", 3304), ("placebo", 3305)]
    assert quote_on_page("3304 were assigned to empagliflozin", page.text) == 100.0
    rows = [_line(100, (57, "Table 1 Baseline characteristics")),
            _line(112, (200, "Dronedarone (n = 2,301)"), (320, "Placebo (n = 2,327)")),
            _line(124, (57, "Age, years"), (210, "64.7 ± 9.1"), (330, "64.9 ± 9.4"))]
    (t,) = find_tables([_page(rows)], [])
    assert [(a.name, a.n) for a in t.arms] == [("Dronedarone", 2301), ("Placebo", 2327)]
    # a decimal comma, a citation glued to its word and a list of small numbers are left alone
    from metasift.extractor._text import norm
    assert norm("p = 0,001; trials12,345; items 1,2,3") == "p = 0,001; trials12,345; items 1,2,3"


def test_a_note_declaring_one_measures_statistic_leaves_the_other_rows_as_their_header_declares_them() -> None:
    rows = [_line(100, (57, "Table 1 Baseline characteristics of the randomised participants")),
            _line(112, (200, "App (n = 64)"), (320, "Waitlist (n = 66)")),
            _line(124, (204, "Mean + SD"), (324, "Mean + SD")),
            _line(136, (57, "BDI-II"), (204, "23.1 + 9.8"), (324, "21.9 + 7.6")),
            _line(148, (57, "BAI"), (204, "17.5 (1.15)"), (324, "16.1 (1.16)")),
            _line(160, (57, "Categorical variables: n (%). BAI: mean (SE)."))]
    (t,) = find_tables([_page(rows)], [])
    got = {(v.measure, v.arm): (v.mean, v.sd, v.printed_as) for v in t.values}
    assert got[("BDI-II", 0)] == (23.1, 9.8, "mean (SD)")
    assert got[("BAI", 0)] == (17.5, None, "mean (SE)")  # the note's SE for BAI only, never read as an SD


def test_an_arm_name_a_sentence_joined_across_a_line_break_hyphen_is_the_tables_hyphenated_name() -> None:
    from metasift.extractor._text import name_key, same_arm

    # "guided self-" / "help" in a sentence becomes "selfhelp"; the table prints "Guided self-help"
    assert same_arm("Guided self-help", "guided selfhelp")
    assert name_key("wait-list control") == name_key("waitlist control") == "waitlist control"
    assert not same_arm("self-help", "help")


def test_in_a_two_arm_paper_a_column_called_intervention_beside_one_the_sentences_name_is_the_other_arm() -> None:
    from metasift.extractor.rules import _doubt_unnamed_arms

    def doubts(arms: list[str], said: list[str]) -> list[bool]:
        result = ExtractionResult(path="x.pdf", arms=[Arm(name=a) for a in arms])
        result.evidence = [Evidence(field=f"arms[{i}].n_randomised", value=50 + i, page=2, quote="")
                           for i in range(len(arms))]
        _doubt_unnamed_arms(result, said, {})
        return [ev.doubt is not None for ev in result.evidence]

    # "Control" is the sentences' "attention control", so "Intervention" can only be "coaching"
    assert doubts(["Intervention", "Control"], ["coaching", "attention control"]) == [False, False]
    # neither column is named as a sentence names an arm: which is which is for a human
    assert doubts(["Intervention", "Control"], ["iCBT", "information leaflet"]) == [True, True]
    # a column with a name of its own that no sentence gives is still doubted, and so are three arms
    assert doubts(["Peer mentoring", "Control"], ["coaching", "attention control"]) == [True, False]
    assert doubts(["Intervention", "Control", "App"], ["coaching", "attention control", "app"]) == [True, False, False]
