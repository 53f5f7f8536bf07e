"""Field normalisation for duplicate detection: titles, identifiers, authors, journals, pages.

Every function is pure and cheap; the engine calls them once per record (or once per distinct
journal/author string through the caches) so that comparisons work on canonical forms.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

# Letters NFKD does not decompose, and Greek letters databases spell out ("TNF-α" vs "TNF-alpha").
_FOLD = str.maketrans({
    "ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d",
    "œ": "oe", "Œ": "oe", "ı": "i", "þ": "th", "ð": "d",
    "α": " alpha ", "β": " beta ", "γ": " gamma ", "δ": " delta ", "ε": " epsilon ", "κ": " kappa ",
    "λ": " lambda ", "μ": " mu ", "µ": " mu ", "π": " pi ", "σ": " sigma ", "τ": " tau ", "ω": " omega ",
    "Δ": " delta ", "Ω": " omega ",
})
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]{0,10}(?:\s[^<>]{0,60})?/?>")
_NON_WORD = re.compile(r"[\W_]+")  # any script's letters and digits stay
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_NUMBER = re.compile(r"\d+|\b(?:ii|iii|iv|vi|vii|viii|ix)\b")
_DIGITS = re.compile(r"\d+")
_PAGE = re.compile(r"[A-Za-z]?\d+")
_SUBTITLE = re.compile(r"\s*(?::|\s-{1,2}\s|\s[\u2013\u2014]\s)\s*")
_SENTENCE = re.compile(r"(?<=[a-z0-9)]{4})\.\s+")  # "... heart failure. Results of ..." but not "vs. "
_DOI_PREFIX = re.compile(r"^(?:https?://)?(?:dx\.)?(?:doi\.org/|doi:\s*|doi\s+)", re.IGNORECASE)
_DOI_SHAPE = re.compile(r"^10\.\d{3,9}/\S+$")

STOPWORDS = frozenset(
    "a an the of in on for and or with to by from at as is are was were be been its their his her this that "
    "these those into than vs versus via".split())
# "fur"/"voor"/"van": Zeitschrift fur Kardiologie = Z Kardiol, Nederlands Tijdschrift voor Geneeskunde = Ned
# Tijdschr Geneeskd (ISO 4 drops prepositions and articles in every language)
_JOURNAL_STOP = frozenset("the of and for in on de la le der die und des du et fur voor van del di y".split())
_JOURNAL_SUBTITLE = re.compile(r"\s*:\s+")


def fold(text: str) -> str:
    """Unescape HTML (twice: double-encoded exports), drop tags, "&" as "and", strip diacritics, lower-case."""
    if "&" in text:
        text = html.unescape(html.unescape(text)).replace("&", " and ")
    if not text.isascii():  # before tags: an accent inside a tag ("</í>") would otherwise keep it as a word
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text.translate(_FOLD)))
    if "<" in text:
        text = _TAG.sub(" ", text)
    return text.lower()


@lru_cache(maxsize=50_000)
def norm_text(text: str | None) -> str:
    """Comparable form of free text: folded, punctuation to spaces, whitespace collapsed."""
    if not text:
        return ""
    return _NON_WORD.sub(" ", fold(text)).strip()


def split_title(title: str | None) -> tuple[str, str]:
    """(normalised full title, normalised main title before a subtitle separator; "" if none)."""
    if not title:
        return "", ""
    folded = fold(title).strip().strip(".[]")
    full = _NON_WORD.sub(" ", folded).strip()
    cut = None
    if ":" in folded or " -" in folded or "\u2013" in folded or "\u2014" in folded:
        cut = _SUBTITLE.search(folded)
    if cut is None and ". " in folded:
        cut = _SENTENCE.search(folded)
    if cut is not None and folded[cut.end():].strip():
        main = _NON_WORD.sub(" ", folded[: cut.start()]).strip()
        if main and main != full:
            return full, main
    return full, ""


def content_tokens(norm: str) -> list[str]:
    """Title tokens without stopwords (blocking keys are built from these)."""
    return [t for t in norm.split() if t not in STOPWORDS]


def title_numbers(norm: str) -> frozenset[str]:
    """Numbers in a title (digit runs and roman numerals ii-ix): "part 2" is not "part 3"."""
    return frozenset(_NUMBER.findall(norm))


_KIND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("retraction", re.compile(r"\bretraction\b|^(retracted|withdrawn)\b|\bexpression of concern\b")),
    ("erratum", re.compile(r"\b(erratum|errata|corrigendum|corrigenda)\b|\b(author|authors|publisher)s? correction\b"
                           r"|\bcorrection (to|notice)\b")),
    ("reply", re.compile(r"^(reply|replies|in reply|in response)\b|\b(reply|replies) to\b|\bauthors? (reply|response)\b"
                         r"|^response to (the )?(comment|comments|letter|commentary|critique|editorial|criticism)\b"
                         r"|\breply$")),
    ("comment", re.compile(r"^(comment|comments|commentary)\b|\b(comment|comments|commentary) on\b"
                           r"|\breader response\b|\bletter to the editor\b|\bcomment$")),
    ("protocol", re.compile(r"\bprotocol\b|\b(rationale (and )?design|design (and )?rationale)\b"
                            r"|\b(rationale|design) (and )?methods\b")),
)
_KIND_WORDS = frozenset(
    "retraction retracted withdrawn concern erratum errata corrigendum corrigenda correction reply replies "
    "response comment comments commentary letter protocol rationale design".split())
# "Re: <title>" and "Correction: <title>" need their colon: "Re-evaluation of", "Correction of hyponatraemia"
_LEADING_MARK = re.compile(r"^\W*(re|corrections?)\s*:", re.IGNORECASE)


def title_kind(norm: str, tokens: list[str] | None = None, raw: str | None = None) -> str:
    """What kind of item a title announces: article, erratum, comment, reply, retraction, protocol.

    ``norm`` is the normalised title, ``raw`` the title as exported (for "Re:" and "Correction:");
    ``tokens`` (its content tokens, if at hand) saves splitting the title again.
    """
    if raw:
        mark = _LEADING_MARK.match(raw)
        if mark:
            return "comment" if mark.group(1).lower() == "re" else "erratum"
    if _KIND_WORDS.isdisjoint(norm.split() if tokens is None else tokens):
        return "article"
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(norm):
            return kind
    return "article"


@lru_cache(maxsize=4096)
def pubtype_kind(publication_type: str | None) -> tuple[str | None, str | None]:
    """(item kind the database asserts or None, venue: "conference" | "article" | None)."""
    if not publication_type:
        return None, None
    p = publication_type.lower()
    if any(w in p for w in ("erratum", "correction", "corrigendum")):
        return "erratum", None
    if "retract" in p:
        return "retraction", None
    if "comment" in p:
        return "comment", None
    if any(w in p for w in ("conf", "abst", "meeting", "congress", "proceeding", "poster", "cpaper")):
        return None, "conference"
    if any(w in p for w in ("jour", "article", "review", "trial", "study", "research")):
        return None, "article"
    return None, None


def norm_doi(doi: str | None) -> str | None:
    """Bare lower-case DOI from any of its written forms (URL, ``doi:``, trailing punctuation)."""
    if not doi:
        return None
    d = html.unescape(doi).strip()
    d = _DOI_PREFIX.sub("", d).strip().rstrip(".,;)").lower()
    d = d.replace("%2f", "/")
    return d if _DOI_SHAPE.match(d) else (d or None)


def norm_pmid(pmid: str | int | None) -> str | None:
    """PMID digits only (``PMID: 123`` -> ``123``); None when there are no digits."""
    if pmid is None:
        return None
    digits = "".join(_DIGITS.findall(str(pmid)))
    return digits.lstrip("0") or None


_INITIALS = re.compile(r"^[A-Z]{1,3}$")
_INITIAL_TOKEN = re.compile(r"^(?:[A-Za-z]\.)+$|^[A-Z]$")


@lru_cache(maxsize=200_000)
def author_key(author: str | None) -> tuple[str, str]:
    """(normalised family name, initials) from "Family, Given", "Family GA" or "Given Family"."""
    if not author:
        return "", ""
    a = author.strip()
    if "," in a:
        family, given = a.split(",", 1)
    else:
        parts = a.split()
        if len(parts) >= 2 and _INITIALS.match(parts[-1]):
            family, given = " ".join(parts[:-1]), parts[-1]
            given = " ".join(given)  # "GA" -> "G A"
        elif len(parts) >= 2 and _INITIAL_TOKEN.match(parts[0]):  # "J. A. Smith"
            lead = 0
            while lead < len(parts) - 1 and _INITIAL_TOKEN.match(parts[lead]):
                lead += 1
            family, given = " ".join(parts[lead:]), " ".join(parts[:lead])
        elif len(parts) >= 2:
            family, given = parts[-1], " ".join(parts[:-1])
        else:
            family, given = a, ""
    fam = norm_text(family).replace(" ", "")
    given_tokens = re.split(r"[\s.\-]+", fold(given).strip())
    initials = "".join(t[0] for t in given_tokens if t and t[0].isalpha())
    return fam, initials


def family_compatible(a: str, b: str) -> bool:
    """Same family name allowing transliteration (Müller/Mueller), compound names and small typos."""
    if not a or not b:
        return False
    if a == b or a.replace("ue", "u").replace("oe", "o").replace("ae", "a") == \
            b.replace("ue", "u").replace("oe", "o").replace("ae", "a"):
        return True
    short, long_ = sorted((a, b), key=len)
    if len(short) >= 4 and len(long_) - len(short) >= 3 and (long_.startswith(short) or long_.endswith(short)):
        return True  # compound names: "Garcia Lopez" / "Garcia", "van der Berg" / "Berg" (not Chen/Cheng)
    return min(len(a), len(b)) >= 5 and Levenshtein.distance(a, b) <= 1


@lru_cache(maxsize=50_000)
def journal_tokens(journal: str | None) -> tuple[str, ...]:
    """Journal name as comparable tokens: parenthesised places dropped, stopwords removed."""
    if not journal:
        return ()
    j = re.sub(r"\([^)]*\)", " ", fold(journal))
    head = _JOURNAL_SUBTITLE.split(j, maxsplit=1)[0]
    tokens = tuple(t for t in _NON_WORD.split(head) if t and t not in _JOURNAL_STOP)
    if len(tokens) >= 2:  # "Psychological Trauma: Theory, Research, Practice, and Policy" is "Psychol Trauma"
        return tokens
    return tuple(t for t in _NON_WORD.split(j) if t and t not in _JOURNAL_STOP)


def _abbreviates(short: str, full: str) -> bool:
    """Is ``short`` an abbreviation of ``full``: same first letter, letters in order (Natl/National)."""
    if short == full:
        return True
    if not short or not full or short[0] != full[0] or len(short) > len(full):
        return False
    pos = 0
    for ch in short:
        pos = full.find(ch, pos) + 1
        if pos == 0:
            return False
    return True


def _abbreviates_run(short: tuple[str, ...], full: tuple[str, ...]) -> bool:
    """Each short token abbreviates one full token or two joined ones ("Neuropsychopharmacol")."""

    def joined(token: str, first: str, second: str) -> bool:
        return any(token[cut] == second[0] and _abbreviates(token[:cut], first)
                   and _abbreviates(token[cut:], second) for cut in range(1, len(token)))

    def match(i: int, j: int) -> bool:
        if i == len(short):
            return j == len(full)
        if j < len(full) and _abbreviates(short[i], full[j]) and match(i + 1, j + 1):
            return True
        return j + 1 < len(full) and joined(short[i], full[j], full[j + 1]) and match(i + 1, j + 2)

    return len(short) <= len(full) and match(0, 0)


@lru_cache(maxsize=200_000)
def journal_match(a: tuple[str, ...], b: tuple[str, ...]) -> str:
    """"same" (equal, abbreviation, acronym or a typo), "unclear", "different", or "missing"."""
    if not a or not b:
        return "missing"
    if a == b:
        return "same"
    if len(a) == len(b) and all(_abbreviates(x, y) or _abbreviates(y, x) for x, y in zip(a, b)):
        return "same"
    if _abbreviates_run(a, b) or _abbreviates_run(b, a):
        return "same"
    for short, full in ((a, b), (b, a)):  # an acronym: BMJ, JAMA, PNAS
        if len(short) == 1 and len(full) >= 2 and len(short[0]) >= 3 and \
                "".join(t[0] for t in full).startswith(short[0]):
            return "same"
    similarity = fuzz.ratio(" ".join(a), " ".join(b))
    if similarity >= 90:
        return "same"
    return "unclear" if similarity >= 85 else "different"


def first_page(pages: str | None) -> str | None:
    """Start page as a comparable token: "123-9" -> "123", "e0123" -> "123", "S45" -> "s45"."""
    if not pages:
        return None
    m = _PAGE.search(pages)
    if not m:
        return None
    p = m.group(0).lower()
    if p[0] == "e":
        p = p[1:]
    return p.lstrip("0") or p


def page_number(page: str | None) -> str | None:
    """A ``first_page`` token without its letter prefix ("s836" -> "836"), for comparing across exports.

    One database keeps the supplement's "S" and another drops it; the digits still have to agree.
    """
    if not page:
        return None
    return page[1:] if page[0].isalpha() else page


def pages_agree(a: str | None, b: str | None) -> str:
    """"same" (equal start pages), "compatible" ("S836" vs "836"), "different", or "missing"."""
    if not a or not b:
        return "missing"
    if a == b:
        return "same"
    return "compatible" if page_number(a) == page_number(b) else "different"


@lru_cache(maxsize=50_000)
def volume_key(volume: str | None) -> str | None:
    """Leading volume number ("45 Suppl 2" -> "45")."""
    if not volume:
        return None
    m = _DIGITS.search(volume)
    if m is None:
        return None
    return m.group(0).lstrip("0") or "0"
