"""Tables as browsers and publishers break them: headers wrapped inside their brackets, subscale rows under
their instrument's line, captions left at a page's foot or set after the other column's prose, and glyphs the
PDF reader splits apart."""

from __future__ import annotations

from types import SimpleNamespace

from metasift.extractor._tables import find_tables
from metasift.extractor.layout import SOFT_BREAK, Char, words_from_chars
from tests.helpers import printed_line as _line


def _tables(*pages: list) -> list:
    return find_tables([SimpleNamespace(number=k + 1, rows=rows, width=595.0) for k, rows in enumerate(pages)], [])


def _arms(table) -> list[tuple]:
    return [(a.name, a.n) for a in table.arms]


def test_a_cluster_header_names_each_arm_before_its_bracket_of_clusters() -> None:
    (t,) = _tables([_line(100, (50, "Table 1 Baseline characteristics")),
                    _line(112, (120, "Intervention schools (8 schools, n = 37)"),
                          (320, "Control schools (8 schools, n = 42)")),
                    _line(124, (50, "PHQ-9"), (160, "12.5 (4.1)"), (360, "12.8 (3.7)"))])
    assert _arms(t) == [("Intervention schools", 37), ("Control schools", 42)]
    assert [(v.mean, v.sd) for v in t.values] == [(12.5, 4.1), (12.8, 3.7)]


def test_a_cluster_header_wrapped_inside_its_bracket_keeps_the_name_from_the_line_above() -> None:
    (t,) = _tables([_line(100, (50, "Table 1 Baseline characteristics")),
                    _line(112, (120, "Intervention schools"), (260, "Control schools (8")),
                    _line(122, (120, "(8 schools, n = 51)"), (260, "schools, n = 56)")),
                    _line(134, (50, "PHQ-9"), (130, "13.5 (3.8)"), (270, "13.4 (4.3)"))])
    assert _arms(t) == [("Intervention schools", 51), ("Control schools", 56)]
    assert [v.mean for v in t.values] == [13.5, 13.4]


def test_subscale_rows_under_their_instruments_line_are_that_instruments_subscales() -> None:
    (t,) = _tables([_line(100, (50, "Table 1 Baseline characteristics, mean (SD)")),
                    _line(112, (200, "iCBT (n = 82)"), (320, "Control (n = 44)")),
                    _line(124, (50, "BDI-II"), (200, "21.9 (8.4)"), (320, "21.2 (7.7)")),
                    _line(136, (50, "DASS-21")),
                    _line(148, (50, "Depression"), (200, "17.2 (8.1)"), (320, "15.9 (9.0)")),
                    _line(160, (50, "Anxiety"), (200, "12.0 (5.0)"), (320, "11.0 (4.0)")),
                    _line(172, (50, "Age, years"), (200, "31.0 (4.0)"), (320, "30.0 (5.0)"))])
    measures = [v.measure for v in t.values if v.arm == 0]
    assert measures == ["BDI-II", "DASS-21 Depression", "DASS-21 Anxiety", "Age, years"]


def test_a_caption_left_at_a_pages_foot_reads_the_table_that_starts_the_next_page() -> None:
    prose = [_line(100 + 12 * k, (50, "participants were recruited online and screened by phone")) for k in range(8)]
    first = prose + [_line(200, (50, "Table 1 Baseline characteristics of the randomised participants"))]
    second = [_line(60, (200, "Coaching (n = 61)"), (320, "Waitlist (n = 60)")),
              _line(72, (50, "PHQ-9, mean (SD)"), (200, "14.2 (4.1)"), (320, "14.0 (3.9)"))] + \
        [_line(100 + 12 * k, (50, "the intervention was delivered by trained peer supporters")) for k in range(8)]
    (t,) = _tables(first, second)
    assert t.page == 2 and t.caption.startswith("Table 1 Baseline characteristics")
    assert _arms(t) == [("Coaching", 61), ("Waitlist", 60)]
    assert [v.mean for v in t.values] == [14.2, 14.0]


def test_a_caption_after_the_other_columns_prose_reads_its_table_across_the_page() -> None:
    rows = [_line(100, (50, "favoured the intervention, d = 0.52"), (307, "Table 1 Baseline characteristics of")),
            _line(112, (50, "and the effect was maintained"), (307, "the randomised participants")),
            _line(124, (50, "at follow-up.")),
            _line(140, (250, "Intervention (n = 81)"), (420, "Control (n = 78)")),
            _line(152, (54, "Age, years"), (260, "21.7 (3.4)"), (430, "22.1 (3.1)")),
            _line(164, (54, "PHQ-9"), (260, "14.1 (4.0)"), (430, "13.9 (4.2)"))]
    (t,) = _tables(rows)
    assert t.caption == "Table 1 Baseline characteristics of the randomised participants"
    assert _arms(t) == [("Intervention", 81), ("Control", 78)]
    assert [(v.measure, v.mean) for v in t.values if v.arm == 0] == [("Age, years", 21.7), ("PHQ-9", 14.1)]


def test_a_reader_inserted_line_break_ends_a_word_only_where_the_glyphs_part() -> None:
    def glyph(text: str, x0: float) -> Char:
        return Char(text, x0, x0 + 4.0, 100.0, 8.0)

    glued = [glyph("W", 10), SOFT_BREAK, SOFT_BREAK, glyph("a", 14), SOFT_BREAK, glyph("i", 18),
             SOFT_BREAK, glyph("t", 22)]
    assert [w.text for w in words_from_chars(glued)] == ["Wait"]
    apart = [glyph("a", 10), SOFT_BREAK, glyph("b", 20)]  # a gap of 1.5 em: two words
    assert [w.text for w in words_from_chars(apart)] == ["a", "b"]
    assert [w.text for w in words_from_chars([glyph("a", 10), None, glyph("b", 14)])] == ["a", "b"]


def test_a_label_that_declares_its_rows_counts_is_no_new_sub_header() -> None:
    # wide arm headers reach back over the label column, so the label's "n (%)" sits where sub-headers may start
    (t,) = _tables([_line(100, (50, "Table 1 Baseline characteristics")),
                    _line(112, (120, "Intervention (2 sites, n = 72)"), (290, "Control (2 sites, n = 73)")),
                    _line(122, (120, "n"), (160, "Mean"), (205, "SD"), (290, "n"), (330, "Mean"), (375, "SD")),
                    _line(134, (50, "Age"), (120, "72"), (160, "68.1"), (205, "7.5"), (290, "73"), (330, "66.7"),
                          (375, "7.8")),
                    _line(146, (50, "Ethnicity, n (%)")),
                    _line(158, (50, "White"), (120, "39"), (160, "54.2%"), (290, "45"), (330, "61.6%")),
                    _line(170, (50, "HADS-D"), (120, "69"), (160, "9.9"), (205, "3.4"), (290, "71"), (330, "10.2"),
                          (375, "3.5"))])
    got = [(t.arms[v.arm].name, v.measure, v.mean, v.sd, v.n) for v in t.values if v.measure == "HADS-D"]
    assert got == [("Intervention", "HADS-D", 9.9, 3.4, 69), ("Control", "HADS-D", 10.2, 3.5, 71)]


def test_an_arm_name_wrapped_above_its_n_keeps_both_lines_and_not_the_next_arms_name() -> None:
    head = [_line(100, (50, "Table 1 Baseline characteristics")),
            _line(112, (150, "Behavioural"), (240, "Information leaflet")),
            _line(122, (150, "activation (n = 179)"), (250, "(n = 177)")),
            _line(134, (50, "GAD-7, mean (SD)"), (160, "10.7 (5.1)"), (260, "10.0 (3.9)"))]
    (t,) = _tables(head)
    assert _arms(t) == [("Behavioural activation", 179), ("Information leaflet", 177)]
    wrapped = [_line(100, (50, "Table 2 Outcomes")),
               _line(112, (130, "Behavioural activation"), (220, "Information leaflet (n")),
               _line(122, (150, "(n = 179)"), (258, "= 177)")),
               _line(134, (50, "GAD-7, post-treatment, mean (SD)"), (160, "8.1 (4.0)"), (260, "8.9 (4.2)"))]
    (t,) = _tables(wrapped)
    assert _arms(t) == [("Behavioural activation", 179), ("Information leaflet", 177)]


def test_a_caption_atop_the_right_column_passes_over_the_left_columns_last_lines_to_its_table() -> None:
    rows = [_line(100, (307, "Table 1 Baseline characteristics of the participants")),
            _line(112, (50, "Figure 1 CONSORT flow diagram of participants.")),
            _line(124, (50, "Groups were comparable at baseline (Table 1).")),
            _line(140, (240, "Intervention (n = 60)"), (420, "Control (n = 65)")),
            _line(152, (54, "BDI-II, mean (SD)"), (250, "24.1 (7.5)"), (430, "23.8 (9.2)"))]
    (t,) = _tables(rows)
    assert _arms(t) == [("Intervention", 60), ("Control", 65)]
    assert [v.mean for v in t.values] == [24.1, 23.8]


def test_a_plus_set_between_two_numbers_is_a_lost_plus_minus() -> None:
    (t,) = _tables([_line(100, (50, "Table 1 Baseline characteristics")),
                    _line(112, (200, "iCBT (n = 121)"), (320, "Usual care (n = 58)")),
                    _line(124, (50, "PSS-10"), (200, "22.4 + 5.8"), (320, "21.0 + 6.3")),
                    _line(136, (50, "Change in weight, kg"), (200, "+3.1"), (320, "+2.0"))])
    assert [(v.measure, v.mean, v.sd) for v in t.values] == [("PSS-10", 22.4, 5.8), ("PSS-10", 21.0, 6.3)]


def test_a_group_outside_the_randomisation_printed_first_is_no_arm() -> None:
    (t,) = _tables([_line(100, (50, "Table 1 Baseline characteristics")),
                    _line(112, (140, "Declined randomisation (observed)")),
                    _line(122, (170, "(n = 46)"), (300, "Intervention (n = 159)"), (420, "Control (n = 156)")),
                    _line(134, (50, "STAI-S, mean (SD)"), (170, "45.9 (11.0)"), (310, "46.2 (10.1)"),
                          (430, "45.0 (9.8)"))])
    assert [(a.name, a.total) for a in t.arms][1:] == [("Intervention", False), ("Control", False)]
    assert t.arms[0].total  # its values belong to no arm
    assert [(t.arms[v.arm].name, v.mean) for v in t.values] == [("Intervention", 46.2), ("Control", 45.0)]


def test_a_subgroup_by_arm_header_whose_ns_wrap_reads_no_subgroups_column_as_an_arm() -> None:
    rows = [_line(100, (50, "Table 1 Baseline characteristics by younger versus older participants")),
            _line(112, (120, "Younger participants"), (260, "Older participants")),
            _line(122, (150, "iCBT, n"), (190, "Attention"), (290, "iCBT, n"), (330, "Attention")),
            _line(132, (160, "= 57"), (184, "control, n = 62"), (300, "= 44"), (324, "control, n = 42")),
            _line(144, (50, "GAD-7"), (150, "11.0 (4.0)"), (200, "11.3 (4.1)"), (290, "10.8 (4.4)"),
                  (340, "11.1 (4.9)"))]
    assert all("57" not in a.name and "44" not in a.name for t in _tables(rows) for a in t.arms)
    assert not any(v.measure == "GAD-7" for t in _tables(rows) for v in t.values)


def test_a_cluster_bracket_under_the_arms_name_takes_the_whole_name_above_it() -> None:
    (t,) = _tables([_line(100, (50, "Table 1 Baseline characteristics")),
                    _line(112, (130, "Intervention schools"), (290, "Control schools")),
                    _line(122, (134, "(8 schools, n = 38)"), (284, "(8 schools, n = 34)")),
                    _line(134, (50, "HADS-D, mean (SD)"), (150, "10.4 (3.3)"), (300, "10.2 (3.2)"))])
    assert _arms(t) == [("Intervention schools", 38), ("Control schools", 34)]


def test_an_n_column_set_left_of_a_wide_arm_name_still_splits_the_arm_into_n_mean_and_sd() -> None:
    (t,) = _tables([_line(100, (50, "Table 1 Baseline characteristics")),
                    _line(112, (245, "Problem-solving therapy (n = 48)"), (455, "Waitlist (n = 51)")),
                    _line(122, (208, "n"), (285, "Mean"), (377, "SD"), (433, "n"), (470, "Mean"), (510, "SD")),
                    _line(134, (50, "HADS-D"), (208, "46"), (285, "10.0"), (377, "4.0"), (433, "50"), (470, "9.6"),
                          (510, "3.7"))])
    assert [(v.mean, v.sd, v.n) for v in t.values] == [(10.0, 4.0, 46), (9.6, 3.7, 50)]


def test_an_n_wrapped_beside_whole_ns_and_a_p_column_goes_to_its_own_arm() -> None:
    (t,) = _tables([_line(100, (50, "Table 2 Outcomes by group")),
                    _line(112, (116, "Coaching (n"), (168, "Peer support"), (224, "Usual care")),
                    _line(122, (129, "= 55)"), (178, "(n = 51)"), (230, "(n = 49)"), (275, "p")),
                    _line(134, (50, "PHQ-9, mean (SD)"), (120, "9.1 (4.0)"), (175, "9.9 (4.2)"), (228, "10.2 (4.4)"),
                          (275, "0.21"))])
    assert _arms(t) == [("Coaching", 55), ("Peer support", 51), ("Usual care", 49)]


def test_an_n_wrapped_after_a_separate_equals_sign_keeps_the_next_arms_name() -> None:
    (t,) = _tables([_line(100, (50, "Table 1 Baseline characteristics")),
                    _line(112, (160, "Intervention (n ="), (236, "Control (n =")),
                    _line(122, (206, "58)"), (266, "62)")),
                    _line(134, (50, "GAD-7, mean (SD)"), (170, "11.5 (3.8)"), (240, "11.2 (3.9)"))])
    assert _arms(t) == [("Intervention", 58), ("Control", 62)]


def test_an_n_wrapped_beside_a_short_name_set_low_with_its_whole_n_goes_to_the_long_name() -> None:
    # a header aligned at the bottom: "iCBT (n = 941)" fits its cell and sits on the line the long name's n
    # wrapped onto
    (t,) = _tables([_line(100, (50, "Table 1 Baseline characteristics")),
                    _line(112, (205, "Attention control (n =")),
                    _line(122, (141, "iCBT (n = 941)"), (236, "938)")),
                    _line(132, (140, "n"), (156, "Mean"), (184, "SD"), (210, "n"), (233, "Mean"), (269, "SD")),
                    _line(144, (50, "GAD-7"), (140, "939"), (156, "11.25"), (184, "4.76"), (210, "935"),
                          (233, "10.70"), (269, "4.10"))])
    assert _arms(t) == [("iCBT", 941), ("Attention control", 938)]
    assert [(v.mean, v.sd, v.n) for v in t.values] == [(11.25, 4.76, 939), (10.70, 4.10, 935)]


def test_a_total_n_wrapped_after_an_open_bracket_and_a_separate_equals_sign_is_one_cell() -> None:
    # "(n" and "=" are two words of one open cell: one wrapped number fills it (counted as two, the line was
    # read as a header that left a number over)
    (t,) = _tables([_line(100, (50, "Table 1 Baseline characteristics by symptom severity")),
                    _line(112, (137, "Mild"), (197, "Moderate"), (250, "Total (n =")),
                    _line(122, (139, "symptoms (n = 59)"), (194, "severe (n = 72)"), (259, "131)")),
                    _line(134, (50, "PHQ-9, mean (SD)"), (140, "8.5 (2.8)"), (197, "15.2 (3.9)"), (255, "12.3 (4.1)"))])
    assert [(a.n, a.total) for a in t.arms] == [(59, False), (72, False), (131, True)]


def test_a_name_set_left_over_its_n_keeps_the_words_past_the_ns_end() -> None:
    # header cells aligned left: "Empagliflozin group" runs on past "(n=2345)" below it
    (t,) = _tables([_line(100, (50, "Table 1 Baseline characteristics")),
                    _line(112, (160, "Empagliflozin group"), (300, "Placebo group")),
                    _line(122, (160, "(n=2345)"), (300, "(n=2333)")),
                    _line(134, (50, "Uric acid (mg/dL), mean (SD)"), (170, "6.1 (1.5)"), (310, "6.2 (1.4)"))])
    assert _arms(t) == [("Empagliflozin group", 2345), ("Placebo group", 2333)]


def test_a_dose_arms_name_set_over_two_lines_above_its_n_keeps_both_lines() -> None:
    (t,) = _tables([_line(100, (50, "Table 1 Baseline characteristics")),
                    _line(112, (160, "Placebo"), (250, "Empagliflozin"), (340, "Empagliflozin"), (420, "All")),
                    _line(122, (250, "10 mg"), (340, "25 mg")),
                    _line(132, (160, "(n=2333)"), (250, "(n=2345)"), (340, "(n=2342)"), (420, "(n=7020)")),
                    _line(144, (50, "Uric acid, mg/dl"), (170, "6.1 ± 1.5"), (260, "6.0 ± 1.5"), (350, "6.2 ± 1.4"),
                          (430, "6.1 ± 1.5"))])
    assert _arms(t) == [("Placebo", 2333), ("Empagliflozin 10 mg", 2345), ("Empagliflozin 25 mg", 2342), ("All", 7020)]
    assert t.arms[3].total


def test_a_heading_over_two_arms_names_is_no_first_line_of_either_name() -> None:
    # subgroup x arm: "High adherence" centred over both arms' names is a heading, not part of a name, so the
    # table stays the same two arms twice (not read as four arms)
    tables = _tables([_line(100, (50, "Table 1 Baseline characteristics by high versus low adherence")),
                      _line(112, (230, "High adherence"), (420, "Low adherence")),
                      _line(122, (160, "Problem-solving therapy"), (270, "Information leaflet"),
                            (360, "Problem-solving therapy"), (470, "Information leaflet")),
                      _line(132, (185, "(n = 32)"), (290, "(n = 16)"), (385, "(n = 27)"), (490, "(n = 13)")),
                      _line(144, (50, "DASS-21 Depression"), (185, "16.8 (10.5)"), (290, "16.4 (8.1)"),
                            (385, "16.1 (9.9)"), (490, "17.0 (8.8)"))])
    assert not any("adherence" in a.name for t in tables for a in t.arms)


def test_the_equals_sign_put_into_one_wrapped_cell_is_no_open_cell_for_the_next_number() -> None:
    # "Coaching (n" / "= 3,435)": the "=" given to the first cell must not draw the next arm's wrapped n to it
    (t,) = _tables([_line(100, (50, "Table 2 Outcomes by group")),
                    _line(110, (159, "Stress"), (230, "Attention")),
                    _line(120, (106, "Coaching (n"), (159, "management (n ="), (230, "control (n =")),
                    _line(130, (106, "= 3,435)"), (159, "3,438)"), (230, "3,434)")),
                    _line(142, (50, "HADS-D, mean (SD)"), (106, "8.1 (4.0)"), (159, "8.9 (4.2)"), (230, "9.0 (4.1)"))])
    assert _arms(t) == [("Coaching", 3435), ("Stress management", 3438), ("Attention control", 3434)]


def test_a_name_centred_over_its_n_keeps_the_words_past_both_its_ends() -> None:
    # "Duloxetine 120 mg" centred over the narrower "(n = 454)": "mg" lies past the n's end
    (t,) = _tables([_line(100, (50, "Table 1 Baseline characteristics")),
                    _line(112, (179, "Duloxetine 60 mg"), (268, "Duloxetine 120 mg")),
                    _line(122, (195, "(n = 453)"), (286, "(n = 454)"), (361, "Placebo (n = 450)")),
                    _line(134, (54, "HADS-A, mean (SD)"), (193, "10.2 (3.4)"), (284, "10.2 (3.8)"), (375, "10.3 (4.2)"))])
    assert _arms(t) == [("Duloxetine 60 mg", 453), ("Duloxetine 120 mg", 454), ("Placebo", 450)]


def test_an_allocation_sentence_names_the_arm_a_table_calls_only_intervention() -> None:
    from metasift.extractor._consort import Count
    from metasift.extractor.rules import _the_generic_other
    from metasift.extractor.schema import Arm

    quote = "165 were randomised: 81 to unguided app and 84 to waitlist."
    app, waitlist = (Count("n_randomised", name, n, 1, quote, "prose") for name, n in (("unguided app", 81),
                                                                                       ("waitlist", 84)))
    arms = [Arm(name="Intervention"), Arm(name="Control")]
    assert _the_generic_other(app, [app, waitlist], arms) is arms[0]
    # without the sibling the sentence names, or with two specific arms, nothing is guessed
    assert _the_generic_other(app, [app], arms) is None
    assert _the_generic_other(app, [app, waitlist], [Arm(name="Coaching"), Arm(name="Control")]) is None


def test_a_raised_decimal_dot_reads_as_a_decimal_point() -> None:
    (t,) = _tables([_line(100, (50, "Table 1 Baseline characteristics")),
                    _line(112, (200, "Spironolactone (n=285)"), (320, "Placebo (n=283)")),
                    _line(124, (50, "Age, years"), (200, "61·2 (9·8)"), (320, "61·5 (10·1)"))])
    assert [(v.mean, v.sd) for v in t.values] == [(61.2, 9.8), (61.5, 10.1)]


def test_a_quote_with_raised_decimal_dots_prints_its_value() -> None:
    from metasift.extractor.checks import quote_has_number, quote_on_page

    assert quote_has_number("Age, years 61·2 (9·8) 61·5 (10·1)", 61.2)
    assert quote_on_page("61·2 (9·8)", "Age, years 61·2 (9·8) 61·5 (10·1)") == 100


def test_a_caption_right_of_the_gutter_over_a_table_set_across_the_page_reads_the_whole_table() -> None:
    prose = "the trial was run in eight centres and all sites"
    rows = [_line(40 + 12 * k, (50, prose), (310, prose)) for k in range(10)]  # a two-column page above
    rows += [_line(170, (50, "groups were comparable at baseline"), (310, "Table 1 Baseline characteristics of the")),
             _line(182, (50, "and the effect was maintained at"), (310, "randomised participants")),
             _line(194, (50, "follow-up (Table 2).")),
             _line(210, (218, "Mindfulness app (n = 159)"), (400, "Information leaflet (n = 156)")),
             _line(222, (240, "Mean (SD)"), (420, "Mean (SD)")),
             _line(234, (51, "Age, years"), (240, "22.1 (3.7)"), (420, "21.9 (3.4)")),
             _line(246, (51, "DASS-21 Anxiety"), (240, "13.2 (9.2)"), (420, "12.9 (7.1)"))]
    (t,) = _tables(rows)
    assert _arms(t) == [("Mindfulness app", 159), ("Information leaflet", 156)]
    assert [(v.measure, v.mean) for v in t.values if v.arm == 0] == [("Age, years", 22.1), ("DASS-21 Anxiety", 13.2)]


def test_a_label_wrapped_onto_its_values_line_is_that_rows_label_not_the_row_aboves() -> None:
    (t,) = _tables([_line(100, (50, "Table 2 Outcomes by group")),
                    _line(112, (200, "iCBT (n = 79)"), (320, "Control (n = 82)")),
                    _line(122, (200, "Mean (SD)"), (320, "Mean (SD)")),
                    _line(134, (50, "GAD-7, baseline"), (200, "10.7 (5.1)"), (320, "10.0 (3.9)")),
                    _line(146, (50, "GAD-7, post-")),
                    _line(158, (50, "treatment"), (200, "8.8 (5.3)"), (320, "8.3 (3.8)")),
                    _line(170, (50, "Antidepressant use,")),
                    _line(182, (50, "n (%)"), (200, "19 (23.2)"), (320, "13 (29.5)"))])
    got = [(v.measure, v.timepoint, v.mean) for v in t.values if v.arm == 0]
    assert got[:2] == [("GAD-7", "baseline", 10.7), ("GAD-7, posttreatment", "post", 8.8)]


def test_an_n_joined_back_to_its_open_cell_takes_no_room_on_that_line() -> None:
    from metasift.extractor._tables import _join_counts

    above = _line(112, (117, "Peer support, n ="), (187, "Attention control, n ="))
    joined = _join_counts(above, _line(122, (141, "154"), (219, "148")))
    assert " ".join(w.text for w in joined) == "Peer support, n = 154 Attention control, n = 148"
    # the numbers sit on the line below: here they must not reach over a p column's header or the next cell
    assert max(w.x1 for w in joined) < max(w.x1 for w in above) + 1


def test_an_indented_header_cell_left_of_a_right_column_caption_is_kept() -> None:
    rows = [_line(100, (307, "Table 1 Baseline characteristics of the participants")),
            _line(112, (50, "Figure 1 CONSORT flow diagram of participants.")),
            _line(124, (190, "Unguided app")),
            _line(134, (194, "(n = 118)"), (300, "Coaching (n = 120)"), (420, "Usual care (n = 116)")),
            _line(146, (54, "PHQ-9, mean (SD)"), (190, "13.7 (3.8)"), (310, "14.5 (4.5)"), (430, "14.4 (4.7)"))]
    (t,) = _tables(rows)
    assert _arms(t) == [("Unguided app", 118), ("Coaching", 120), ("Usual care", 116)]


def test_a_bare_n_after_the_arms_name_takes_the_count_wrapped_below_it() -> None:
    (t,) = _tables([_line(100, (50, "Table 2 Outcomes by group")),
                    _line(112, (128, "Peer support, n"), (193, "Attention control, n")),
                    _line(122, (146, "= 141"), (218, "= 138"), (292, "p")),
                    _line(132, (143, "M ± SD"), (215, "M ± SD")),
                    _line(144, (54, "BAI,"), (88, "post-")),
                    _line(154, (54, "treatment"), (131, "13.28 ± 9.27"), (208, "13.99 ± 10.99"), (288, "0.42"))])
    assert _arms(t) == [("Peer support", 141), ("Attention control", 138)]
    # the first row's label wrapped over two lines is that row's, not a header line
    assert [v.measure for v in t.values] == ["BAI, posttreatment", "BAI, posttreatment"]


def test_an_arm_name_wrapped_over_its_cluster_bracket_under_a_right_column_caption_is_kept() -> None:
    rows = [_line(60, (51, "Groups were comparable at baseline (Table 1). At post-"),
                  (307, "Table 1 Baseline characteristics of the randomised")),
            _line(72, (51, "treatment the adjusted mean difference in PHQ-9"), (307, "participants")),
            _line(84, (51, "favoured the intervention (-3.1, 95% CI -4.4 to -1.8; d =")),
            _line(96, (51, "2).")),
            _line(112, (217, "Intervention schools")),
            _line(122, (221, "(8 schools, n = 62)"), (351, "Control schools (8 schools, n = 65)"), (526, "p")),
            _line(134, (236, "Mean (SD)"), (395, "Mean (SD)")),
            _line(146, (54, "Age, years"), (238, "22.3 (3.1)"), (397, "22.1 (3.5)"), (521, "0.18")),
            _line(158, (54, "PHQ-9"), (238, "15.4 (3.7)"), (397, "15.4 (3.9)"), (521, "0.73"))]
    (t,) = _tables(rows)
    assert _arms(t) == [("Intervention schools", 62), ("Control schools", 65)]
    assert [(v.measure, v.sd) for v in t.values if v.arm == 1] == [("Age, years", 3.5), ("PHQ-9", 3.9)]


def _known_tables(rows: list, known: list[str]) -> list:
    return find_tables([SimpleNamespace(number=1, rows=rows, width=595.0)], known)


def test_a_word_that_fits_two_named_arms_names_neither_column() -> None:
    """"schools" in a pooled column's "Total sample, 8 schools, n = 205" fits both "intervention schools" and
    "control schools": it named both arms, and the pooled column's values became the first arm's baseline."""
    rows = [_line(100, (50, "Table 1 Baseline characteristics of all participants")),
            _line(112, (300, "Total sample, 8 schools, n = 205")),
            _line(124, (320, "M ± SD")),
            _line(136, (50, "GAD-7"), (320, "12.1 ± 4.5"))]
    assert _known_tables(rows, ["intervention schools", "control schools"]) == []


def test_header_names_glued_across_two_columns_take_the_names_the_sentences_give() -> None:
    rows = [_line(233, (57, "Table 2 Outcomes by group; participants with outcome data")),
            _line(258, (132, "Intervention schools"), (191, "Control schools"), size=6.5),
            _line(267, (136, "(8 schools, n = 58)"), (187, "(8 schools, n = 57)"), (267, "p"), size=6.5),
            _line(278, (157, "Mean"), (209, "Mean"), size=6.5),
            _line(306, (63, "HADS-A, post-treatment"), (153, "9.6 ± 3.8"), (204, "9.9 ± 3.9"), (263, "0.22"),
                  size=6.5)]
    (t,) = _known_tables(rows, ["intervention schools", "control schools", "control"])
    assert _arms(t) == [("intervention schools", 58), ("control schools", 57)]


def test_a_sentence_that_starts_by_naming_a_table_is_no_caption() -> None:
    # the two columns' lines interleave: the left column's allocation sentence, the right column's prose
    left = ["The programme was evaluated in 28 village clusters of two", "districts, allocated at random to four "
            "packages: cash", "transfer only (5 clusters, n = 276 households); cash plus",
            "lump sum (6 clusters, n = 297 households); cash plus", "training (7 clusters, n = 240 households); "
            "cash plus lump", "sum and training (10 clusters, n = 311 households). The"]
    right = ["Table 1 describes the households at endline and Table 2", "gives the programme effects on BDI-II. "
             "Effects of the lump", "sum alone were small; packages with training reduced", "scores."]
    rows = sorted([_line(589 + 11.5 * k, (57, text), size=8.6) for k, text in enumerate(left)] +
                  [_line(592 + 11.5 * k, (312, text), size=8.6) for k, text in enumerate(right)],
                  key=lambda words: words[0].base)
    assert _tables(rows) == []
    (t,) = _tables([_line(100, (50, "Table 1 Baseline characteristics")),
                    _line(112, (200, "Cash only (n = 276)"), (320, "Cash plus training (n = 240)")),
                    _line(124, (50, "BDI-II"), (200, "20.1 (5.2)"), (320, "19.8 (4.9)"))])
    assert _arms(t) == [("Cash only", 276), ("Cash plus training", 240)]
