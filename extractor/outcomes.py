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
(BDI-II = BDI 2), and the one-letter subscale marks of HADS, DASS and CES-D read as the construct
(HADS-D = HADS depression, HADS-A = HADS anxiety).

An instrument of the protocol (``OutcomeSpec.instruments``) matches a measure when its name tokens occur
together, in order, in the measure and each construct word it names (depression, anxiety, stress, state,
trait) occurs anywhere in the measure: "DASS-21 depression" matches "DASS-21 (depression subscale)",
"HADS-D" matches "Depression (HADS)" but not the HADS total. When instruments of several outcomes match,
the most specific one (most tokens) wins, then the outcome listed first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from metasift.config import OutcomeSpec

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
    name = [t for t in inst if t not in CONSTRUCT_WORDS]
    words = [t for t in inst if t in CONSTRUCT_WORDS]
    if not inst or (name and not _contains_run(meas, name)) or any(w not in meas for w in words):
        return 0
    return len(inst)


def match_outcome(measure: str | None, outcomes: Sequence[OutcomeSpec]) -> OutcomeMatch | None:
    """The protocol outcome ``measure`` belongs to, through its most specific matching instrument."""
    best: tuple[int, OutcomeMatch] | None = None
    for spec in outcomes:
        for instrument in spec.instruments:
            score = instrument_matches(instrument, measure)
            if score and (best is None or score > best[0]):
                best = (score, OutcomeMatch(spec.id, spec.label, instrument))
    return best[1] if best else None
