"""What a study still lacks, and a value a reviewer enters by hand with the line of the page that prints it (pure).

The rule extractor reads about a third of the values of a trial report it was not tuned on (docs/extraction.md),
so most numbers of a real review come from a reviewer's eyes. ``missing_values`` lists, per study, each value
the full-text rules and the effect sizes read that no stored value holds: each arm's n randomised, analysed
and lost, and for each outcome of the protocol every arm's baseline mean and SD and a follow-up mean, SD and
n. ``entry_quote`` checks a value a reviewer enters against the page they name, so it is stored with the
same provenance (page and quote) as an extracted one: the quote is the page's line that prints the number,
or the one the reviewer picks when several lines print it, or the reviewer's own quote when it is found on that
page and prints the number. A value the page's text does not print (in a figure without a text layer, a dropout
computed as randomised - analysed, an SD from a standard error) is entered with where it is or its formula.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from metasift.config import OutcomeSpec
from metasift.errors import AmbiguousEntry, EntryError, NotPrinted
from metasift.extractor.checks import QUOTE_MIN_SCORE, normalise_pdf_text, quote_has_number, quote_on_page
from metasift.extractor.outcomes import instrument_matches, match_outcome
from metasift.extractor.schema import ExtractionResult

COUNT_FIELDS = ("n_randomised", "n_analysed", "n_dropout")
BASELINE_FIELDS = ("baseline_mean", "baseline_sd", "baseline_n")
OUTCOME_FIELDS = ("outcome_mean", "outcome_sd", "outcome_n")
FIELDS = ("n_total", *COUNT_FIELDS, *BASELINE_FIELDS, *OUTCOME_FIELDS)
WHOLE = frozenset({"n_total", *COUNT_FIELDS, "baseline_n", "outcome_n"})  # counts: whole numbers
BASELINE = "baseline"
SHOW_LINES = 9  # lines listed when a page prints an entered value on several


@dataclass(frozen=True)
class Gap:
    """One value a study lacks. ``measure`` and ``timepoint`` are None when no stored value names them yet
    (the reviewer names them on entry); ``outcome`` is the protocol outcome's id."""

    field: str
    arm: str | None = None
    outcome: str | None = None
    measure: str | None = None
    timepoint: str | None = None
    hint: str = ""
    # False for an outcome of the protocol no value of the study is of: the paper may not measure it at all
    certain: bool = True

    def describe(self) -> str:
        what = " · ".join(x for x in (self.arm, self.measure or self.outcome, self.timepoint, self.field) if x)
        return what + (f" ({self.hint})" if self.hint else "")


def missing_values(result: ExtractionResult, outcomes: Sequence[OutcomeSpec]) -> list[Gap]:
    """The values ``result`` (a study's stored, not rejected values) lacks for the full-text rules and the effect
    sizes: with fewer than two arms, one gap per arm still to name (its n randomised, no arm given); else each
    arm's counts, and per outcome of the protocol each arm's baseline mean and SD and follow-up mean, SD and n
    (one uncertain gap for an outcome no value is of)."""
    arms = result.arms
    if len(arms) < 2:  # one gap per arm still to name: its n randomised, under the name the reviewer gives it
        found = ", ".join(f'"{a.name}"' for a in arms) or "none"
        return [Gap("n_randomised", hint=f"arms found: {found}; name another arm and enter its n randomised")
                for _ in range(2 - len(arms))]
    gaps: list[Gap] = []
    for arm in arms:
        for name in COUNT_FIELDS:
            if getattr(arm, name) is None:
                gaps.append(Gap(name, arm.name, hint=_count_hint(name, arm.n_randomised, arm.n_analysed)))
    for spec in outcomes:
        if not _measured(result, spec):
            names = ", ".join(spec.instruments[:4]) + (" ..." if len(spec.instruments) > 4 else "")
            gaps.append(Gap("outcome", outcome=spec.id, certain=False,
                            hint=f"no value found ({names}): if the paper measures it, enter its baseline and "
                                 "follow-up values"))
            continue
        gaps += _baseline_gaps(result, spec) + _followup_gaps(result, spec)
    return gaps


def _measured(result: ExtractionResult, spec: OutcomeSpec) -> bool:
    """Whether any stored value, at baseline or later, is of a measure of ``spec``."""
    measures = [b.measure for a in result.arms for b in a.baselines] + [o.measure for o in result.outcomes]
    return any(match_outcome(m, [spec]) for m in measures)


def _count_hint(name: str, randomised: int | None, analysed: int | None) -> str:
    if name == "n_dropout" and None not in (randomised, analysed):
        return f"if the paper prints no count: --how \"randomised {randomised} - analysed {analysed}\" " \
               f"for {randomised - analysed}"
    return ""


def _baseline_gaps(result: ExtractionResult, spec: OutcomeSpec) -> list[Gap]:
    """Per arm, the baseline mean and SD of each measure of ``spec`` another arm has at baseline, or (when no arm
    has one) that the study has at follow-up."""
    measures = list(dict.fromkeys(b.measure for a in result.arms for b in a.baselines
                                  if match_outcome(b.measure, [spec])))
    if not measures:  # the measures read at follow-up, whose baseline is missing
        measures = list(dict.fromkeys(o.measure for o in result.outcomes if match_outcome(o.measure, [spec])))
    gaps = []
    for measure in measures:
        for arm in result.arms:
            b = next((b for b in arm.baselines if b.measure == measure), None)
            for f in ("baseline_mean", "baseline_sd"):
                if b is None or getattr(b, f.removeprefix("baseline_")) is None:
                    gaps.append(Gap(f, arm.name, spec.id, measure, BASELINE))
    return gaps


def _followup_gaps(result: ExtractionResult, spec: OutcomeSpec) -> list[Gap]:
    """Per arm, the follow-up mean, SD and n of each measure x time point of ``spec`` another arm has, or (when no
    arm has one) of each measure the study has at baseline, at a time point the reviewer names."""
    cells = list(dict.fromkeys((o.measure, o.timepoint) for o in result.outcomes if match_outcome(o.measure, [spec])))
    if not cells:  # the measures read at baseline, whose follow-up is missing: the time point is the reviewer's
        measures = dict.fromkeys(b.measure for a in result.arms for b in a.baselines if match_outcome(b.measure, [spec]))
        return [Gap(f, arm.name, spec.id, measure, hint="no follow-up value found: name the time point")
                for measure in measures for arm in result.arms for f in OUTCOME_FIELDS]
    gaps = []
    for measure, timepoint in cells:
        for arm in result.arms:
            o = next((o for o in result.outcomes if (o.arm, o.measure, o.timepoint) == (arm.name, measure, timepoint)),
                     None)
            gaps += [Gap(f, arm.name, spec.id, measure, timepoint) for f in OUTCOME_FIELDS
                     if o is None or getattr(o, f.removeprefix("outcome_")) is None]
    return gaps


def check_field(field: str) -> None:
    """An ``EntryError`` unless ``field`` is one a reviewer may enter."""
    if field not in FIELDS:
        raise EntryError(f"unknown field {field!r}: one of {', '.join(FIELDS)}")


def parse_value(field: str, text: str) -> int | float:
    """The number a reviewer typed for ``field``: a whole number >= 0 for a count, a positive SD, any number for
    a mean. A comma in a count separates thousands ("2,301"); in a mean or SD it is a decimal comma ("12,5"), and
    so is a raised decimal dot ("12·5")."""
    check_field(field)
    cleaned = text.strip().replace("\u2212", "-").replace("·", ".").replace("\u2009", "")
    cleaned = cleaned.replace(",", "") if field in WHOLE else cleaned.replace(",", ".")
    try:
        number = float(cleaned)
    except ValueError:
        raise EntryError(f"{field}: {text!r} is not a number") from None
    if not math.isfinite(number):
        raise EntryError(f"{field}: {text!r} is not a finite number")
    if field in WHOLE:
        if not number.is_integer() or number < 0:
            raise EntryError(f"{field}: {text!r} is not a count (a whole number, 0 or more)")
        return int(number)
    if field.endswith("_sd") and number <= 0:
        raise EntryError(f"{field}: an SD must be positive, not {text!r}")
    return number


def entry_quote(value: int | float, page: int, page_text: str, quote: str | None = None,
                measure: str | None = None) -> str:
    """The quote a value entered from ``page`` is stored with: ``quote`` when it is on the page and prints the
    value; else the one line of the page that prints the value, or the one of those naming ``measure``. A value
    printed on several lines needs the reviewer's quote to say which: a guess would be provenance made up."""
    if quote:
        score = quote_on_page(quote, page_text)
        if score < QUOTE_MIN_SCORE and not all(_words_close(piece, page_text) for piece in quote.split("; ")):
            raise NotPrinted(f"page {page} does not print the quote {quote[:60]!r} (similarity {score:.0f})")
        if not quote_has_number(quote, value):
            raise EntryError(f"the quote {quote[:60]!r} does not print {value:g}")
        return quote
    lines = dict.fromkeys(" ".join(line.split()) for line in page_text.splitlines())  # the text, then the lines
    found = [line for line in lines if line and quote_has_number(line, value, alone=True)]
    if len(found) > 1 and measure:
        found = [line for line in found if instrument_matches(measure, line)] or found
    if not found:
        raise NotPrinted(f"page {page} does not print {value:g}: name the page that prints it, or say where it is "
                         "or how it was computed (--how)")
    if len(found) > 1:
        listing = "; ".join(f"{i} {line[:60]!r}" for i, line in enumerate(found[:SHOW_LINES], 1))
        raise AmbiguousEntry(f"page {page} prints {value:g} on {len(found)} lines: give --line K or --quote with "
                             f"the words around the one you mean: {listing}", found)
    return found[0]


_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W\d_]+")


def _words_close(quote: str, page_text: str) -> bool:
    """Whether every word and number of ``quote`` is on the page within a short stretch of its text (three times
    the quote's length, and at least a dozen words more): a reviewer quotes the page as it looks, and in the text
    layer a flow diagram's boxes or a table's cells may interleave ("Empagliflozin" ... "(n = 47)")."""
    want = Counter(_TOKEN.findall(normalise_pdf_text(quote)))
    if not want:
        return False
    tokens = _TOKEN.findall(normalise_pdf_text(page_text))
    span = max(3 * sum(want.values()), sum(want.values()) + 12)
    have: Counter = Counter()
    for i, token in enumerate(tokens):
        have[token] += 1
        if i >= span:
            have[tokens[i - span]] -= 1
        if token in want and all(have[t] >= n for t, n in want.items()):
            return True
    return False


def checked_formula(value: int | float, formula: str) -> str:
    """What a value the page's text does not print is stored with: where it is ("Figure 1, an image: Analysed
    n = 45") or its formula ("50 - 45", "SE 1.2 x sqrt(40)"). It must be more than the value alone, so where it
    came from is on record."""
    text = normalise_pdf_text(formula)
    if not text or text == normalise_pdf_text(f"{value:g}"):
        raise EntryError("--how needs where the value is or the formula with the printed numbers it uses, e.g. "
                         "\"randomised 50 - analysed 45\"")
    return formula.strip()


# a number of its own on a row: not inside a word or a longer number, nor a scale's name ("PHQ-9"), nor a share
# ("41.6%"); "2,301" is one count
_ROW_NUMBER = re.compile(r"(?<![\w.])(?<![a-z]-)-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w]|\.\d|\s*%)")
# an SD as a row prints it after its mean: "(4.75)", "± 4.75", "+/- 4.75", "(±4.75)"
_SD_BEFORE = re.compile(r"(?:\(\s*(?:±\s*)?|±\s*|\+/-\s*|\+-\s*)$")


@dataclass(frozen=True)
class RowValue:
    """One value a printed row gives one arm's gap (``row_values``)."""

    arm: str
    field: str
    value: int | float


def row_numbers(line: str) -> list[str]:
    """The numbers a row prints, in order, without thousands separators ("2,301" → "2301"; shares and the digits
    of a scale's name left out)."""
    return [m.group().replace(",", "") for m in _ROW_NUMBER.finditer(normalise_pdf_text(line))]


def parse_places(text: str | None) -> list[int]:
    """The places a reviewer gives a row's numbers ("1 2 4 5", "1, 2"); words other than numbers are left out."""
    return [int(x) for x in (text or "").replace(",", " ").split() if x.isdigit()]


def numbered(line: str) -> str:
    """A row's numbers with their places, as a reviewer names them ("1:6.84  2:4.75  3:6.89  4:4.49")."""
    return "  ".join(f"{k}:{n}" for k, n in enumerate(row_numbers(line), 1))


# what one row gives each arm: a mean and its SD (at baseline or follow-up), or one count
ROW_FIELDS = {"baseline_mean": ("baseline_mean", "baseline_sd"), "baseline_sd": ("baseline_mean", "baseline_sd"),
              "outcome_mean": ("outcome_mean", "outcome_sd"), "outcome_sd": ("outcome_mean", "outcome_sd"),
              **{name: (name,) for name in COUNT_FIELDS}}


def row_fields(field: str) -> tuple[str, ...]:
    """The fields one row gives each arm when a reviewer fills ``field`` from it (``row_values``); an
    ``EntryError`` for a field no row fills."""
    if field not in ROW_FIELDS:
        raise EntryError(f"a row gives arms' counts or means and SDs, not {field}")
    return ROW_FIELDS[field]


def find_line(texts: Mapping[int, str], words: str, start: int = 1) -> tuple[int, str] | None:
    """(page, line) of the first line holding every word of ``words`` (a row's label, a number it prints), looked
    for on page ``start``, then the pages after it, then from the first; None when no line does."""
    wanted = normalise_pdf_text(words).split()
    if not wanted:
        return None
    for page in sorted(texts, key=lambda p: (p < start, p)):
        for line in dict.fromkeys(" ".join(x.split()) for x in texts[page].splitlines()):
            if line and all(w in normalise_pdf_text(line) for w in wanted):
                return page, line
    return None


def lines_above(page_text: str, line: str) -> list[str]:
    """The lines of a page above ``line`` (its first place), where a table's header names the columns."""
    lines = [" ".join(x.split()) for x in page_text.splitlines()]
    return lines[:lines.index(line)] if line in lines else []


_NAME_WORD = re.compile(r"[a-z][a-z0-9+-]+")
_NAME_STOP = frozenset({"group", "groups", "arm", "arms", "the", "and", "with", "plus", "of", "for", "to", "in"})
ABOVE = 12  # lines above a row searched for the header that names its columns


def column_order(arms: Sequence[str], lines: Sequence[str]) -> list[int] | None:
    """The arms' columns left to right (indices into ``arms``) as the nearest of ``lines`` (the row itself, then
    the lines above it, nearest last) that names every arm prints them; None when none of the last ``ABOVE`` does.
    An arm is named by a word of its name no other arm's name has ("Intervention (n = 61)", "CBT")."""
    words = [{w for w in _NAME_WORD.findall(a.lower()) if w not in _NAME_STOP and len(w) > 2} for a in arms]
    own = [ws - set().union(*(o for j, o in enumerate(words) if j != i)) for i, ws in enumerate(words)]
    if not all(own):
        return None
    for line in reversed(lines[-ABOVE - 1:]):
        found = [(m.start(), i) for m in _NAME_WORD.finditer(normalise_pdf_text(line))
                 for i, ws in enumerate(own) if m.group() in ws]
        first = {i: min(at for at, j in found if j == i) for _, i in found}
        if len(first) == len(arms):
            return sorted(first, key=first.get)
    return None


def row_picks(line: str, field: str, arms: Sequence[str], above: Sequence[str] = ()) -> list[int]:
    """Which of the row's numbers (1-based, ``row_numbers``) likely give each arm its value, arm by arm in the order
    of ``arms``: for a mean or SD each arm's mean (SD) pair, where the row prints one per arm; for a count each
    arm's whole number, where the row prints one per arm. The columns are the arms in the order the row or the
    nearest line of ``above`` naming them all prints them (a table's header), else in the order of ``arms``.
    Empty when the row prints more or fewer (a Total or p column, a wrapped cell): then the reviewer says which."""
    text = normalise_pdf_text(line)
    found = list(_ROW_NUMBER.finditer(text))
    if len(row_fields(field)) == 2:
        sds = [k for k, m in enumerate(found) if k and _SD_BEFORE.search(text[found[k - 1].end():m.start()])]
        columns = [[sd, sd + 1] for sd in sds]  # the mean before each SD, then the SD (1-based)
    else:
        columns = [[k + 1] for k, m in enumerate(found) if "." not in m.group()]
    if len(columns) != len(arms):
        return []
    order = column_order(arms, [*above, line]) or list(range(len(arms)))
    return [k for arm in range(len(arms)) for k in columns[order.index(arm)]]


def row_values(line: str, field: str, arms: Sequence[str], picks: Sequence[int]) -> list[RowValue]:
    """What a row gives each arm: ``picks`` are the 1-based places of the row's numbers (``row_numbers``) that
    are, arm by arm in the order of ``arms``, its mean and SD (at baseline or follow-up) or its count. An
    ``EntryError`` when the places do not fit."""
    numbers = row_numbers(line)
    names = row_fields(field)
    if len(picks) != len(names) * len(arms):
        what = "its mean and SD" if len(names) == 2 else "its count"
        raise EntryError(f"give {len(names) * len(arms)} places, {what} for each of {', '.join(arms)}")
    if bad := [k for k in picks if not 1 <= k <= len(numbers)]:
        raise EntryError(f"the line prints {len(numbers)} numbers: no number {bad[0]}")
    values = [parse_value(names[i % len(names)], numbers[k - 1]) for i, k in enumerate(picks)]
    return [RowValue(arms[i // len(names)], names[i % len(names)], v) for i, v in enumerate(values)]
