"""Which protocol outcome a measure belongs to, from the measure's name as a paper prints it (pure).

Papers name one instrument many ways: "PHQ-9 score", "PHQ9", "Patient Health Questionnaire-9",
"Depression (HADS)", "DASS-21 (depression subscale)". Names are compared as *tokens*: lowercase runs of
letters or of digits, so case, punctuation and spacing never matter ("PHQ-9" = "phq 9" = "PHQ9") and a
short name never matches inside a longer word ("STAI" is not found in "sustained").

Before tokenising, the full names of common instruments become their abbreviations (``FULL_NAMES``):
Beck Depression Inventory → BDI, Beck Anxiety Inventory → BAI, Patient Health Questionnaire → PHQ,
Generalized Anxiety Disorder → GAD, Perceived Stress Scale → PSS, Hospital Anxiety and Depression Scale →
HADS, Center for Epidemiologic Studies Depression → CES-D, State-Trait Anxiety Inventory → STAI, Edinburgh
Postnatal Depression Scale → EPDS, Depression Anxiety Stress Scales → DASS. Roman "II"/"III" read as 2/3
(BDI-II = BDI 2), and the one-letter subscale marks of HADS, DASS, CES-D and STAI read as the construct
(HADS-D = HADS depression, HADS-A = HADS anxiety, STAI-S = STAI state). A measure printed without any number
matches an instrument whose name has its item count ("DASS-D" is DASS-21 depression, "PSS" is PSS-10); one
printed with another number does not ("PHQ-15" is not PHQ-9).

An instrument of the protocol (``OutcomeSpec.instruments``) matches a measure when its name tokens occur
together, in order, in the measure and each construct word it names (depression, anxiety, stress, state,
trait) occurs anywhere in the measure: "DASS-21 depression" matches "DASS-21 (depression subscale)",
"HADS-D" matches "Depression (HADS)" but not the HADS total. When instruments of several outcomes match,
the most specific one (most tokens) wins, then the outcome listed first.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from metasift.config import OutcomeSpec
from metasift.extractor.schema import Baseline, BaselineTarget, ExtractionResult, PrimaryOutcome

# Full names (on lowercase text, punctuation turned into spaces) → the abbreviation papers also print.
FULL_NAMES: tuple[tuple[str, str], ...] = (
    (r"beck depression inventory", "bdi"),
    (r"beck anxiety inventory", "bai"),
    (r"patient health questionnaire", "phq"),
    (r"generali[sz]ed anxiety disorder(?: scale)?", "gad"),
    (r"perceived stress scale", "pss"),
    (r"hospital anxiety (?:and )?depression scale", "hads"),
    (r"cent(?:er|re) for epidemiologic(?:al)? studies depression(?: scale)?", "ces d"),
    (r"state trait anxiety inventory", "stai"),
    (r"edinburgh post ?natal depression scale", "epds"),
    (r"depression anxiety (?:and )?stress scales?", "dass"),
)
_FULL_NAMES = tuple((re.compile(rf"\b{pattern}\b"), short) for pattern, short in FULL_NAMES)

# Tokens papers write run together or as words, read as the tokens of the usual spelling.
_TOKEN_ALIASES: dict[str, tuple[str, ...]] = {
    "ii": ("2",), "iii": ("3",), "cesd": ("ces", "depression"), "hadsd": ("hads", "depression"),
    "hadsa": ("hads", "anxiety"), "depressive": ("depression",), "depressed": ("depression",),
}
# One-letter subscale marks after these instruments (possibly with the item count between: DASS-21-D).
_SUBSCALE_LETTERS: dict[str, dict[str, str]] = {
    "hads": {"d": "depression", "a": "anxiety"},
    "dass": {"d": "depression", "a": "anxiety", "s": "stress"},
    "ces": {"d": "depression"},
    "stai": {"s": "state", "t": "trait"},
}
# Words of an instrument name that pick a subscale or a construct: they may stand anywhere in the measure.
CONSTRUCT_WORDS = frozenset({"depression", "anxiety", "stress", "state", "trait"})


@dataclass(frozen=True)
class OutcomeMatch:
    """A measure read as one protocol outcome, through one of its instruments."""

    outcome_id: str
    label: str
    instrument: str

    def describe(self) -> str:
        """"depression (PHQ-9)": the outcome and the instrument, as explanations name them."""
        return f"{self.label or self.outcome_id} ({self.instrument})"


def tokens(text: str | None) -> list[str]:
    """The comparable tokens of a measure or instrument name (see the module docstring)."""
    low = " ".join(re.findall(r"[a-z0-9]+", (text or "").lower()))
    for pattern, short in _FULL_NAMES:
        low = pattern.sub(short, low)
    out: list[str] = []
    for raw in re.findall(r"[a-z]+|[0-9]+", low):
        for tok in _TOKEN_ALIASES.get(raw, (raw,)):
            out.append(_subscale(out, tok))
    return out


def _subscale(before: list[str], tok: str) -> str:
    """A one-letter subscale mark right after HADS / DASS / CES (an item count may sit between)."""
    words = [t for t in before[-2:] if not t.isdigit()]
    if len(tok) == 1 and words and words[-1] in _SUBSCALE_LETTERS:
        return _SUBSCALE_LETTERS[words[-1]].get(tok, tok)
    return tok


def _contains_run(haystack: list[str], needle: list[str]) -> bool:
    """Whether ``needle`` occurs in ``haystack`` as consecutive tokens."""
    n = len(needle)
    return any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


def instrument_matches(instrument: str, measure: str | None) -> int:
    """How specifically ``instrument`` matches ``measure``: its number of tokens, 0 when it does not match."""
    inst, meas = tokens(instrument), tokens(measure)
    if meas[:2] in (["time", "to"], ["duration", "of"]) and not {"time", "duration"} & set(inst):
        return 0  # "Time to first postoperative pain report, h" measures time, not pain
    if any(t not in _GENERIC for t in inst):
        # words that name no measure ("score", "total") may stand between a name's words: "SF12 Scores Mental
        # Component" is the SF-12 mental component (an instrument named by such words alone keeps them)
        inst, meas = [t for t in inst if t not in _GENERIC], [t for t in meas if t not in _GENERIC]
    if inst and _contains_run(meas, inst):  # the whole name, a construct word inside it ("Mini-Mental State")
        return len(inst)
    name = [t for t in inst if t not in CONSTRUCT_WORDS]
    words = [t for t in inst if t in CONSTRUCT_WORDS]
    if name and not _contains_run(meas, name) and not any(t.isdigit() for t in meas):
        name = [t for t in name if not t.isdigit()]  # "DASS-D", "PSS": the item count left out, not another one
    if not inst or (not name and not words) or (name and not _contains_run(meas, name)) or \
            any(w not in meas for w in words):
        return 0
    return len(name) + len(words)


def match_outcome(measure: str | None, outcomes: Sequence[OutcomeSpec]) -> OutcomeMatch | None:
    """The protocol outcome ``measure`` belongs to, through its most specific matching instrument."""
    best: tuple[int, OutcomeMatch] | None = None
    for spec in outcomes:
        for instrument in spec.instruments:
            score = instrument_matches(instrument, measure)
            if score and (best is None or score > best[0]):
                best = (score, OutcomeMatch(spec.id, spec.label, instrument))
    return best[1] if best else None


# ------------------------------------------------------------------ the outcome an extraction targets

# "The primary outcome was …", "Primary end point: …", "the primary efficacy endpoint is …". The words
# after it name the outcome; a sentence that reports a result ("the primary outcome was not met") names none.
_PRIMARY = re.compile(r"\b(?:co-?)?primary\s+(?:efficacy\s+|study\s+)?(?:outcome|end\s?-?point)s?(?:\s+measures?)?"
                      r"(?:\s+(?:of|in|for)\s+(?:this|the|our)\s+\w+)?"
                      r"(?:\s+(?:was|were|is|are|included|comprised|consisted\s+of)|\s*:)"
                      r"\s+(?P<what>[^.;]{3,240})", re.IGNORECASE)
_RESULT_WORDS = re.compile(r"^(?:not\b|significantly|similar|met\b|achieved|reached|observed|lower|higher|"
                           r"reduced|improved|greater|comparable|no\b|analy[sz]ed|assessed\s+in)", re.IGNORECASE)
# Words of a printed measure name that say nothing about which measure it is.
_GENERIC = frozenset({"score", "scores", "total", "level", "levels", "mean", "sd", "points", "value", "values",
                      "baseline", "at", "the", "of", "in", "a", "n"})
# A measure's name ends where its unit or statistic starts: "NT-proBNP, pg/mL", "HbA1c (%)", "BDI-II (0-63)".
_NAME_END = re.compile(r"\s*(?:[,(\[]|\bmean\b|\bmedian\b|\bn\s*=)", re.IGNORECASE)


def _unwrap(text: str) -> str:
    """Page text as one line: "depres-\nsive" → "depressive", but "NT-\nproBNP" keeps its hyphen; "e.g.,"
    and "i.e.," lose their full stops, so a statement does not end inside them."""
    text = re.sub(r"(?<=[A-Z0-9])-\n", "-", text)
    text = re.sub(r"-\n(?=[a-z])", "", text).replace("\n", " ")
    return re.sub(r"\b(e)\.g\.|\b(i)\.e\.", lambda m: "eg" if m.group(1) else "ie", text)


def primary_statements(pages: Sequence[tuple[int, str]], limit: int = 6) -> list[PrimaryOutcome]:
    """The paper's "primary outcome was …" statements in reading order, from ``(page number, text)``."""
    found: list[PrimaryOutcome] = []
    for number, text in pages:
        flat = _unwrap(text)
        for m in _PRIMARY.finditer(flat):
            what = m.group("what").strip()
            if _RESULT_WORDS.match(what):
                continue
            found.append(PrimaryOutcome(text=what, page=number, quote=flat[m.start():m.end()].strip()[:300]))
            if len(found) >= limit:
                return found
    return found


def measure_name(measure: str | None) -> list[str]:
    """The tokens that name a printed measure: before its unit or statistic, generic words left out."""
    name = _NAME_END.split(measure or "", maxsplit=1)[0]
    return [t for t in tokens(name) if t not in _GENERIC]


def _stem(token: str) -> str:
    """"indexed" → "index", "symptoms" → "symptom": enough to read a statement's wording against a label."""
    return re.sub(r"(?:ed|ing|es|s)$", "", token) if len(token) > 4 and token.isalpha() else token


def names_measure(statement: str, measure: str | None) -> bool:
    """Whether a primary-outcome statement names ``measure`` (its name tokens in order, light stemming, or
    its parenthesised abbreviation: "Beck Depression Inventory (BDI-II)")."""
    said = [_stem(t) for t in tokens(statement)]
    name = [_stem(t) for t in measure_name(measure)]
    if name and _contains_run(said, name):
        return True
    # an abbreviation in brackets ("(BDI-II)", "(SDANN)"), not a unit ("(years)", "(%)")
    inner = [x for x in re.findall(r"\(([^()]{2,30})\)", measure or "") if re.fullmatch(r"[A-Z][A-Za-z0-9/-]*[A-Z0-9]", x)]
    return any((t := [_stem(w) for w in tokens(x) if w not in _GENERIC]) and _contains_run(said, t) for x in inner)


def _fits_better(m1: str, m2: str, instruments: Sequence[str]) -> bool:
    """Whether an instrument matches ``m1`` and not ``m2`` while holding all the words of one that matches ``m2``
    ("SF-12 Mental component" matches "SF-12 Mental component: mean (SD)", and "SF-12", its part, matches
    "SF-12 Physical component" too): the outcome names ``m1`` more fully."""
    for wide in instruments:
        if instrument_matches(wide, m1) and not instrument_matches(wide, m2):
            words = set(tokens(wide))
            if any(instrument_matches(part, m2) and set(tokens(part)) < words for part in instruments):
                return True
    return False


def choose_target(measures: Sequence[str], specs: Sequence[OutcomeSpec],
                  statements: Sequence[PrimaryOutcome], usable: Collection[str] = ()) -> BaselineTarget | None:
    """The baseline measure to report for the outcome of interest, never a descriptor picked by position.

    With outcomes named (the protocol's ``[[outcomes]]`` or ``extract-pdf --outcome``): the first outcome,
    in the order listed, one of whose instruments a measure matches (a measure the paper's primary-outcome
    sentence also names wins a tie), else one named by the outcome's label ("Depressive symptoms" for
    depression). Without: the measure the paper's "primary outcome was …" sentence names. Else None.
    Among equals, a measure in ``usable`` (printed as mean and SD) wins over one printed as a median.
    """
    measures = sorted(measures, key=lambda m: m not in usable)  # stable: the paper's order otherwise
    def stated(m: str) -> bool:
        return any(names_measure(s.text, m) for s in statements)

    for spec in specs:
        hits = [m for m in measures if match_outcome(m, [spec])]
        hits = [m for m in hits if not any(_fits_better(o, m, spec.instruments) for o in hits if o != m)]
        if not hits and spec.label:
            label = [t for t in tokens(spec.label) if t not in _GENERIC]
            hits = [m for m in measures if label and _contains_run(tokens(m), label)]
            how = f"named by the outcome's label '{spec.label}'"
        else:
            how = f"an instrument of outcome '{spec.label or spec.id}'"
        if hits:
            best = next((m for m in hits if stated(m)), hits[0])
            why = how + (", and the paper's primary outcome" if stated(best) else "")
            # a rival fits exactly as well: printed as mean and SD, matched by the same instrument of the
            # protocol ("Pain at rest" and "Pain on movement" for "pain"; another instrument of the outcome is
            # another measure, not a doubt about this one), and as much the paper's primary outcome
            rank = {m: next((k for k, name in enumerate(spec.instruments) if instrument_matches(name, m)), -1)
                    for m in hits}
            rivals = [m for m in hits if m != best and m in usable and rank[m] == rank[best]
                      and not (stated(best) and not stated(m))]
            return BaselineTarget(measure=best, outcome=spec.id, why=why, rivals=rivals)
    if specs:
        return None
    for s in statements:
        named = [m for m in measures if names_measure(s.text, m)]
        if named:
            return BaselineTarget(measure=named[0], rivals=[m for m in named[1:] if m in usable],
                                  why=f"the paper's primary outcome (page {s.page}: \"{s.quote[:120]}\")")
    return None


# A time point that is the baseline: an outcome table's "Baseline" / "Pre-treatment" / "Week 0" column.
BASELINE_TIMEPOINT = re.compile(r"^\s*(?:baseline|pre[- ]?(?:test|treatment|intervention|randomi[sz]ation)?|t0|"
                                r"week\s*0|before(?: (?:the )?(?:treatment|intervention|training|program(?:me)?|therapy))?)\s*$",
                                re.IGNORECASE)


def _baseline_rows(result: ExtractionResult, arm_index: int) -> list[tuple[Baseline, str]]:
    """An arm's baseline values with the evidence path of each: its baseline-table rows, then the baseline
    time point of outcome tables ("Baseline" columns beside "Week 36"), as ``(Baseline, path prefix)``."""
    arm = result.arms[arm_index]
    rows = [(b, f"arms[{arm_index}].baselines[{j}]") for j, b in enumerate(arm.baselines)]
    for k, o in enumerate(result.outcomes):
        if o.arm == arm.name and BASELINE_TIMEPOINT.match(o.timepoint or ""):
            rows.append((Baseline(measure=o.measure, mean=o.mean, sd=o.sd, n=o.n, printed_as=o.printed_as),
                         f"outcomes[{k}]"))
    return rows


def baseline_path(result: ExtractionResult, arm_index: int) -> str | None:
    """Where the evidence of ``arms[arm_index].baseline`` is: "arms[0].baselines[3]" or "outcomes[5]"."""
    arm = result.arms[arm_index]
    if arm.baseline is None:
        return None
    return next((path for b, path in _baseline_rows(result, arm_index) if b.measure == arm.baseline.measure), None)


# Words that tell the subscales or components of one instrument apart: a measure naming one of a set is not the
# outcome when the outcome names another of the same set and never this one.
SIBLING_WORDS = (frozenset({"state", "trait"}), frozenset({"depression", "anxiety", "stress"}),
                 frozenset({"mental", "physical"}), frozenset({"systolic", "diastolic"}))


def sibling_measure(measure: str, spec: OutcomeSpec) -> str | None:
    """Why ``measure`` may be a sibling of ``spec`` rather than it, or None: it names a subscale or component
    ("STAI-Trait score") that the outcome's label and instruments never name, while they name another of the
    same set ("STAI state anxiety"). Such a row matches through the instrument's bare name ("STAI") when the
    table that prints the outcome itself went unread."""
    said = {t for name in (spec.label, *spec.instruments) for t in tokens(name)}
    row = set(tokens(measure))
    for words in SIBLING_WORDS:
        here, wanted = row & words - said, said & words - row
        if here and wanted:
            return (f"'{measure}' names {', '.join(sorted(here))} where the outcome names "
                    f"{', '.join(sorted(wanted))}: it may be another subscale of the instrument")
    return None


def apply_target(result: ExtractionResult, specs: Sequence[OutcomeSpec],
                 statements: Sequence[PrimaryOutcome] | None = None) -> None:
    """Set each arm's ``baseline`` to its baseline of the outcome of interest (``choose_target``), from a
    baseline table or an outcome table's baseline column; tag every baseline with the protocol outcome it
    belongs to, and say in a warning when no baseline is of that outcome. ``statements`` default to the one
    already on ``result`` (a result read back from the store)."""
    if statements is None:
        statements = [result.primary_outcome] if result.primary_outcome else []
    elif statements:
        result.primary_outcome = statements[0]
    measures: list[str] = []
    rows = [_baseline_rows(result, i) for i in range(len(result.arms))]
    for arm_rows in rows:
        for b, _ in arm_rows:
            if b.measure and b.measure not in measures:
                measures.append(b.measure)
    for arm in result.arms:
        for b in arm.baselines:
            hit = match_outcome(b.measure, specs)
            b.outcome = hit.outcome_id if hit else None
    usable = {b.measure for arm_rows in rows for b, _ in arm_rows if b.mean is not None and b.sd is not None}
    result.target = choose_target(measures, specs, statements, usable)
    if result.target is not None:  # a rival printing the very numbers of the choice leaves nothing to choose
        target = result.target.measure
        values = [{b.measure: (b.mean, b.sd) for b, _ in arm_rows} for arm_rows in rows]
        result.target.rivals = [m for m in result.target.rivals
                                if any(m in v and v[m] != v.get(target) for v in values)]
        spec = next((s for s in specs if s.id == result.target.outcome), None)
        if spec is not None:
            result.target.doubt = sibling_measure(target, spec)
    for arm, arm_rows in zip(result.arms, rows, strict=True):
        chosen = None if result.target is None else next(
            (b for b, _ in arm_rows if b.measure == result.target.measure), None)
        if chosen is not None and result.target is not None and any(
                b.measure == chosen.measure and (b.mean, b.sd) != (chosen.mean, chosen.sd) for b, _ in arm_rows):
            # the measure printed twice for this arm with other values (a baseline table and an outcome
            # table's baseline column that count different people)
            result.target.rivals.append(f"{chosen.measure} printed again for {arm.name} with other values")
        arm.baseline = chosen.model_copy(update={"outcome": result.target.outcome}) if chosen is not None else None
    if result.target is None and measures:
        wanted = ", ".join(s.label or s.id for s in specs) if specs else "the paper's primary outcome"
        result.warnings.append(f"no baseline of {wanted} found among the baseline measures "
                               f"({', '.join(measures[:6])}{', ...' if len(measures) > 6 else ''}): "
                               "each arm's baseline is left empty")
