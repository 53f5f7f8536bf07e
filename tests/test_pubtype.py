"""The publication-type classifier says anything but "article" only on evidence: the database's type first,
then anchored title patterns. A rule like ``publication_type not in ['comment', ...]`` excludes on it."""

from __future__ import annotations

import pytest

from metasift.screener.pubtype import classify_publication_type, field_kind, title_kind
from metasift.screener.rules import Rule

STARTER_RULE = Rule("publication_type not in ['protocol', 'erratum', 'comment', 'review', 'retraction']")


def kind(title: str | None, raw_type: str | None = None) -> str | None:
    return classify_publication_type(title, raw_type)


# -- false positives of the old substring matcher -------------------------------------------------------------

@pytest.mark.parametrize("title", [
    "Effect of Empagliflozin on Exercise Capacity and Hemodynamics in Chronic Heart Failure: The RECEDE-CHF Trial",
    "Collaborative care: a randomised trial in primary care",
    "Blood pressure: results of the SPRINT trial",
    "Outcome measure: validity of the Hamilton scale in adolescents",
    "Grey literature: does it change the picture? A cohort of trials",
    "Acute kidney failure: incidence after cardiac surgery",
])
def test_a_colon_after_re_inside_a_word_is_not_a_comment(title: str) -> None:
    assert kind(title) == "article"


def test_the_recede_chf_trial_passes_the_starter_rule() -> None:
    title = "Effect of Empagliflozin on Urine Output in Chronic Heart Failure: The RECEDE-CHF Trial"
    assert STARTER_RULE.evaluate({"publication_type": kind(title)}) == "met"


def test_a_colon_after_care_is_not_a_comment() -> None:
    assert kind("Palliative care: a cluster randomised trial") == "article"


def test_re_colon_only_marks_a_comment_at_the_start_of_the_title() -> None:
    assert kind("Re: A WhatsApp intervention for stress") == "comment"
    assert kind("RE : Chan et al. A double-blind comparison") == "comment"
    assert kind("Treatment failure: re-evaluation of second-line therapy") == "article"


def test_a_case_report_with_a_literature_review_is_not_a_review() -> None:
    assert kind("Clozapine-induced myocarditis: a case report and review of the literature") == "article"
    assert kind("Ischaemic heart disease in pregnancy: a case report and literature review") == "article"


def test_a_literature_review_on_its_own_is_a_review() -> None:
    assert kind("Exercise for depression in older adults: a literature review") == "review"


@pytest.mark.parametrize("title", [
    "Protocol deviations in a randomized trial of methylphenidate",
    "Per-protocol analysis of the ABC trial of exercise for depression",
    "Effect of a nurse-led weaning protocol on ventilation time: a randomised trial",
    "Evaluation of a sepsis protocol for the emergency department: a before-after study",
    "A protocol for the management of diabetic ketoacidosis in children",
    "Adherence to the study protocol in the CATIE schizophrenia trial",
])
def test_a_results_paper_that_mentions_a_protocol_is_not_a_protocol(title: str) -> None:
    assert kind(title) == "article"


@pytest.mark.parametrize("title", [
    "Response to methylphenidate in boys with attention-deficit hyperactivity disorder",
    "Correction of hyponatraemia with tolvaptan: a randomised trial",
    "Retraction of the upper eyelid in Graves' disease: a cohort",
    "[Retraction of the tympanic membrane in children]",
    "Retracted nipple after breast surgery: a case series",
    "Editorial policies of psychiatry journals: a survey",
    "Is there a relationship between clozapine and OCD?: a retrospective chart review",
    "Clozapine in Parkinson's disease psychosis: 5-year follow-up review",
    "Poor compliance of clinical trial registration among trials included in systematic reviews",
])
def test_medical_words_that_look_like_markers_do_not_exclude(title: str) -> None:
    assert kind(title) == "article"


@pytest.mark.parametrize("title", [
    "Effect of X on depression: a randomized trial and meta-analysis",
    "Dopamine D3 receptor gene variant and schizophrenia: association study and meta-analysis",
    "Ischaemic heart disease during pregnancy or post-partum: systematic review and case series",
    "Brain monoamines and sleep - a systematic review, network meta-analysis, and new primary data",
    "Treatment of psychosis during pregnancy - A case report and a mini-review",
])
def test_a_new_study_reported_with_a_review_is_an_article(title: str) -> None:
    assert kind(title) == "article"


# -- true positives from the title ---------------------------------------------------------------------------

@pytest.mark.parametrize("title, expected", [
    ("Re: Chan et al. A double-blind randomised comparison of risperidone and haloperidol", "comment"),
    ("Comment on 'Social media and depression'", "comment"),
    ("Comments on article by Tran and colleagues, \"Double-blind comparison of olanzapine\"", "comment"),
    ("Aid, Policies, and Growth: Comment", "comment"),
    ("Maintenance therapy in schizophrenia: a critical comment.", "comment"),
    ("Reply to Smith et al.", "comment"),
    ("Authors' reply", "comment"),
    ("Does competition among public schools benefit students? Reply", "comment"),
    ("Response to Smith et al.", "comment"),
    ("Response to the letter by Jones on atomoxetine", "comment"),
    ("Reader response to, \"Effects of risperidone on aberrant behavior\"", "comment"),
    ("Letter to the editor: atomoxetine and liver injury", "comment"),
    ("Editorial: the future of ADHD trials", "comment"),
    ("Erratum", "erratum"),
    ("Erratum: Author Correction: A remarkable assemblage of petroglyphs", "erratum"),
    ("Implementation of the RED-S intervention: a pilot study: Erratum", "erratum"),
    ("Corrigendum to \"Olanzapine versus haloperidol\"", "erratum"),
    ("Correction to: Olanzapine versus haloperidol", "erratum"),
    ("Correction: Olanzapine versus haloperidol", "erratum"),
    ("Author Correction: Olanzapine versus haloperidol", "erratum"),
    ("Retraction: Olanzapine versus haloperidol", "retraction"),
    ("Retraction notice to \"Olanzapine versus haloperidol\"", "retraction"),
    ("RETRACTED: Olanzapine versus haloperidol", "retraction"),
    ("Olanzapine versus haloperidol [Retracted]", "retraction"),
    ("The ABC trial: study protocol for a randomised controlled trial", "protocol"),
    ("Study protocol: the ABC trial of exercise", "protocol"),
    ("Traditional Chinese medicine for ulcerative colitis: Protocol for a network meta-analysis", "protocol"),
    ("Mindfulness in youth with IBD: Protocol for a Mixed Methods Qualitative Study.", "protocol"),
    ("Exercise for stress in students: a protocol for a cluster randomised trial", "protocol"),
    ("Exercise for stress in students: protocol of a randomised trial", "protocol"),
    ("Exercise for stress in students: trial protocol", "protocol"),
    ("Social media and depression: a systematic review and meta-analysis", "review"),
    ("Meta analysis of stimulant effects on aggression", "review"),
    ("Efficacy of Adderall for ADHD: a meta-analysis.", "review"),
    ("Chatbot features for anxiety and depression: A scoping review", "review"),
    ("Digital interventions for depression: an umbrella review", "review"),
    ("Social media use and wellbeing: a narrative review", "review"),
    ("Computer-based interventions for alcohol use: a review of systematic reviews", "review"),
    ("Olanzapine: a review of its use in the management of schizophrenia.", "review"),
    ("Use of olanzapine for elderly patients with psychotic disorders: a review.", "review"),
    ("Review: antidepressants reduce relapse in depression", "review"),
])
def test_the_title_names_its_kind(title: str, expected: str) -> None:
    assert kind(title) == expected


def test_a_hyphen_inside_a_word_does_not_start_a_title_segment() -> None:
    assert kind("Olanzapine in acute mania: intention-to-treat and per-protocol") == "article"
    assert kind("Olanzapine in acute mania: a mini-review") == "review"
    assert kind("Olanzapine in acute mania - a review") == "review"
    assert kind("Cerebrospinal fluid leakage after cranial surgery in children\u2014a systematic review") == "review"


def test_a_title_with_no_marker_is_an_article() -> None:
    assert kind("A WhatsApp intervention for stress: RCT") == "article"


# -- the database's type field --------------------------------------------------------------------------------

@pytest.mark.parametrize("raw_type, expected", [
    ("Journal Article; Randomized Controlled Trial", "article"),
    ("Journal Article; Review", "review"),
    ("Journal Article; Research Support, Non-U.S. Gov't; Review", "review"),
    ("Systematic Review; Meta-Analysis; Journal Article", "review"),
    ("Comment; Journal Article", "comment"),
    ("Letter", "comment"),
    ("Editorial", "comment"),
    ("Published Erratum", "erratum"),
    ("Retraction of Publication", "retraction"),
    ("Clinical Trial Protocol; Journal Article", "protocol"),
    ("Review", "review"),  # Scopus, Embase, WoS document types
    ("Short Survey", "review"),
    ("Erratum", "erratum"),
    ("Editorial Material", "comment"),
    ("Correction", "erratum"),
    ("Retraction", "retraction"),
    ("Comment/Reply", "comment"),  # PsycINFO
    ("Erratum/Correction", "erratum"),
    ("Journal Articles, Reports - Descriptive, Opinion Papers", "comment"),  # ERIC
    ("Journal Articles, Information Analyses", "review"),
])
def test_the_type_field_names_its_kind(raw_type: str, expected: str) -> None:
    assert kind("Exercise and depression in older adults", raw_type) == expected


@pytest.mark.parametrize("raw_type", [
    "Journal Article", "Article", "Journal article", "Article in Press", "Conference Paper", "Note", "JOUR",
    "Generic", "journalArticle", "article", "inproceedings", "Journal, Peer Reviewed Journal",
    "Corrected and Republished Article", "Article; Proceedings Paper", "Newspaper Article", "CASE",
])
def test_a_container_type_says_nothing_and_the_title_decides(raw_type: str) -> None:
    assert field_kind(raw_type) is None
    assert kind("Exercise and depression in older adults", raw_type) == "article"
    assert kind("Erratum: Exercise and depression", raw_type) == "erratum"


def test_a_scopus_conference_review_is_a_proceedings_volume_not_a_review() -> None:
    assert kind("11th International Conference on Bioinformatics, BICOB 2019", "Conference Review") == "article"


def test_the_type_field_outranks_the_title() -> None:
    assert kind("Exercise and depression: a systematic review", "Journal Article; Randomized Controlled Trial") \
        == "article"
    assert kind("On the probability of dinosaur fleas", "Letter") == "comment"


def test_a_trial_also_tagged_comment_or_review_is_an_article() -> None:
    assert kind("Exercise for depression", "Journal Article; Randomized Controlled Trial; Comment") == "article"
    assert kind("Exercise for depression", "Randomized Controlled Trial; Review") == "article"
    assert kind("Clozapine myocarditis", "Case Reports; Review") == "article"


def test_retraction_and_erratum_outrank_a_trial_design_in_the_field() -> None:
    assert kind("Exercise for depression", "Retracted Publication; Randomized Controlled Trial") == "retraction"
    assert kind("Exercise for depression", "Published Erratum; Randomized Controlled Trial") == "erratum"


def test_a_protocol_tag_outranks_the_trial_words_it_contains() -> None:
    assert kind("The ABC trial", "Clinical Trial Protocol; Randomized Controlled Trial") == "protocol"


def test_a_bare_review_type_gives_way_to_a_title_that_states_a_trial() -> None:
    # Web of Science types any paper with over 100 references "Review"; Scopus mislabels primary papers too.
    title = "Avatars and trust in online collaboration: a randomized controlled trial"
    assert kind(title, "Review") == "article"
    assert kind(title, "Systematic Review; Meta-Analysis") == "review"
    assert kind("Cerebellar circuitry as a neuronal machine", "Review") == "review"


# -- missing values -------------------------------------------------------------------------------------------

def test_no_title_and_no_type_is_unknown_so_a_rule_cannot_exclude() -> None:
    assert kind(None, None) is None
    assert kind("  ", "") is None
    assert STARTER_RULE.evaluate({"publication_type": kind(None, None)}) == "unclear"


def test_a_type_without_a_title_still_classifies() -> None:
    assert kind(None, "Published Erratum") == "erratum"
    assert kind(None, "Journal Article") == "article"


def test_title_kind_is_none_when_the_title_announces_nothing() -> None:
    assert title_kind("Exercise and depression in older adults") is None
    assert title_kind(None) is None


def test_rules_still_exports_the_classifier() -> None:
    from metasift.screener import rules

    assert rules.classify_publication_type is classify_publication_type
