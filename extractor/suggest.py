"""Numbers a page prints that a missing value likely is, ranked by a model fitted on tuned papers (pure).

The rule extractor misses about two thirds of the values of a report it was not tuned on (docs/extraction.md), and
a reviewer then types each of them (``metasift enter``, ``verify``'s e). ``suggest`` ranks every number the study's
pages print as the value one gap asks for: a logistic model over what the number's line says (words of
randomisation, analysis, loss or baseline; the arm's name or another arm's; the outcome's instruments), where the
number stands in it (after "n =", in brackets, after "±", its rank among the line's numbers against the arm's
place among the study's arms), on which page, and whether the line prints another arm's same value the study
already holds (Held: read by the extractor, or entered). It reads no layout, so it holds where the
extractor's table rules do not apply, and it decides nothing: a suggestion is only entered when a reviewer picks
it, through the same check as a typed value.

The weights (``suggest_model.json``) are fitted by ``bench/train_suggest.py`` on the tuned halves only; that
script reports how often the right value is first or among the first three on papers it was not fitted on.
Hand-written because the model is a dot product over 61 features: shipping scikit-learn's pickled object
would tie the store of weights to a library version, and a JSON of coefficients is read by anyone.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from metasift.config import OutcomeSpec
from metasift.extractor.checks import normalise_pdf_text
from metasift.extractor.gaps import Gap
from metasift.extractor.outcomes import instrument_matches, tokens

MODEL = Path(__file__).with_name("suggest_model.json")
# the fields a model is fitted for: follow-up values have no truth to fit on, so get no suggestion
FIELDS = ("n_randomised", "n_analysed", "n_dropout", "baseline_mean", "baseline_sd", "baseline_n")
WHOLE = frozenset({"n_randomised", "n_analysed", "n_dropout", "baseline_n"})

# a number of its own: not inside a word or a longer number, nor a scale's name ("PHQ-9", "SF-36", "COVID-19")
_NUMBER = re.compile(r"(?<![\w.])(?<![a-z]-)(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w]|\.\d)")
_CUES = {
    "rand": r"randomi[sz]|allocat|assigned|enrol",
    "anal": r"analy[sz]|complet|included|itt\b|intention|per[- ]protocol|follow[- ]?up",
    "drop": r"\blost\b|withdr|drop|discontinu|attrition|exclud|did not|declined|died|lost to",
    "base": r"baseline|\bpre\b|pre-|before|\bt0\b|week 0|at entry",
    "post": r"\bpost\b|after|follow|week [1-9]|month|\bt[1-9]\b|end of",
    "total": r"\btotal\b|overall|\ball\b|combined",
    "stat": r"\bmean\b|\bsd\b|±|standard deviation|\bm \(sd\)",
    "median": r"median|iqr|interquartile|range",
    "pvalue": r"\bp\s*[<=>]|p-value|p value",
    "neq": r"\bn\s*[=:]",
    "percent": r"%",
}
_CUE = {k: re.compile(v) for k, v in _CUES.items()}
_CAPTION = re.compile(r"^(?:table|tab\.)\s*[0-9ivx]+\b")
_CITATION = re.compile(r"\[[\d,\s–-]+\]")  # reference numbers: [9-12], [3, 5]
_NEAR_CUES = ("rand", "anal", "drop")  # the cues also read next to a number and in the lines above
_WORD = re.compile(r"[a-z][a-z0-9+-]+")
_STOP = frozenset({"group", "groups", "arm", "arms", "the", "and", "with", "plus", "of", "for", "to", "in", "a"})


@dataclass(frozen=True)
class Suggestion:
    """A number one of the study's pages prints, and how likely the model thinks it is the missing value."""

    value: float
    page: int
    line: str
    score: float

    def to_json(self) -> dict:
        return {"value": self.value, "page": self.page, "line": self.line, "score": round(self.score, 3)}


@dataclass(frozen=True)
class Candidate:
    """One number of one line, with what its line and place say (the part of the features no gap changes)."""

    value: float
    page: int
    line: str  # as the page prints it (the quote an entry stores)
    text: str  # normalised, as the features read it (``start`` and ``end`` index it)
    start: int
    end: int
    rank: int  # among the line's numbers
    kind_rank: int  # among the line's numbers of its kind (bracketed or after ±, or not)
    bracketed: bool
    of_kind: int  # how many numbers of its kind the line prints
    above: str  # the two lines above it on its page
    features: tuple[float, ...]


@dataclass(frozen=True)
class Held:
    """A value the study already holds (read by the extractor, or entered), and where it is printed: the line of
    another arm's same value is the likeliest line of this arm's."""

    field: str
    arm: str | None
    value: float | None
    page: int | None
    quote: str
    measure: str | None = None


def _words(name: str | None) -> set[str]:
    return {w for w in _WORD.findall((name or "").lower()) if w not in _STOP and len(w) > 2}


def _bracketed(before: str) -> bool:
    """Whether a number stands in brackets or after ± (an SD, a share, a range), by the text just before it."""
    return before.endswith("(") or bool(re.search(r"(?:±|\+/-|\+-)\s*$", before))


def _value(text: str) -> float:
    return float(text.replace(",", ""))


def page_candidates(texts: Mapping[int, str]) -> list[Candidate]:
    """Every number of every line of the pages (each line once per page), with the features of its line and place.
    A number directly followed by % is a share, not a count or a mean, and is left out; so is a reference number."""
    out: list[Candidate] = []
    for page, text in sorted(texts.items()):
        seen: set[str] = set()
        raws = [raw.strip() for raw in text.split("\n") if raw.strip()]
        lines = [normalise_pdf_text(raw) for raw in raws]
        caption = ""  # the last table caption above, on this page
        for i, line in enumerate(lines):
            if _CAPTION.match(line):
                caption = line
            if line in seen:
                continue
            seen.add(line)
            above = " ".join(lines[max(0, i - 2):i])
            said = _line_cues(line, above, caption) | {"page_fraction": (page - 1) / max(len(texts), 1)}
            cited = [m.span() for m in _CITATION.finditer(line)]
            numbers = [m for m in _NUMBER.finditer(line) if not line[m.end():m.end() + 2].lstrip().startswith("%")
                       and not any(a <= m.start() < b for a, b in cited)]
            marks = [_bracketed(line[max(0, m.start() - 6):m.start()]) for m in numbers]
            of_kind, kinds = Counter(marks), Counter()
            for rank, (m, bracketed) in enumerate(zip(numbers, marks, strict=True)):
                place = _number_features(line, m, rank, len(numbers), bracketed)
                features = tuple((said | place)[name] for name in LINE_FEATURES)
                out.append(Candidate(_value(m.group()), page, raws[i], line, m.start(), m.end(), rank,
                                     kinds[bracketed], bracketed, of_kind[bracketed], above, features))
                kinds[bracketed] += 1
    return out


def _line_cues(line: str, above: str, caption: str) -> dict[str, float]:
    """What a line says: cue words in it and in the two lines above it, and the table caption above it."""
    said = {name: _flag(rx.search(line)) for name, rx in _CUE.items()}
    said |= {f"{k}_above": _flag(_CUE[k].search(above)) for k in _NEAR_CUES + ("base",)}
    said |= {"under_table_caption": _flag(caption),
             "baseline_table": _flag(_CUE["base"].search(caption) or "characteristic" in caption
                                     or "demograph" in caption),
             "outcome_table": _flag(re.search(r"outcome|result|follow|change|effect|post", caption)),
             "short_line": _flag(len(line) < 60)}
    return said


def _number_features(line: str, m: re.Match, rank: int, numbers: int, bracketed: bool) -> dict[str, float]:
    """Where a number stands in its line and what it looks like."""
    before, after = line[max(0, m.start() - 6):m.start()], line[m.end():m.end() + 3]
    text = m.group()
    value, decimals = _value(text), len(text.split(".")[1]) if "." in text else 0
    place = {
        "whole": _flag(decimals == 0), "one_decimal": _flag(decimals == 1), "two_decimals": _flag(decimals >= 2),
        "log_value": math.log10(value + 1.0), "year": _flag(decimals == 0 and 1900 <= value <= 2099),
        "below_one": _flag(value < 1), "bracketed": _flag(bracketed),
        "after_n": _flag(re.search(r"\bn\s*[=:]\s*$", before)), "after_p": _flag(re.search(r"\bp\s*[<=>]\s*$", before)),
        "fraction": _flag(before.rstrip().endswith("/") or after.lstrip().startswith("/")),
        "before_bracket": _flag(after.lstrip().startswith(("(", "±"))),
        # one end of a range (a confidence interval, an age range)
        "range_end": _flag(re.match(r"\s*[-–]\s*\d", line[m.end():m.end() + 4])
                           or before.rstrip().endswith(("-", "–", " to"))),
        "first_in_line": _flag(rank == 0), "numbers_in_line": min(numbers, 8) / 8.0,
    }
    # the words next to the number: "12 were lost", "lost to follow-up (n = 1)"
    for side, near in (("before", line[max(0, m.start() - 30):m.start()]), ("after", line[m.end():m.end() + 30])):
        place |= {f"{k}_{side}": _flag(_CUE[k].search(near)) for k in _NEAR_CUES}
    return place


def _flag(test: object) -> float:
    return 1.0 if test else 0.0


LINE_FEATURES = (*_CUES, "rand_above", "anal_above", "drop_above", "base_above", "under_table_caption",
                 "baseline_table", "outcome_table", "whole", "one_decimal", "two_decimals", "log_value", "year",
                 "below_one", "bracketed", "after_n", "after_p", "fraction", "before_bracket", "range_end",
                 "first_in_line", "numbers_in_line", "page_fraction", "short_line", "rand_before", "anal_before",
                 "drop_before", "rand_after", "anal_after", "drop_after")
GAP_FEATURES = ("this_arm_in_line", "other_arm_in_line", "nearest_arm_this", "nearest_arm_other", "rank_is_arm",
                "kind_rank_is_arm", "kinds_are_arms", "kinds_are_arms_and_one", "outcome_in_line", "outcome_above",
                "nearest_right_this", "nearest_right_other", "printed_often", "arm_column_of_outcome_row",
                "arm_column_of_row_below_outcome", "arm_column_of_row_of_arms", "line_of_another_arms_value",
                "another_arms_value", "line_of_this_arms_values", "page_of_values_of_its_kind",
                "arm_column_of_line_of_another_arms_value")
FEATURES = (*LINE_FEATURES, *GAP_FEATURES)


def gap_features(candidates: Sequence[Candidate], arm: str | None, arms: Sequence[str], arm_index: int,
                 outcome_names: Sequence[str], field: str = "", held: Sequence[Held] = ()) -> list[tuple[float, ...]]:
    """Each candidate's features for one gap: its arm (``arms`` are the study's arm names in their order, the gap's
    arm at ``arm_index``), the outcome's names (instruments, measure), and where the values the study holds
    (``held``) are printed: the lines of the other arms' same value, of this arm's values of its kind (counts, or
    the outcome's baseline), and their pages."""
    names = tuple(outcome_names)
    kind = [h for h in held if _kind(h.field) == _kind(field) and h.page and h.quote
            and (_kind(field) != "baseline" or _names(names, normalise_pdf_text(h.measure or "")))]
    siblings = [(h.page, normalise_pdf_text(h.quote)) for h in kind if h.field == field and h.arm != arm]
    sibling_values = {h.value for h in kind if h.field == field and h.arm != arm}
    own = [(h.page, normalise_pdf_text(h.quote)) for h in kind if h.arm == arm]
    kind_pages = {h.page for h in kind}
    mine = _words(arm)
    others = set().union(*(_words(a) for a in arms if a != arm)) - mine if arms else set()
    often = Counter(c.value for c in candidates)
    out = []
    for c in candidates:
        left, right = _WORD.findall(c.text[:c.start]), _WORD.findall(c.text[c.end:])
        nearest = next((t for t in reversed(left[-8:]) if t in mine or t in others), None)
        after = next((t for t in right[:4] if t in mine or t in others), None)
        line_words = set(_WORD.findall(c.text))
        in_line = _names(names, c.text)
        below = 0.0 if in_line else _names(names, c.above)
        column = _flag(c.kind_rank == arm_index and c.of_kind >= len(arms))  # the arm's column of a row
        gap = {
            "this_arm_in_line": _flag(mine & line_words), "other_arm_in_line": _flag(others & line_words),
            "nearest_arm_this": _flag(nearest in mine), "nearest_arm_other": _flag(nearest in others),
            "nearest_right_this": _flag(after in mine), "nearest_right_other": _flag(after in others),
            "rank_is_arm": _flag(c.rank == arm_index), "kind_rank_is_arm": _flag(c.kind_rank == arm_index),
            "kinds_are_arms": _flag(c.of_kind == len(arms)), "kinds_are_arms_and_one": _flag(c.of_kind == len(arms) + 1),
            "outcome_in_line": in_line, "outcome_above": below, "printed_often": math.log(often[c.value]),
            "arm_column_of_outcome_row": column * in_line, "arm_column_of_row_below_outcome": column * below,
            "arm_column_of_row_of_arms": column * _flag(others & line_words or mine & line_words),
            "line_of_another_arms_value": (beside := _flag(_on_line(c, siblings))),
            "another_arms_value": beside * _flag(c.value in sibling_values),
            "line_of_this_arms_values": _flag(_on_line(c, own)),
            "page_of_values_of_its_kind": _flag(c.page in kind_pages),
            "arm_column_of_line_of_another_arms_value": beside * _flag(c.kind_rank == arm_index),
        }
        out.append(tuple(gap[name] for name in GAP_FEATURES))
    return out


def _kind(field: str) -> str:
    """counts, baseline or outcome: the values read from the same place (a flow, a baseline table)."""
    return "counts" if field.startswith("n_") else field.split("_")[0]


def same_kind(field: str, other: str) -> bool:
    """Whether a value of ``other`` can guide the suggestions for ``field`` (``gap_features`` weighs no other)."""
    return _kind(field) == _kind(other)


def _on_line(c: Candidate, quotes: Sequence[tuple[int | None, str]]) -> bool:
    """Whether a quote on the candidate's page is its line, holds it, or lies within it."""
    return any(page == c.page and (quote in c.text or c.text in quote) for page, quote in quotes if quote)


@lru_cache(maxsize=65536)
def _names(names: tuple[str, ...], line: str) -> float:
    """1 when ``line`` names one of the outcome's ``names``. A name matches only through a token it shares with the
    line, so the line is tokenised once and only names sharing a token are matched in full (five times faster)."""
    words = set(tokens(line))
    return 1.0 if any(words & _tokens(n) and instrument_matches(n, line) for n in names) else 0.0


@cache
def _tokens(name: str) -> frozenset[str]:
    return frozenset(tokens(name))


def fits(field: str, value: float) -> bool:
    """Whether a number can be the field's value at all: counts whole, SDs above 0."""
    if field in WHOLE:
        return float(value).is_integer() and (value >= 1 or field == "n_dropout")
    return value > 0 if field == "baseline_sd" else True


@cache
def _model(path: Path = MODEL) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _fold(weights: Mapping) -> tuple[float, tuple[float, ...]]:
    """The intercept and coefficients with the standardisation folded in, so a score is one dot product."""
    coef = tuple(w / sd for w, sd in zip(weights["coef"], weights["scale"], strict=True))
    return weights["intercept"] - sum(m * c for m, c in zip(weights["mean"], coef, strict=True)), coef


@cache
def _default_fold(field: str) -> tuple[float, tuple[float, ...]] | None:
    weights = _model().get(field)
    return _fold(weights) if weights else None


def _probability(folded: tuple[float, tuple[float, ...]], features: Sequence[float]) -> float:
    z = folded[0] + sum(map(operator.mul, folded[1], features))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def _folded(field: str, model: Mapping | None) -> tuple[float, tuple[float, ...]] | None:
    """The field's weights, folded: the committed model's, or ``model``'s (a bench's, a test's); None without any."""
    if field not in FIELDS:
        return None
    if model is None:
        return _default_fold(field)
    return _fold(model[field]) if model.get(field) else None


def suggest(field: str, candidates: Sequence[Candidate], arm: str | None, arms: Sequence[str],
            outcome_names: Sequence[str] = (), k: int = 3, model: Mapping | None = None,
            held: Sequence[Held] = ()) -> list[Suggestion]:
    """The ``k`` likeliest distinct values for a gap, best first, each with the line that prints it; none for a
    field no model is fitted for."""
    folded = _folded(field, model)
    if folded is None:
        return []
    arm_index = list(arms).index(arm) if arm in arms else -1
    fitting = [c for c in candidates if fits(field, c.value)]
    rows = gap_features(fitting, arm, arms, arm_index, outcome_names, field, held)
    best: dict[float, Suggestion] = {}
    for c, gap_row in zip(fitting, rows, strict=True):
        p = _probability(folded, (*c.features, *gap_row))
        if c.value not in best or p > best[c.value].score:
            best[c.value] = Suggestion(c.value, c.page, c.line, p)
    return sorted(best.values(), key=lambda s: -s.score)[:k]


def for_gap(gap: Gap, candidates: Sequence[Candidate], arms: Sequence[str], outcomes: Sequence[OutcomeSpec] = (),
            k: int = 3, model: Mapping | None = None, held: Sequence[Held] = ()) -> list[Suggestion]:
    """``suggest`` for one of ``gaps.missing_values``' gaps: the outcome's names are its protocol instruments and
    the measure the study's values call it; ``held`` the study's values. A gap with no arm yet (one still to name)
    gets none."""
    if gap.arm is None:
        return []
    names = [i for spec in outcomes if spec.id == gap.outcome for i in (spec.label, *spec.instruments)]
    names += [gap.measure] if gap.measure else []
    return suggest(gap.field, candidates, gap.arm, arms, names, k=k, model=model, held=held)


def entered(value: float) -> str:
    """A suggestion's value as a reviewer would type it (12.0 → "12", 2301.0 → "2301", 4.35 → "4.35")."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
