"""A coarse publication type for criterion rules: protocol, erratum, comment, review, retraction or article.

Rules such as ``publication_type not in ['protocol', 'erratum', 'comment', 'review', 'retraction']``
exclude records on this value, so it must say something other than "article" only on evidence.

Precedence:

1. **The database's own type field decides first** (``raw_type``: PubMed PT values joined with "; ",
   Embase/Scopus/WoS/CINAHL document types, ERIC publication types, RIS TY names, BibTeX entry types).
   Within the field: retraction > erratum > protocol > a primary-study design (e.g. "Randomized
   Controlled Trial", "Case Reports": the record is an article even if also tagged Review, Comment or
   Letter) > comment > review. Container types ("Journal Article", "Article", "JOUR", "article",
   "Conference Paper", "Generic") and unknown values say nothing and hand over to the title; so do
   Scopus/Embase "Note" (often a short research report) and "Conference Review" (a proceedings volume).
   "Letter" and "Editorial" are comments (PubMed adds a design type to a research letter that reports a
   trial); "Retracted Publication" (the retracted article itself) counts as a retraction.
   One exception: a bare, generic "Review" (no "Systematic Review" / "Meta-Analysis") gives way to a
   title that states a primary design ("...: a randomized controlled trial"), because Web of Science
   calls any paper with over 100 references a Review and Scopus mislabels some primary papers too.
2. **The title second**, with anchored, word-bounded patterns: "Re:" only at the very start,
   "Correction:" only at the start, "retracted" only as a marker ("RETRACTED:", "[Retracted]"), "protocol"
   only as a study or trial protocol (never "per-protocol" or a clinical protocol being evaluated), and
   review words only as the paper's own design ("a case report and review of the literature" is a case
   report; "a randomized trial and meta-analysis" reports a new trial, so it is an article).
3. **"article" whenever unsure**; None only when there is neither a title nor a type.
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["protocol", "erratum", "comment", "review", "retraction", "article"]

# -- the database's type field --------------------------------------------------------------------------

_FIELD_RETRACTION = re.compile(r"\bretract(?:ion|ed|ions)\b|\bwithdrawn publication\b")
_FIELD_ERRATUM = re.compile(r"\b(?:errat(?:um|a)|corrigend(?:um|a)|corrections?)\b")  # not "Corrected and Republished"
_FIELD_PROTOCOL = re.compile(r"\bprotocol\b")
# Primary-study designs the indexer saw (PubMed PT, ERIC "Reports - Research"/"Reports - Evaluative").
_FIELD_DESIGN = re.compile(
    r"\b(?:randomi[sz]ed controlled trial|controlled clinical trial|clinical trial(?:, phase [ivx]+|, veterinary)?"
    r"|pragmatic clinical trial|equivalence trial|adaptive clinical trial|multicent(?:er|re) study"
    r"|observational study(?:, veterinary)?|comparative study|evaluation study|validation study|twin study"
    r"|clinical study|case reports?|reports - (?:research|evaluative))\b")
_FIELD_BOOK_REVIEW = re.compile(r"\b(?:book review|review-(?:book|media|software)\b)")
_FIELD_COMMENT = re.compile(r"\b(?:comment|comments|comment/reply|editorial|letter|discussion|news|news item"
                            r"|opinion papers?|expression of concern)\b")
_FIELD_SPECIFIC_REVIEW = re.compile(r"\b(?:systematic review|meta[- ]?analysis|scoping review|literature review"
                                    r"|information analyses|short survey|network meta-analysis)\b")
# "Review" alone; "Conference Review" is Scopus's record for a whole proceedings volume, not a review.
_FIELD_GENERIC_REVIEW = re.compile(r"(?<!conference )\breview\b")


def field_kind(raw_type: str | None) -> Kind | None:
    """The kind the database's type field asserts, or None when it asserts nothing beyond "some item"."""
    if not raw_type or not raw_type.strip():
        return None
    text = " ".join(raw_type.lower().split())
    if _FIELD_RETRACTION.search(text):
        return "retraction"
    if _FIELD_ERRATUM.search(text):
        return "erratum"
    if _FIELD_PROTOCOL.search(text):
        return "protocol"
    if _FIELD_DESIGN.search(text):
        return "article"
    if _FIELD_BOOK_REVIEW.search(text) or _FIELD_COMMENT.search(text):
        return "comment"
    if _FIELD_SPECIFIC_REVIEW.search(text) or _FIELD_GENERIC_REVIEW.search(text):
        return "review"
    return None


def _generic_review_only(raw_type: str) -> bool:
    """True when the field's review evidence is a bare "Review" (the kind WoS gives long reference lists)."""
    text = " ".join(raw_type.lower().split())
    return not _FIELD_SPECIFIC_REVIEW.search(text)


# -- the title ----------------------------------------------------------------------------------------------

_SEP = r"(?:^|[:.;?!\[(]\s*|\s[-\u2013\u2014]+\s*)"  # start of the title or of one of its segments
_END = r"\s*[.\])]?\s*$"
# Before a trailing ": a review", ": protocol", ": comment": a colon, a spaced hyphen or a dash, or ". ";
# never a hyphen inside a word ("mini-review", "per-protocol").
_TAIL = r"(?::|\s[-\u2013\u2014]+|[\u2013\u2014]|\.\s)"

_TITLE_RETRACTION = re.compile(
    r"^(?:retracted(?: article| paper| publication)?\s*[:.\]\-\u2013\u2014]"
    r"|retraction\s*(?::|notes?\b|notices?\b|statements?\b|for\b|of\s*:|to\s*:)"
    r"|withdrawn\s*[:\]])"
    r"|[\[(]\s*(?:retracted(?: article| paper| publication)?|retraction(?: notice| note)?)\s*[\])]"
    r"|\b(?:notice of retraction|retraction notice|statement of retraction)\b")
_TITLE_ERRATUM = re.compile(
    r"\b(?:errat(?:um|a)|corrigend(?:um|a))\b"
    r"|^(?:corrections?\s*(?::|to\b|notices?\b|notes?\b)"
    r"|(?:authors?'?|publisher'?s?)\s+corrections?\b)"
    r"|\bnotice of correction\b")
_TITLE_COMMENT = re.compile(
    r"^re\s*:"
    r"|^(?:comments?|commentary)\s*(?::|$)"
    r"|" + _SEP + r"(?:an? )?(?:invited |editorial |expert |clinical )?(?:comments?|commentary) (?:on|to|about)\b"
    r"|\b(?:invited|editorial|expert) commentary\b|^readers?'? response\b"
    r"|" + _TAIL + r"\s*(?:an? )?(?:critical |brief |short )?(?:comments?|commentary)" + _END +
    r"|^(?:in )?reply\b|\breply to\b|\b(?:authors?'?|authors'|investigators'?) (?:reply|response)\b|\breply" + _END +
    r"|^(?:in )?response to (?:the |a |an |our |my )?(?:letters?|comments?|commentary|commentaries|editorial"
    r"|critiques?|criticisms?|correspondence|reviewers?|rebuttal|reply|concerns?|dr\b|drs\b|prof\b|professor)"
    r"|^(?:in )?response to [\"'\u201c\u2018]"
    r"|^(?:in )?response to [a-z'\-]+(?: and [a-z'\-]+)?,? et al\b"
    r"|\bletters? to the editors?\b|\bletter to editors?\b|^letter\s*:|^(?:an )?open letter\b"
    r"|^editorial\s*(?::|$|comment\b|note\b|[\-\u2013\u2014])"
    r"|[\[(]\s*(?:editorial|comment|commentary|letter)\s*[\])]")

_DESIGN_NOUN = r"(?:trial|study|review|meta[- ]?analysis|cohort|investigation|experiment|survey|rct)"
_NOT_A_PROTOCOL_PAPER = r"(?!-| (?:deviations?|violations?|adherence|compliance|amendments?|changes?)\b)"
_TITLE_PROTOCOL = re.compile(
    # "...: study protocol for a randomised controlled trial", "Study protocol: ...", "...: trial protocol"
    _SEP + r"(?:an? |the )?(?:study|trial|review|research|evaluation|pilot) protocol\b" + _NOT_A_PROTOCOL_PAPER
    + r"|\b(?:study|trial|review) protocol (?:for|of)\b|\bprotocol paper\b"
    # "Protocol for a randomized trial of ...", "...: a protocol for a cluster trial", but not "a protocol for
    # the management of sepsis" (a clinical protocol) unless a study design follows
    r"|" + _SEP + r"(?:an? |the )?protocol (?:for|of)\b[^:;]{0,80}?\b" + _DESIGN_NOUN + r"\b"
    r"|" + _TAIL + r"\s*(?:an? |the )?(?:study |trial )?protocol" + _END +
    r"|[\[(]\s*protocol\s*[\])]")

_SYSTEMATIC = (r"(?:systematic(?:al)?(?: literature| evidence)? reviews?|meta[- ]?analy(?:sis|ses|tic review)"
               r"|meta[- ]?regression|scoping reviews?|umbrella reviews?|narrative reviews?|rapid reviews?"
               r"|realist reviews?|integrative reviews?|mapping reviews?|(?:over)?view of (?:systematic )?reviews"
               r"|synthesis of (?:systematic )?reviews|(?:research|evidence|quantitative) synthesis"
               r"|meta[- ]?synthes[ie]s|meta[- ]?ethnography|cochrane review)")
# Research about reviews is not itself a review: "reporting quality of systematic reviews", "trials in meta-analyses".
_ABOUT_REVIEWS = re.compile(r"\b(?:of|in|among|from|by|for|across|on|included in)\s+(?:[\w-]+\s+){0,2}?"
                            r"(?:systematic reviews|meta-analyses|meta analyses)(?:\s+and\s+meta[- ]analyses)?\b")
_REVIEW_ADJ = (r"(?:(?:brief|short|mini|critical|comprehensive|clinical|updated?|concise|current|selective|practical"
               r"|general|structured|evidence-based|historical|comparative|narrative|literature|descriptive)[ \-])*")
_TITLE_REVIEW = re.compile(
    r"\b" + _SYSTEMATIC + r"\b"
    r"|^(?:a )?review(?: article)?\s*:"
    r"|" + _TAIL + r"\s*(?:an? )?" + _REVIEW_ADJ + r"(?:review|overview)"
    r"(?: and (?:update|recommendations|commentary|perspectives?|future directions))?" + _END)
# Review wording that a primary report also uses ("a case report and review of the literature"): counts only
# when the title states no primary design of its own.
_TITLE_WEAK_REVIEW = re.compile(
    r"\bliterature reviews?\b"
    r"|\b(?:review|overview) of (?:the )?(?:[\w-]+ ){0,2}?(?:literature|evidence|research)\b"
    r"|\b(?:analysis|appraisal|survey) of the (?:[\w-]+ )?literature\b"
    r"|\breview of (?:its|their)\b"
    r"|\breview of (?:recent |published |the )?(?:[\w-]+ ){0,3}?(?:trials|studies)\b"
    r"|" + _SEP + r"(?:an? )?" + _REVIEW_ADJ + r"review of\b(?! (?:\d|one|two|three|four|five|six|seven|eight"
    r"|nine|ten|our|cases|patients|records|charts|medical records|hospital))")
# A new study reported together with a review: "a randomized trial and meta-analysis", "review and case series".
_TITLE_STUDY_AND_REVIEW = re.compile(
    r"\b(?:trial|study|cohort|experiment|case report|case series)\b[^:;]{0,40}?\b(?:and|with|plus|&)\s+"
    r"(?:an? )?(?:updated |cumulative |pooled )?(?:systematic (?:literature )?review|meta[- ]?analysis|review)\b"
    r"|\b(?:systematic review|meta[- ]?analysis|literature review|review)(?:,[^:;]{0,40}?,)? (?:and|with|plus|&)"
    r" (?:an? )?(?:new |novel |original |own |single[- ]cent(?:er|re) |retrospective |prospective )?"
    r"(?:case series|case reports?|cohort study|case-control study|cross-sectional (?:study|survey)|survey"
    r"|(?:randomi[sz]ed )?(?:controlled )?trial\b(?! sequential)|experimental study|empirical study|primary data)")
# A title stating a primary design of its own (singular): "...: a randomised controlled trial".
_TITLE_PRIMARY = re.compile(
    r"\b(?:randomi[sz]ed|controlled|clinical|pilot|feasibility|cross-?over|double-blind|placebo-controlled"
    r"|open-label|multicent(?:er|re)|phase (?:i{1,3}|iv|[1-4]))\b[^:;]{0,40}?\btrial\b(?!s)"
    r"|\b(?:cohort|case-control|cross-sectional|longitudinal|prospective|retrospective|observational"
    r"|experimental|qualitative|pilot|feasibility) study\b(?!s)"
    r"|\bcase reports?\b|\bcase series\b|\bcase study\b|\bwe report\b|\bour experience\b|\breport of (?:a|an|two"
    r"|three|\d+)\b")

# Checked in this order: "Erratum: Protocol for a ..." is an erratum, "Comment on: a systematic review" a comment.
_TITLE_MARKERS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    ("retraction", _TITLE_RETRACTION), ("erratum", _TITLE_ERRATUM), ("comment", _TITLE_COMMENT),
    ("protocol", _TITLE_PROTOCOL))


def _title_text(title: str) -> str:
    """Lower-case title with straight quotes and single spaces, leading quotes and asterisks removed."""
    text = title.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = " ".join(text.split())
    return re.sub(r"^[\s\"'\u201c\u201d*]+", "", text)


def title_announces_primary_design(title: str | None) -> bool:
    """True when the title itself states a primary study ("...: a randomized controlled trial")."""
    return title is not None and _TITLE_PRIMARY.search(_title_text(title)) is not None


def title_kind(title: str | None) -> Kind | None:
    """The kind the title announces, or None when it announces nothing beyond a primary report."""
    if not title or not title.strip():
        return None
    text = _title_text(title)
    for kind, pattern in _TITLE_MARKERS:
        if pattern.search(text):
            return kind
    if _TITLE_STUDY_AND_REVIEW.search(text):
        return None
    text = _ABOUT_REVIEWS.sub(" ", text)
    if _TITLE_REVIEW.search(text):
        return "review"
    if _TITLE_WEAK_REVIEW.search(text) and not _TITLE_PRIMARY.search(text):
        return "review"
    return None


def classify_publication_type(title: str | None, raw_type: str | None) -> str | None:
    """protocol, erratum, comment, review, retraction or article (None when there is no title and no type).

    The type field decides when it asserts anything, then the title; "article" whenever unsure.
    """
    has_title, has_type = bool(title and title.strip()), bool(raw_type and raw_type.strip())
    if not has_title and not has_type:
        return None
    field = field_kind(raw_type)
    if field == "review" and _generic_review_only(raw_type or "") and title_announces_primary_design(title):
        return "article"
    if field is not None:
        return field
    return title_kind(title) or "article"
