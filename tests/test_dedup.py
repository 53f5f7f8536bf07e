"""Deduplication: exact identifiers, fuzzy variants, hard non-duplicates, clusters, primaries, benchmark."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from metasift.dedup import DedupResult, find_duplicates
from metasift.dedup.blocking import candidate_pairs
from metasift.dedup.compare import features
from metasift.dedup.normalise import (
    author_key,
    journal_match,
    journal_tokens,
    norm_doi,
    pages_agree,
    split_title,
    title_kind,
)
from metasift.errors import ConfigError, MetasiftError
from metasift.records import Record

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))

from metasift.eval.dedup_benchmark import (
    HARD_NEGATIVES,
    PERTURBATIONS,
    build_benchmark,
    build_issue18_set,
    evaluate,
    load_screening_bases,
    make_duplicate,
    make_hard_negative,
    synthetic_bases,
)

TITLE = "Effects of risperidone on aggression in children with autism: a randomized controlled trial"
ABSTRACT = ("Background: aggression is common in autism. Methods: we randomly assigned 101 children to "
            "risperidone or placebo for 8 weeks. Results: risperidone reduced irritability scores.")


def article(**changes: object) -> Record:
    """A complete journal article record; ``changes`` override fields."""
    fields: dict = dict(title=TITLE, abstract=ABSTRACT, authors=["McCracken, James T.", "Scahill, Lawrence"],
                        year=2002, journal="New England Journal of Medicine", volume="347", issue="5",
                        pages="314-321", doi="10.1056/nejmoa013171", pmid="12151468",
                        publication_type="Journal Article")
    fields.update(changes)
    return Record(**fields)


def other_database(**changes: object) -> Record:
    """The same article as a second database exports it: no DOI or PMID, so only fuzzy matching can link it."""
    return article(doi=None, pmid=None, **changes)


def together(result: DedupResult, a: int, b: int) -> bool:
    return any(a in c and b in c for c in result.clusters)


def check_partition(result: DedupResult, n: int) -> None:
    members = sorted(i for c in result.clusters for i in c)
    assert members == list(range(n)), "every index in exactly one cluster"
    assert len(result.primary) == len(result.clusters)
    assert all(p in c for p, c in zip(result.primary, result.clusters))


# -- exact identifiers ----------------------------------------------------------------------------

@pytest.mark.parametrize("doi", ["10.1056/NEJMoa013171", "https://doi.org/10.1056/nejmoa013171",
                                 "http://dx.doi.org/10.1056/NEJMOA013171", "doi:10.1056/nejmoa013171",
                                 "DOI: 10.1056/nejmoa013171."])
def test_same_doi_in_any_written_form_merges(doi: str) -> None:
    records = [article(pmid=None), article(pmid=None, doi=doi, title=TITLE.upper(), year=2003, authors=[])]
    result = find_duplicates(records)
    assert result.clusters == [[0, 1]]
    assert [p.reason for p in result.pairs] == ["doi"]


def test_same_pmid_merges_even_with_a_different_year() -> None:
    records = [article(doi=None), article(doi=None, pmid="PMID: 12151468", year=2005, journal="Lancet")]
    result = find_duplicates(records)
    assert together(result, 0, 1)
    assert result.pairs[0].reason == "pmid"


def test_shared_doi_with_unrelated_titles_goes_to_review_not_merged() -> None:
    # book chapters often carry the book's DOI
    records = [article(title="Chapter 3: Neurobiology of fear", pmid=None),
               article(title="Chapter 9: Family therapy", pmid=None)]
    result = find_duplicates(records)
    assert not together(result, 0, 1)
    assert len(result.borderline) == 1 and result.borderline[0].reason.startswith("doi, but")


def test_different_dois_are_never_merged_even_with_identical_records() -> None:
    result = find_duplicates([article(pmid=None), article(pmid=None, doi="10.1056/nejmoa013172")])
    assert len(result.clusters) == 2


# -- fuzzy duplicates: one test per perturbation a database export introduces -----------------------

FUZZY_VARIANTS = {
    "case and punctuation": other_database(title=TITLE.upper().replace(":", " -").replace("-", " ") + "."),
    "html entities and tags": other_database(
        title="Effects of &lt;i&gt;risperidone&lt;/i&gt; on aggression in children with autism: a randomized "
              "controlled trial"),
    "raw html tags": other_database(title=TITLE.replace("risperidone", "<i>risperidone</i>")),
    "author initials": other_database(authors=["McCracken JT", "Scahill L"]),
    "author initials with dots": other_database(authors=["McCracken, J. T.", "Scahill, L."]),
    "truncated subtitle": other_database(title=TITLE.split(":")[0]),
    "journal abbreviation": other_database(journal="N Engl J Med"),
    "epub year": other_database(year=2001),
    "extra whitespace and diacritics": other_database(title="  Effects of rispéridone  on aggression in\tchildren "
                                                            "with autism: a randomized controlled trial "),
    "typo": other_database(title=TITLE.replace("aggression", "agression")),
    "page range format": other_database(pages="314-21"),
    "missing abstract, journal and pages": other_database(abstract=None, journal=None, pages=None, volume=None),
    "ampersand for and": other_database(title=TITLE.replace("children with autism", "children & autism"),
                                        abstract=None),
}


@pytest.mark.parametrize("name", list(FUZZY_VARIANTS))
def test_fuzzy_duplicate_is_merged(name: str) -> None:
    result = find_duplicates([article(), FUZZY_VARIANTS[name]])
    assert together(result, 0, 1), result.borderline
    assert result.pairs[0].reason.startswith("fuzzy:")


def test_greek_letters_and_their_names_match() -> None:
    a = article(title="TNF-α blockade and depressive symptoms in rheumatoid arthritis patients", doi=None, pmid=None)
    b = other_database(title="TNF-alpha blockade and depressive symptoms in rheumatoid arthritis patients")
    assert together(find_duplicates([a, b]), 0, 1)


def test_diacritics_in_author_names_match_transliterations() -> None:
    a = article(authors=["Müller, Jürgen"])
    for written in ("Muller, J.", "Mueller J"):
        assert together(find_duplicates([a, other_database(authors=[written])]), 0, 1), written


# -- hard non-duplicates ------------------------------------------------------------------------------

BARE = dict(abstract=None, pages=None, volume=None, issue=None)  # nothing but the veto under test differs
HARD_CASES = {
    "same title, years apart, other authors": other_database(year=2009, authors=["Chen, Wei"], volume="12",
                                                             pages="45-52", journal="Journal of Child Psychology "
                                                                                    "and Psychiatry"),
    "same title and authors, four years later": other_database(year=2006, **BARE),
    "erratum": other_database(title=f"Erratum: {TITLE}", **BARE),
    "correction notice": other_database(title=f"Correction to: {TITLE}", **BARE),
    "comment": other_database(title=f"Re: {TITLE}", authors=["Lee, Kim"], abstract=None, pages="1199"),
    "comment on": other_database(title=f'Comment on "{TITLE}"', **BARE),
    "reply": other_database(title=f"Reply: {TITLE}", **BARE),
    "retraction": other_database(title=f"Retraction: {TITLE}", authors=[], **BARE),
    "trial protocol": other_database(title="Effects of risperidone on aggression in children with autism: study "
                                           "protocol for a randomised controlled trial", journal="Trials",
                                     volume="2", pages="15", year=2001),
    "trial protocol, same journal": other_database(
        title="Effects of risperidone on aggression in children with autism: protocol for a randomized trial",
        **BARE),
    "conference abstract in another journal": other_database(journal="European Neuropsychopharmacology",
                                                             volume="11", pages=None,
                                                             publication_type="Conference Abstract"),
    "conference abstract in a supplement": other_database(volume="346 Suppl 1", pages="S45",
                                                          publication_type="Meeting Abstract"),
    "conference abstract, typed only": other_database(journal=None, publication_type="Conference Abstract",
                                                      **BARE),
    "other pages of the same issue": other_database(pages="330-338"),
    "other volume": other_database(volume="348", abstract=None),
    "part 2 of a series": other_database(title=TITLE.replace(":", " (part 2):"), **BARE),
}


@pytest.mark.parametrize("name", list(HARD_CASES))
def test_hard_non_duplicate_is_kept_apart(name: str) -> None:
    result = find_duplicates([article(), HARD_CASES[name]])
    assert not together(result, 0, 1), result.pairs


def test_numbered_part_is_not_a_cut_subtitle() -> None:
    head = TITLE.split(":")[0]
    records = [article(title=head, doi=None, pmid=None, **BARE), other_database(title=f"{head}: Part 2", **BARE)]
    assert not together(find_duplicates(records), 0, 1)
    cut = [article(title=f"{head}: a 12-week randomised trial", doi=None, pmid=None), other_database(title=head)]
    assert together(find_duplicates(cut), 0, 1)  # a longer subtitle with a number can be cut


def test_hard_non_duplicates_stay_apart_from_all_copies_of_the_article() -> None:
    records = [article(), FUZZY_VARIANTS["author initials"], FUZZY_VARIANTS["journal abbreviation"],
               *HARD_CASES.values()]
    result = find_duplicates(records)
    check_partition(result, len(records))
    assert together(result, 0, 1) and together(result, 0, 2)
    assert len(next(c for c in result.clusters if 0 in c)) == 3  # (two errata may well be one erratum)


def test_a_sparse_record_cannot_chain_two_different_years_together() -> None:
    # 2002 ~ undated ~ 2006: the undated one may join one side, never both
    records = [article(doi=None, pmid=None), other_database(year=None, journal=None, pages=None, volume=None),
               other_database(year=2006, journal=None, pages=None, volume=None)]
    result = find_duplicates(records)
    assert not together(result, 0, 2)
    assert any("not merged" in p.reason for p in result.borderline)


def test_a_record_cannot_chain_an_erratum_to_its_article() -> None:
    records = [article(doi=None, pmid=None), other_database(authors=[], journal=None, pages=None, volume=None),
               other_database(title=f"{TITLE} (Erratum)", abstract=None, pages=None, volume=None)]
    assert not together(find_duplicates(records), 0, 2)


# -- clusters, primaries, borderline ------------------------------------------------------------------

def test_primary_is_the_most_complete_record_and_earliest_on_ties() -> None:
    sparse = other_database(abstract=None, pages=None, volume=None, issue=None)
    result = find_duplicates([sparse, article(), other_database()])
    assert result.clusters == [[0, 1, 2]]
    assert result.primary == [1]
    tie = find_duplicates([other_database(), other_database(title=TITLE.upper())])
    assert tie.primary == [0]


def test_borderline_pairs_are_reported_and_not_merged() -> None:
    # same title and year but another first author, nothing else to compare: maybe one paper, maybe two
    records = [article(doi=None, pmid=None, pages=None, volume=None),
               other_database(authors=["Aman, Michael G."], abstract=None, journal=None, pages=None, volume=None)]
    result = find_duplicates(records)
    assert not together(result, 0, 1)
    assert [(p.a, p.b) for p in result.borderline] == [(0, 1)]
    assert 0.84 <= result.borderline[0].score < 0.90
    merged = find_duplicates(records, threshold=result.borderline[0].score)
    assert together(merged, 0, 1) and not merged.borderline


def test_short_title_alone_is_not_enough_to_merge() -> None:
    records = [Record(title="Post-traumatic stress disorder", year=2010),
               Record(title="Post-traumatic stress disorder.", year=2010)]
    result = find_duplicates(records)
    assert len(result.clusters) == 2 and len(result.borderline) == 1


def test_every_index_in_exactly_one_cluster_on_messy_input() -> None:
    rng = random.Random(3)
    data = build_benchmark(synthetic_bases(150, seed=8), seed=4)
    records = data.records + [Record(), Record(title=""), Record(doi="10.1/x"), Record(doi="10.1/X")]
    rng.shuffle(records)
    result = find_duplicates(records)
    check_partition(result, len(records))
    assert find_duplicates(records) == result  # deterministic


def test_empty_and_single_inputs() -> None:
    assert find_duplicates([]) == DedupResult(clusters=[], primary=[], pairs=[], borderline=[])
    assert find_duplicates([article()]).clusters == [[0]]


@pytest.mark.parametrize("threshold,margin", [(0.0, 0.05), (1.5, 0.05), (0.9, -0.1), (0.5, 0.6)])
def test_bad_settings_are_user_errors(threshold: float, margin: float) -> None:
    with pytest.raises(ConfigError) as err:
        find_duplicates([article()], threshold=threshold, borderline_margin=margin)
    assert isinstance(err.value, MetasiftError)


def test_blocking_compares_far_fewer_than_all_pairs() -> None:
    feats = [features(Record(title=t)) for t, *_ in synthetic_bases(3000, seed=2)]
    pairs = candidate_pairs([f.tokens for f in feats], [f.main_tokens for f in feats], [f.full for f in feats])
    assert 0 < len(pairs) < 0.05 * 3000 * 2999 / 2
    assert (pairs[:, 0] < pairs[:, 1]).all()


# -- normalisation ------------------------------------------------------------------------------------

def test_normalisation_helpers() -> None:
    assert norm_doi("https://doi.org/10.1000/ABC.1") == "10.1000/abc.1"
    assert author_key("Smith, John A.") == author_key("Smith JA") == ("smith", "ja")
    assert author_key("J. A. Smith")[0] == "smith"
    assert split_title("Drug X in PTSD: a randomised trial.") == ("drug x in ptsd a randomised trial", "drug x in ptsd")
    assert split_title("Losartan vs. captopril in heart failure")[1] == ""
    assert title_kind("erratum effects of x") == "erratum"
    assert title_kind("re effects of x", raw="Re: Effects of X") == "comment"
    assert title_kind("correction effects of x", raw="Correction: Effects of X") == "erratum"
    for article_title in ("Re-evaluation of clozapine", "Correction of hyponatraemia in the elderly",
                          "Response to clozapine in refractory schizophrenia", "Dose-response to lithium"):
        assert title_kind(split_title(article_title)[0], raw=article_title) == "article", article_title


@pytest.mark.parametrize("a,b,expected", [
    ("Journal of Clinical Psychiatry", "J Clin Psychiatry", "same"),
    ("Progress in Neuro-Psychopharmacology and Biological Psychiatry", "Prog Neuropsychopharmacol Biol Psychiatry",
     "same"),
    ("Proceedings of the National Academy of Sciences of the United States of America", "Proc Natl Acad Sci U S A",
     "same"),
    ("British Medical Journal", "BMJ", "same"),
    ("The Lancet", "Lancet (London, England)", "same"),
    ("BMJ Open", "BMJ", "different"),
    ("Journal of Hypertension", "American Journal of Hypertension", "different"),
    ("Brain Research", "Behavioural Brain Research", "different"),
    ("J Affect Disord", "Journal of Anxiety Disorders", "different"),
])
def test_journal_abbreviations(a: str, b: str, expected: str) -> None:
    assert journal_match(journal_tokens(a), journal_tokens(b)) == expected


# -- issue #18: titles cut at the colon, supplement pages, ISO journal abbreviations ------------------

SHORT = "Not alone: a randomised trial of peer support for first-year students with social anxiety"


def test_title_cut_to_two_words_merges_when_author_year_and_journal_agree() -> None:
    records = [article(title=SHORT, abstract=None), other_database(title="Not alone", abstract=None)]
    result = find_duplicates(records)
    assert together(result, 0, 1), result


def test_title_cut_to_two_words_with_epub_year_needs_pages_too() -> None:
    records = [article(title=SHORT, abstract=None), other_database(title="Calm campus", abstract=None),
               article(title="Calm campus: mindfulness for staff", abstract=None, doi="10.1/calm", pmid=None),
               other_database(title="Not alone", abstract=None, year=2003, pages=None)]
    result = find_duplicates(records)
    assert not together(result, 0, 3)
    assert any({p.a, p.b} == {0, 3} for p in result.borderline), "left for a human, not dropped"
    assert together(find_duplicates([records[0], other_database(title="Not alone", abstract=None, year=2003)]), 0, 1)


@pytest.mark.parametrize("changes", [
    {"authors": ["Okafor, Chidi"]},  # another team's "Not alone"
    {"year": 2003, "pages": None},  # a year apart with no page to pin it
    {"journal": "Journal of Anxiety Disorders", "pages": None},  # another venue
    {"title": "Not alonee"},  # a short cut must equal the main title exactly
])
def test_title_cut_to_two_words_is_not_merged_without_strong_agreement(changes: dict) -> None:
    records = [article(title=SHORT, abstract=None), other_database(**{"title": "Not alone", "abstract": None, **changes})]
    assert not together(find_duplicates(records), 0, 1)


def test_same_short_main_title_with_other_subtitles_is_not_merged() -> None:
    records = [article(title=SHORT), other_database(title="Not alone: a qualitative study of carers' networks")]
    assert not together(find_duplicates(records), 0, 1)


def test_one_word_main_title_is_never_taken_for_a_cut() -> None:
    records = [article(title="Resilience: a cohort study of veterans", abstract=None),
               other_database(title="Resilience", abstract=None)]
    assert not together(find_duplicates(records), 0, 1)


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("S836", "S836-S836", "same"), ("S836", "836", "compatible"), ("836-42", "836-842", "same"),
    ("S836", "S837", "different"), ("836", "837-840", "different"), ("S836", None, "missing"),
])
def test_page_forms(a: str, b: str | None, expected: str) -> None:
    from metasift.dedup.normalise import first_page

    assert pages_agree(first_page(a), first_page(b)) == expected


@pytest.mark.parametrize("pages", ["S836-S836", "836"])
def test_conference_abstract_pages_in_either_form_merge(pages: str) -> None:
    meeting = {"volume": "45 Suppl 1", "publication_type": "Conference Abstract", "abstract": None}
    records = [article(pages="S836", **meeting), other_database(pages=pages, **meeting)]
    assert together(find_duplicates(records), 0, 1)
    records = [article(pages="S836", **meeting), other_database(pages="S838", **meeting)]
    assert not together(find_duplicates(records), 0, 1)


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("Psychological Trauma: Theory, Research, Practice, and Policy", "Psychol Trauma", "same"),
    ("Zeitschrift für Kardiologie", "Z Kardiol", "same"),
    ("Nederlands Tijdschrift voor Geneeskunde", "Ned Tijdschr Geneeskd", "same"),
    ("Journal of Hypertension", "Hypertension", "different"),
    ("Hypertension", "J Hypertens", "different"),
])
def test_journal_iso_abbreviations_and_subtitles(a: str, b: str, expected: str) -> None:
    assert journal_match(journal_tokens(a), journal_tokens(b)) == expected


def test_accented_letter_inside_an_html_tag_is_dropped_with_the_tag() -> None:
    assert split_title("Postraumatic &lt;i&gt;symptoms&lt;/í&gt; and suicide risk")[0] == \
        "postraumatic symptoms and suicide risk"


def test_issue18_set_on_synthetic_titles() -> None:
    bases = synthetic_bases(600, seed=8) + [(SHORT, ABSTRACT, None, 2002),
                                            ("Calm campus: a cluster trial of mindfulness", None, None, 2019)]
    data = build_issue18_set(bases, seed=3)
    score = evaluate(data, find_duplicates(data.records))
    assert score.precision == 1.0, score
    assert score.recall >= 0.995, score
    assert score.duplicates["short_cut_title"].pairs >= 2


def test_benchmark_never_cuts_the_subtitle_that_names_the_item_kind() -> None:
    rng = random.Random(4)
    erratum = article(title='"Positive factors and PTSD among police officers": Erratum')
    cut = 0
    for _ in range(80):
        dup, tags = make_duplicate(erratum, rng)
        cut += "truncated_subtitle" in tags
        assert ":" in (dup.title or ""), tags
    assert cut, "the perturbation was drawn and left the title whole"


# -- benchmark ------------------------------------------------------------------------------------------

def test_benchmark_builder_injects_every_perturbation_and_hard_negative() -> None:
    rng = random.Random(1)
    base = article()
    seen: set[str] = set()
    for _ in range(200):
        dup, tags = make_duplicate(base, rng)
        assert tags and dup != base
        seen.update(tags)
    assert seen == set(PERTURBATIONS)
    for name in HARD_NEGATIVES:
        assert make_hard_negative(base, name, rng, None).title


def test_benchmark_scoring_catches_naive_matchers() -> None:
    data = build_benchmark(synthetic_bases(300, seed=6), seed=6)
    n = len(data.records)
    singletons = DedupResult(clusters=[[i] for i in range(n)], primary=list(range(n)), pairs=[], borderline=[])
    assert evaluate(data, singletons).recall == 0.0
    by_title: dict[str, list[int]] = {}
    for i, r in enumerate(data.records):
        by_title.setdefault(split_title(r.title)[0].split(" ")[0] if r.title else str(i), []).append(i)
    clusters = list(by_title.values())
    naive = DedupResult(clusters=clusters, primary=[c[0] for c in clusters], pairs=[], borderline=[])
    assert evaluate(data, naive).precision < 0.5


def test_small_benchmark_precision_and_recall() -> None:
    data = build_benchmark(synthetic_bases(1400), seed=13)
    assert 1800 <= len(data.records) <= 2300
    score = evaluate(data, find_duplicates(data.records))
    assert score.precision >= 0.99, score
    assert score.recall >= 0.93, score
    assert score.hard_negatives["(all hard negatives)"].pairs > 100


@pytest.mark.shared
def test_small_benchmark_on_real_screening_titles() -> None:
    folder = SHARED / "data" / "screening"
    if not folder.is_dir():
        pytest.skip("../shared/data/screening is not available")
    bases = load_screening_bases(folder)
    sample = random.Random(21).sample(bases, 1400)
    data = build_benchmark(sample, seed=21)
    score = evaluate(data, find_duplicates(data.records))
    assert score.precision >= 0.99, score
    assert score.recall >= 0.93, score
