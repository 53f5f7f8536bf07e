"""Per-record comparison features and the score of one candidate pair (pure, no I/O).

The score starts from title similarity and is nudged by corroborating or contradicting fields;
hard contradictions (another DOI, years more than one apart, an erratum against its article,
another journal or other pages) veto the pair whatever its title says.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from metasift.dedup.normalise import (
    author_key,
    content_tokens,
    family_compatible,
    first_page,
    journal_match,
    journal_tokens,
    norm_doi,
    norm_pmid,
    norm_text,
    pages_agree,
    pubtype_kind,
    split_title,
    title_kind,
    title_numbers,
    volume_key,
)
from metasift.records import Record

TRUNCATION_FACTOR = 0.96  # a title equal to the other's main title is good, not perfect, evidence
CUT_TITLE_TOKENS = 3  # a cut title with this many content tokens needs one agreeing field (author, pages, abstract)
# A cut title of two content tokens ("Not alone", "Calm campus", "The impact of therapy") is accepted only when
# it equals the other's main title exactly and author, year and venue all agree (``strong_agreement``): in the
# labelled benchmark 2 of 7 missed duplicates were such cuts; a one-token main title is never taken as a cut.
SHORT_CUT_TOKENS = 2
SHORT_TITLE_TOKENS = 5  # fewer content tokens than this ("Post-traumatic stress disorder"): title alone can't decide
SERIES_TOKENS = 3  # a subtitle this short with a number in it ("Part 2", "Study 3") marks a series
ABSTRACT_CHARS = 400  # the abstracts' openings are compared (databases append copyright lines at the end)

# Score = title similarity (0..1) + these adjustments. Hand-set: an agreeing field is a small bonus,
# another first author a large penalty (identical titles + other author lands in the review band).
SUBSTITUTION_PENALTY = 0.06  # per title word replaced by another word (not a typo of it)
INSERTION_PENALTY = 0.01  # per title word present in one title only
YEAR_OFF_PENALTY = 0.02  # years one apart (epub vs print)
YEAR_MISSING_PENALTY = 0.01
AUTHOR_AGREES = 0.04
AUTHOR_INITIAL_PENALTY = 0.03  # same family name, other first initial
AUTHOR_DIFFERS_PENALTY = 0.15
JOURNAL_AGREES = 0.02
JOURNAL_UNCLEAR_PENALTY = 0.03
VENUE_UNCLEAR_PENALTY = 0.01  # one record typed as a conference abstract, the other untyped
VOLUME_AGREES = 0.01
PAGES_AGREE = 0.02
ABSTRACT_AGREES = 0.03
ABSTRACT_DIFFERS_PENALTY = 0.08
MAX_BONUS = AUTHOR_AGREES + JOURNAL_AGREES + VOLUME_AGREES + PAGES_AGREE + ABSTRACT_AGREES


@dataclass(slots=True)
class Features:
    """Everything the matcher needs from one record, normalised once."""

    full: str
    main: str  # main title when the title has a subtitle, else ""
    tokens: list[str]  # content tokens of the full title (stopwords dropped)
    main_tokens: list[str]
    kind: str
    venue: str | None
    numbers: frozenset[str]
    doi: str | None
    pmid: str | None
    year: int | None
    family: str
    initials: str
    journal: tuple[str, ...]
    volume: str | None
    page: str | None
    abstract: str  # the abstract's opening, raw; normalised only when a pair needs it


def features(rec: Record) -> Features:
    """Normalise one record's fields for matching."""
    full, main = split_title(rec.title)
    tokens = content_tokens(full)
    kind = title_kind(full, tokens, rec.title)
    asserted, venue = pubtype_kind(rec.publication_type)
    if asserted and kind == "article":
        kind = asserted
    family, initials = author_key(rec.authors[0]) if rec.authors else ("", "")
    return Features(
        full=full, main=main, tokens=tokens, main_tokens=content_tokens(main) if main else [],
        kind=kind, venue=venue, numbers=title_numbers(full),
        doi=norm_doi(rec.doi), pmid=norm_pmid(rec.pmid), year=rec.year, family=family, initials=initials,
        journal=journal_tokens(rec.journal), volume=volume_key(rec.volume), page=first_page(rec.pages),
        abstract=rec.abstract[: ABSTRACT_CHARS + 100] if rec.abstract else "")


def hard_conflict(a: Features, b: Features) -> str | None:
    """A contradiction no title similarity can overrule, or None."""
    if a.doi and b.doi and a.doi != b.doi:
        return "different DOIs"
    if a.pmid and b.pmid and a.pmid != b.pmid:
        return "different PMIDs"
    if a.year is not None and b.year is not None and abs(a.year - b.year) > 1:
        return f"years {a.year} vs {b.year}"
    if a.kind != b.kind:
        return f"{a.kind} vs {b.kind}"
    if {a.venue, b.venue} == {"conference", "article"}:
        return "conference abstract vs article"
    return None


@dataclass(slots=True)
class Verdict:
    score: float
    reason: str
    veto: str | None
    uncorroborated: bool  # short or cut title with no other field agreeing: never merged automatically


def title_similarity(a: Features, b: Features, t_full: float, t_main: float) -> tuple[float, int]:
    """(title similarity 0..1, content tokens of the cut title it rests on, or 0 when not on a cut one).

    Where one title has a subtitle the other lacks, the other may be the same title cut at the colon; a
    cut of two content tokens counts only when it equals the main title exactly (a typo in two words is
    too much of the evidence).
    """
    best = t_full
    if bool(a.main) != bool(b.main):  # one title has a subtitle the other lacks
        short_tokens = len(a.main_tokens if a.main else b.main_tokens)
        exact_short = short_tokens >= SHORT_CUT_TOKENS and t_main >= 0.999
        if (short_tokens >= CUT_TITLE_TOKENS or exact_short) and TRUNCATION_FACTOR * t_main > best:
            return TRUNCATION_FACTOR * t_main, short_tokens
    return best, 0


def strong_agreement(a: Features, b: Features) -> bool:
    """First author (with initial), year and venue (journal or start page) agree, abstracts do not differ.

    What a short cut title needs besides itself: a two-word main title is shared by unrelated papers
    ("Not alone: ..."), the same team in the same journal and year under it far less often. Years one
    apart (epub vs print) count only when journal and start page both agree.
    """
    if not (a.family and b.family and family_compatible(a.family, b.family)):
        return False
    if a.initials and b.initials and a.initials[0] != b.initials[0]:
        return False
    journal = journal_match(a.journal, b.journal) == "same"
    pages = pages_agree(a.page, b.page) in ("same", "compatible")
    if a.year is None or b.year is None or not (journal or pages):
        return False
    if a.year != b.year and not (journal and pages):  # epub vs print year: only with journal and page agreeing
        return False
    return not _abstracts_differ(a, b)


def _abstract_similarity(a: Features, b: Features) -> float | None:
    """Similarity (0..100) of the two abstracts' openings, or None if either is missing or very short."""
    if len(a.abstract) < 50 or len(b.abstract) < 50:
        return None
    return fuzz.ratio(norm_text(a.abstract)[:ABSTRACT_CHARS], norm_text(b.abstract)[:ABSTRACT_CHARS])


def _abstracts_differ(a: Features, b: Features) -> bool:
    similarity = _abstract_similarity(a, b)
    return similarity is not None and similarity < 50


def _near(x: str, y: str) -> bool:
    """Same word up to a typo, a spelling variant or swapped letters (randomised/randomized, PSTD/PTSD)."""
    if x.isdigit() or y.isdigit():
        return False
    return fuzz.ratio(x, y) >= 80 or (len(x) >= 4 and sorted(x) == sorted(y))


MAX_WORD_CHANGES = 4  # beyond this many differing words per side, stop matching: the penalty already rejects


def word_changes(ta: list[str], tb: list[str]) -> tuple[int, int]:
    """(words substituted, words inserted) between two titles' content tokens, typos not counted.

    One changed word ("cocaine" vs "substance", "inpatient" vs "outpatient") separates two studies far
    more than its few characters suggest; split or joined words (post traumatic/posttraumatic) do not.
    """
    only_a = [t for t in ta if t not in tb]
    only_b = [t for t in tb if t not in ta]
    if not only_a or not only_b:
        return 0, len(only_a) + len(only_b)
    if fuzz.ratio("".join(only_a), "".join(only_b)) >= 85:
        return 0, 0
    if len(only_a) > MAX_WORD_CHANGES and len(only_b) > MAX_WORD_CHANGES:
        return min(len(only_a), len(only_b)), abs(len(only_a) - len(only_b))
    unmatched_b = list(only_b)
    substituted = 0
    for x in only_a:
        match = next((y for y in unmatched_b if _near(x, y)), None)
        if match is not None:
            unmatched_b.remove(match)
        else:
            substituted += 1
    replaced = min(substituted, len(unmatched_b))
    return replaced, abs(substituted - len(unmatched_b))


def pair_veto(a: Features, b: Features, truncated: bool) -> str | None:
    """A field contradiction that keeps a candidate pair apart whatever its title similarity."""
    veto = hard_conflict(a, b)
    if veto:
        return veto
    if truncated:
        short, long_ = (a, b) if not a.main else (b, a)
        if not short.numbers <= long_.numbers:
            return "numbers in title differ"
        if long_.numbers - short.numbers and len(long_.tokens) - len(long_.main_tokens) <= SERIES_TOKENS:
            return "numbered part of a series"  # "X" vs "X: Part 2" is not a cut subtitle
    elif a.numbers != b.numbers:
        return "numbers in title differ"
    if journal_match(a.journal, b.journal) == "different":
        return "different journals"
    if a.volume and b.volume and a.volume != b.volume:
        return "different volumes"
    if pages_agree(a.page, b.page) == "different":
        return "different pages"
    return None


def score_pair(a: Features, b: Features, t_full: float, t_main: float) -> Verdict:
    """Score a candidate pair from its title similarities (0..1) and the other fields.

    The score is the title similarity, minus changed words, plus small amounts for each field that
    agrees and minus for each that disagrees (weights below); a veto (``pair_veto``) overrides it.
    """
    title, cut_tokens = title_similarity(a, b, t_full, t_main)
    truncated = cut_tokens > 0
    notes = [f"title {title:.2f}" + (" (subtitle cut)" if truncated else "")]
    veto = pair_veto(a, b, truncated)
    if veto:
        return Verdict(score=0.0, reason=f"fuzzy: {notes[0]}; veto: {veto}", veto=veto, uncorroborated=True)
    score = title
    corroborated = False
    if truncated:
        short, long_ = (a, b) if not a.main else (b, a)
        substituted, inserted = word_changes(short.tokens, long_.main_tokens)
    else:
        substituted, inserted = word_changes(a.tokens, b.tokens)
    if substituted or inserted:
        score -= SUBSTITUTION_PENALTY * substituted + INSERTION_PENALTY * inserted
        notes.append(f"words changed {substituted}, added {inserted}")

    if a.year is not None and b.year is not None:
        if a.year != b.year:
            score -= YEAR_OFF_PENALTY
            notes.append("year ±1")
    else:
        score -= YEAR_MISSING_PENALTY

    if a.family and b.family:
        if family_compatible(a.family, b.family):
            if a.initials and b.initials and a.initials[0] != b.initials[0]:
                score -= AUTHOR_INITIAL_PENALTY
                notes.append("author initials differ")
            else:
                score += AUTHOR_AGREES
                corroborated = True
                notes.append("author =")
        else:
            score -= AUTHOR_DIFFERS_PENALTY
            notes.append("author ≠")

    journal = journal_match(a.journal, b.journal)
    if journal == "same":
        score += JOURNAL_AGREES
        notes.append("journal =")
    elif journal == "unclear":
        score -= JOURNAL_UNCLEAR_PENALTY
        notes.append("journal ?")
    if (a.venue == "conference") != (b.venue == "conference"):
        score -= VENUE_UNCLEAR_PENALTY  # an untyped record is more often the article than the meeting abstract
        notes.append("venue ?")
    if a.volume and a.volume == b.volume:
        score += VOLUME_AGREES
    if pages_agree(a.page, b.page) in ("same", "compatible"):  # "S836" and "836": one export dropped the S
        score += PAGES_AGREE
        corroborated = True
        notes.append("pages =")

    similarity = _abstract_similarity(a, b)
    if similarity is not None:
        if similarity >= 85:
            score += ABSTRACT_AGREES
            corroborated = True
            notes.append("abstract =")
        elif similarity < 50:
            score -= ABSTRACT_DIFFERS_PENALTY
            notes.append("abstract ≠")

    if a.doi and a.doi == b.doi:
        corroborated = True
    uncorroborated = not corroborated and (truncated or min(len(a.tokens), len(b.tokens)) < SHORT_TITLE_TOKENS)
    if uncorroborated:
        notes.append("short or cut title and no author/pages/abstract agree")
    elif truncated and cut_tokens < CUT_TITLE_TOKENS and not strong_agreement(a, b):
        uncorroborated = True
        notes.append("two-word cut title without author, year and venue all agreeing")
    score = max(0.0, score)  # may exceed 1 so that better-corroborated pairs sort first
    return Verdict(score=round(score, 4), reason="fuzzy: " + ", ".join(notes), veto=None,
                   uncorroborated=uncorroborated)
