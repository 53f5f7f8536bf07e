"""Checks that decide whether an extracted value can be trusted without a human.

Pure functions: a quote must be on its page (fuzzy, forgiving PDF hyphenation and ligatures) and
contain the number; arithmetic must hold (analysed <= randomised, arms sum to the total, SD > 0 and
plausible for the scale). Each value ends ``auto_verified`` or ``needs_human`` with the reasons.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from itertools import pairwise

from rapidfuzz import fuzz

from metasift.extractor._text import decimal_points
from metasift.extractor.outcomes import baseline_path, instrument_matches
from metasift.extractor.schema import Baseline, ExtractionResult, Outcome
from metasift.kinds import ExtractionStatus

# Known instruments: (min, max, items). Bounded scales give the largest possible SD, (max - min) / 2.
SCALES: dict[str, tuple[float, float, int]] = {
    "phq-9": (0, 27, 9), "phq-8": (0, 24, 8), "gad-7": (0, 21, 7), "pss-10": (0, 40, 10), "pss-14": (0, 56, 14),
    "dass-21": (0, 63, 21), "bdi-ii": (0, 63, 21), "cesd": (0, 60, 20), "ces-d": (0, 60, 20),
    "hads": (0, 21, 7), "stai": (20, 80, 20), "epds": (0, 30, 10), "k10": (10, 50, 10),
    "bdi": (0, 63, 21), "bai": (0, 63, 21),
}
QUOTE_MIN_SCORE = 90.0


def normalise_pdf_text(text: str) -> str:
    """Undo PDF noise: ligatures, soft hyphens, line-break hyphenation, odd dashes and spacing."""
    text = unicodedata.normalize("NFKC", text)  # ﬁ → fi, full-width digits...
    text = text.replace("\u00ad", "").replace("\u2212", "-").replace("\u2013", "-").replace("\u2014", "-")
    text = decimal_points(re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text))
    return re.sub(r"\s+", " ", text).strip().lower()


def number_forms(value: float | int) -> list[str]:
    """Ways a number may be printed: 6.84 → ["6.84"], 50 → ["50"], 4.3 → ["4.3", "4.30"]."""
    if isinstance(value, int) or float(value).is_integer():
        return [str(int(value))]
    text = f"{value}"
    forms = {text, f"{value:.2f}", f"{value:.1f}" if round(value, 1) == value else text}
    return sorted(forms)


def quote_on_page(quote: str, page_text: str) -> float:
    """Similarity (0-100) of the quote to its best-matching span on the page. A quote of pieces from two places
    joined by "; " (a row and the note under its table) scores its worst piece."""
    q, p = normalise_pdf_text(quote), normalise_pdf_text(page_text)
    if not q:
        return 0.0
    if q in p:
        return 100.0
    pieces = [piece for piece in quote.split("; ") if piece.strip()]
    if len(pieces) > 1:
        return min(quote_on_page(piece, page_text) for piece in pieces)
    return float(fuzz.partial_ratio(q, p))


NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]


def quote_has_number(quote: str, value: float | int, *, alone: bool = False) -> bool:
    """Whether the quote prints ``value`` (digits in any usual rounding, or a number word up to twenty).
    ``alone``: only as a number of its own, as a reviewer's entry is checked: not inside a longer number ("14"
    is printed by "14.0", not by "14.5" or "140"), and not as a percentage ("20%" is no count of 20)."""
    text = normalise_pdf_text(quote).replace("\u2011", "-")
    if alone:
        tail = (r"(?:\.0+)?" if float(value).is_integer() else r"0*") + r"(?!\d|\.\d|\s?%)"
    else:
        tail = r"(?![\d])"
    if any(re.search(rf"(?<![\d.]){re.escape(form)}{tail}", text) for form in number_forms(value)):
        return True
    whole = float(value).is_integer() and 0 <= value <= 20
    return bool(whole and re.search(rf"\b{NUMBER_WORDS[int(value)]}\b", text))


def scale_of(measure: str | None) -> tuple[float, float, int] | None:
    """The known range and item count of an instrument named in ``measure`` (e.g. "PHQ-9 (depression)")."""
    low = (measure or "").lower().replace(" ", "")
    for name, info in SCALES.items():
        if name.replace(" ", "") in low:
            return info
    return None


ITEMS_PHRASE = re.compile(r"\b(\d{1,3}|single|" + "|".join(NUMBER_WORDS[1:]) + r")[- ]?items?\b", re.IGNORECASE)


def items_of(measure: str | None) -> int | None:
    """How many items the instrument named in ``measure`` has, or None when that is not known.

    Only two sources count: a known instrument of ``SCALES`` (matched on whole tokens, full names too:
    "Patient Health Questionnaire-9" → 9) or an explicit "12-item" / "12 items" / "single-item" phrase.
    A number in any other name ("Growth differentiation factor-15", "IL-6") is not an item count.
    """
    scored = [(instrument_matches(name, measure), info[2]) for name, info in SCALES.items()]
    top = max(score for score, _ in scored)
    counts = {items for score, items in scored if score == top}
    if top and len(counts) == 1:  # "PSS" alone may be the 10- or the 14-item version: not known
        return counts.pop()
    match = ITEMS_PHRASE.search(measure or "")
    if not match:
        return None
    word = match.group(1).lower()
    return int(word) if word.isdigit() else 1 if word == "single" else NUMBER_WORDS.index(word)


@dataclass
class ValueCheck:
    field: str
    value: float | int | str | None
    page: int | None
    quote: str
    status: str = ExtractionStatus.AUTO_VERIFIED
    reasons: list[str] = field(default_factory=list)

    def fail(self, reason: str) -> None:
        self.status = ExtractionStatus.NEEDS_HUMAN
        self.reasons.append(reason)


def check_extraction(result: ExtractionResult, pages: dict[int, str]) -> list[ValueCheck]:
    """Check every evidenced value of ``result`` against its page and against arithmetic."""
    checks = {}
    for ev in result.evidence:
        vc = ValueCheck(ev.field, ev.value, ev.page, ev.quote)
        if ev.source == "derived":  # computed where printed counts disagree: a human decides
            vc.fail(f"computed, not printed: {ev.quote}")
            checks[ev.field] = vc
            continue
        if ev.source == "ocr":  # an image has no text layer to check the quote against: a human looks
            where = f"x {ev.region[0]:.0f}-{ev.region[2]:.0f}, y {ev.region[1]:.0f}-{ev.region[3]:.0f} pt" \
                if ev.region else "the figure"
            vc.fail(f"read by OCR from an image on page {ev.page} ({where}): check it against the figure")
            checks[ev.field] = vc
            continue
        if ev.doubt:
            vc.fail(ev.doubt)
        text = pages.get(ev.page or -1, "")
        score = quote_on_page(ev.quote, text)
        if score < QUOTE_MIN_SCORE:
            vc.fail(f"quote not found on page {ev.page} (similarity {score:.0f})")
        if isinstance(ev.value, (int, float)) and not quote_has_number(ev.quote, ev.value):
            vc.fail(f"quote does not contain {ev.value}")
        checks[ev.field] = vc
    _arithmetic(result, checks, pages)
    _paired(result, checks)
    _corroborated(result, checks)
    _design(result, checks)
    _rival_measures(result, checks)
    _prose_labels(result, checks)
    return list(checks.values())


# A row label that reads as a sentence: long, with a verb of a sentence ("When the CDRS-R total score was added to
# the ANCOVA model, Total"): the other column's prose read into the row, so which row it is needs a reader.
_SENTENCE_VERB = re.compile(r"\b(?:was|were|is|are|has|had|have|been|did|showed|found|indicat\w+)\b", re.IGNORECASE)


def _prose_labels(result: ExtractionResult, checks: dict[str, ValueCheck]) -> None:
    """A value whose row label runs on as prose (twelve words or more, with a sentence's verb) auto-verifies
    nothing: the label joined words from outside the table, so the row may not be the measure it names."""
    for prefix, row in _value_rows(result):
        measure = row.measure or ""
        if len(measure.split()) >= 12 and _SENTENCE_VERB.search(measure):
            for stat in ("mean", "sd", "n"):
                if (vc := checks.get(f"{prefix}.{stat}")) is not None:
                    vc.fail(f"the row's label runs into prose ({measure[:60]}...): confirm the row and "
                            "the measure it names")


def _rival_measures(result: ExtractionResult, checks: dict[str, ValueCheck]) -> None:
    """The baseline chosen for the outcome auto-verifies only when nothing else printed fits that outcome as
    well: two measures that match it ("Pain at rest", "Pain on movement"), the measure printed twice with
    other values, or a measure that names a sibling subscale ("STAI-Trait" for STAI state) make the choice a
    reader's."""
    if result.target is None or not (result.target.rivals or result.target.doubt):
        return
    why = "other baselines fit this outcome too (" + "; ".join(result.target.rivals[:3]) + "): confirm which one" \
        if result.target.rivals else f"{result.target.doubt}: confirm the row is the outcome"
    for i in range(len(result.arms)):
        path = baseline_path(result, i)
        for stat in ("mean", "sd", "n"):
            if path and f"{path}.{stat}" in checks:
                checks[f"{path}.{stat}"].fail(why)


def _printed_together(quote: str, mean: float, sd: float) -> bool:
    """Whether a quote prints ``sd`` as the number right after ``mean`` ("27.3 (6.27)", "27.30 ± 6.27",
    "27.3 6.27"): consecutive numbers of the quote, compared as values."""
    numbers = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", normalise_pdf_text(quote))]
    return any(abs(a - mean) < 1e-9 and abs(b - sd) < 1e-9 for a, b in pairwise(numbers))


def _value_rows(result: ExtractionResult) -> list[tuple[str, Baseline | Outcome]]:
    """Every baseline and outcome row of ``result`` with its evidence path ("arms[0].baselines[1]", "outcomes[2]")."""
    rows: list[tuple[str, Baseline | Outcome]] = [
        (f"arms[{i}].baselines[{j}]", b) for i, arm in enumerate(result.arms) for j, b in enumerate(arm.baselines)]
    return rows + [(f"outcomes[{k}]", o) for k, o in enumerate(result.outcomes)]


def _paired(result: ExtractionResult, checks: dict[str, ValueCheck]) -> None:
    """A mean and its SD auto-verify only when their quote prints them side by side: a mean from one cell and
    an SD from another (a column read into the wrong arm or time point) waits for a human."""
    for prefix, row in _value_rows(result):
        mean, sd = row.mean, row.sd
        if mean is None or sd is None:
            continue
        for stat in ("mean", "sd"):
            vc = checks.get(f"{prefix}.{stat}")
            if vc is not None and not _printed_together(vc.quote, mean, sd):
                vc.fail(f"the quote does not print {mean:g} and its SD {sd:g} side by side")


def _corroborated(result: ExtractionResult, checks: dict[str, ValueCheck]) -> None:
    """An arm's count (and the total N) auto-verifies only when a second statement prints it too, or arithmetic
    ties it to other printed counts (the arms add up to the stated total; randomised - analysed = dropout). A count
    printed once may belong to another arm, subgroup or population than the reader takes it for."""
    support = {ev.field: ev.support for ev in result.evidence}
    derived = {ev.field for ev in result.evidence if ev.source == "derived"}
    headers_only = {ev.field for ev in result.evidence if ev.origin == "table"}
    arms = result.arms
    sums_to_total = result.n_total is not None and len(arms) >= 2 and \
        sum(a.n_randomised or 0 for a in arms) == result.n_total and all(a.n_randomised for a in arms)
    if "n_total" in checks and result.n_total is not None and support.get("n_total", 1) < 2 and not sums_to_total:
        checks["n_total"].fail("total N printed once and not the sum of the arms: confirm it counts the randomised")
    for i, arm in enumerate(arms):
        # a dropout computed as randomised - analysed (no evidence, or derived evidence) ties nothing: it holds
        # by construction
        printed_dropout = f"arms[{i}].n_dropout" in support and f"arms[{i}].n_dropout" not in derived
        balanced = None not in (arm.n_randomised, arm.n_analysed, arm.n_dropout) and printed_dropout and \
            arm.n_randomised - arm.n_analysed == arm.n_dropout and arm.n_analysed != arm.n_randomised
        for name, tied in (("n_randomised", sums_to_total), ("n_analysed", balanced), ("n_dropout", balanced)):
            path = f"arms[{i}].{name}"
            if path in checks and support.get(path, 1) < 2 and not tied:
                checks[path].fail("printed once and not tied by arithmetic to other counts: confirm the arm "
                                  "and the population it counts")
            elif path in checks and path in headers_only:
                # a table's "(n = 43)" counts whoever the table describes (the randomised, the completers, a
                # subgroup); no sentence or flow diagram says which, so a reader does
                checks[path].fail("read from table headers only (no sentence or flow diagram prints it): confirm "
                                  "which population the table counts")


def _design(result: ExtractionResult, checks: dict[str, ValueCheck]) -> None:
    """In a crossover, cluster or factorial trial which groups are the arms (sequences or treatments,
    clusters or individuals, which combination) is a reading a human confirms: no arm value auto-verifies."""
    kind = result.design.kind if result.design else "parallel"
    if kind == "parallel":
        return
    for path, vc in checks.items():
        if path.startswith("arms["):
            vc.fail(f"{kind} design: which groups are the arms needs a human")


_ITT = re.compile(r"intention[- ]to[- ]treat|\bITT\b", re.IGNORECASE)


def _arithmetic(result: ExtractionResult, checks: dict[str, ValueCheck], pages: dict[int, str]) -> None:
    """Counts and baselines that contradict each other or their scale. ``pages`` are read only for an arm analysed
    whole despite its losses: a paper that says it analysed by intention to treat explains it."""
    def flag(field: str, reason: str) -> None:
        if field in checks:
            checks[field].fail(reason)

    for i, arm in enumerate(result.arms):
        if arm.n_randomised is not None and arm.n_analysed is not None and arm.n_analysed > arm.n_randomised:
            for name in ("n_randomised", "n_analysed"):
                flag(f"arms[{i}].{name}", f"analysed {arm.n_analysed} > randomised {arm.n_randomised}")
        if None not in (arm.n_randomised, arm.n_analysed, arm.n_dropout) and \
                arm.n_randomised - arm.n_analysed != arm.n_dropout:
            # one of the three is wrong, and nothing says which: none of them stands alone. An arm analysed whole
            # despite its losses is what intention to treat does; without it, "randomised" may count completers
            whole = arm.n_randomised == arm.n_analysed and any(_ITT.search(text) for text in pages.values())
            for name in ("n_dropout",) if whole else ("n_randomised", "n_analysed", "n_dropout"):
                flag(f"arms[{i}].{name}", f"randomised {arm.n_randomised} - analysed {arm.n_analysed} != "
                                          f"dropout {arm.n_dropout}")
        for j, b in enumerate(arm.baselines):
            _check_mean_sd(b.measure, b.mean, b.sd, f"arms[{i}].baselines[{j}]", flag)
    if result.n_total is not None and result.arms and all(a.n_randomised for a in result.arms):
        total = sum(a.n_randomised or 0 for a in result.arms)
        if total != result.n_total:
            for i in range(len(result.arms)):
                flag(f"arms[{i}].n_randomised", f"arms sum to {total}, total N stated as {result.n_total}")
            flag("n_total", f"arms sum to {total}")
    for i, o in enumerate(result.outcomes):
        _check_mean_sd(o.measure, o.mean, o.sd, f"outcomes[{i}]", flag, change="change" in (o.timepoint or ""))
        arm = result.arm(o.arm)
        if arm and arm.n_analysed is not None and o.n is not None and o.n > (arm.n_randomised or o.n):
            flag(f"outcomes[{i}].n", f"n {o.n} exceeds randomised {arm.n_randomised}")


def _check_mean_sd(measure: str | None, mean: float | None, sd: float | None, prefix: str, flag,
                   change: bool = False) -> None:
    if sd is not None and sd <= 0:
        flag(f"{prefix}.sd", f"SD {sd} is not positive")
    scale = scale_of(measure)
    if scale and sd is not None and sd > (scale[1] - scale[0]) / 2:
        flag(f"{prefix}.sd", f"SD {sd} is impossible for {measure} (range {scale[0]:g}-{scale[1]:g})")
    if scale and mean is not None and not change and not scale[0] <= mean <= scale[1]:
        flag(f"{prefix}.mean", f"mean {mean} outside the {measure} range {scale[0]:g}-{scale[1]:g}")
    # a change score sits near zero, so a large SD/|mean| says nothing there
    if sd is not None and mean is not None and sd > 0 and scale is None and not change and abs(mean) > 0 \
            and sd / abs(mean) > 5:
        flag(f"{prefix}.sd", f"SD {sd} is implausibly large for mean {mean} (an SE or a variance?)")
