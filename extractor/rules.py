"""The offline rule extractor: arms, participant flow, total N, baseline and outcome means and SDs.

Assembles what ``_consort`` reads from prose and flow diagrams and what ``_tables`` reads from
per-arm tables into an ``ExtractionResult``. Every value carries its page and the line it came from
as evidence; nothing is guessed. When sources disagree the more direct one wins (a sentence or the
flow diagram over a table header) and the disagreement becomes a warning; a count that cannot be
tied to one arm is left out. The n in a baseline table's header is taken as randomised only when
the caption says so or nothing contradicts it (many tables describe the analysed population).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from metasift.config import OutcomeSpec
from metasift.extractor._consort import (
    Count,
    all_analysed,
    allocation_names,
    analysed_total,
    diagram_counts,
    fraction_losses,
    no_losses,
    prose_counts,
    total_candidates,
)
from metasift.extractor._header import caption_kind, is_unnamed
from metasift.extractor._prose_values import DOUBT as PROSE_DOUBT
from metasift.extractor._prose_values import baseline_sentences
from metasift.extractor._row_arms import RowArm, row_arms
from metasift.extractor._tables import Table, TableArm, find_tables
from metasift.extractor._text import (
    ALIASES,
    abbreviations,
    add_on_of,
    arm_kind,
    name_key,
    same_arm,
    spelled_out,
)
from metasift.extractor._values import prose_declaration
from metasift.extractor.design import detect_design, secondary_analysis
from metasift.extractor.outcomes import BASELINE_TIMEPOINT, apply_target, primary_statements
from metasift.extractor.pdf import PdfDocument
from metasift.extractor.schema import Arm, Baseline, Evidence, ExtractionResult, Outcome

_RANK = {"prose": 0, "diagram": 1, "ocr": 2, "table": 3}  # a sentence, a vector diagram, an image one
_ORIGIN = {"prose": "sentence", "diagram": "diagram", "ocr": "ocr", "table": "table"}  # Evidence.origin


@dataclass
class _Candidate:
    value: int
    page: int
    quote: str
    source: str
    region: list[float] | None = None  # an OCR'd image's box on the page
    doubt: str = ""  # why the reading needs a human (the value is another count's, by a sentence's say-so)
    sentence: str = ""  # the whole sentence a prose count was read from, where its quote is a part of it


def _statements(cands: list[_Candidate]) -> int:
    """How many statements print a value: candidates from one sentence (two patterns reading one sentence, or its
    quote inside another's on the same page) are one statement, not a second that corroborates the first."""
    texts: list[tuple[str, int, str]] = []
    for c in cands:
        text = " ".join((c.sentence or c.quote).split())
        if not any(source == c.source and page == c.page and (text in other or other in text)
                   for source, page, other in texts):
            texts.append((c.source, c.page, text))
    return len(texts)


def match_arm(name: str, arms: list[Arm]) -> Arm | None:
    """The arm a printed name refers to: same words (the very name where names nest: "cash plus lump sum" and
    "cash plus lump sum and training"), else the one arm of its kind (``arm_kind``: "control" names "usual care",
    "intervention" names "CBT + TAU"), else, of two arms one of which adds to the other, the add-on or the base."""
    hits = [a for a in arms if same_arm(name, a.name)]
    key = name_key(name)
    exact = [a for a in hits if name_key(a.name) == key]
    if len(hits) == 1 or len(exact) == 1:
        return (exact or hits)[0]
    kind = arm_kind(name)
    if kind is None:
        return None
    kin = [a for a in arms if arm_kind(a.name) == kind]
    if len(kin) == 1:
        return kin[0]
    if not kin and len(arms) == 2:  # "control" of "HAART+IMOD" and "HAART": the arm the other adds to
        added = [a for a, b in (arms, arms[::-1]) if add_on_of(a.name, b.name)]
        if len(added) == 1:
            return added[0] if kind == "intervention" else next(a for a in arms if a is not added[0])
    return None


# Table columns that are not randomised arms: an attrition table (completers vs dropouts), a table by sex or by
# response, or the screened / excluded / not randomised beside the randomised.
_NOT_ARMS = re.compile(r"\b(?:non-?)?(?:completers?|completed|drop-?outs?|dropped|lost|withdr[ae]wn?|responders?|"
                       r"men|women|males?|females?|boys|girls|screened|excluded|eligible|included|not\s+randomi[sz]ed|"
                       r"non-?randomi[sz]ed|retained|missing|per[- ]?protocol|itt|intention[- ]to[- ]treat)\b|^\s*(?:yes|no)\s*$",
                       re.IGNORECASE)


def _arm_names(tables: list[Table], counts: list[Count], secondary: bool = False) -> list[str]:
    """The paper's arms, in order: a baseline table's columns, else any table's, else the prose's. A table
    whose columns are populations or subgroups (completers vs dropouts, women vs men) names no arms. In a
    secondary analysis the randomised arms a sentence names with their n come first: its tables often compare
    subgroups of the pooled trial (by sex, severity, a biomarker), which are no arms. A table with fewer
    columns than the allocation sentence has arms, each column one of them, gives way to the sentence."""
    names: list[str] = []
    sentence = _sentence_arms(counts)
    if secondary and sentence:
        return sentence
    tables = [t for t in tables if not any(_NOT_ARMS.search(a.name) for a in t.arms if not a.total)]
    with_n = [t for t in tables if any(a.n is not None for a in t.arms)]
    for group in ([t for t in with_n if t.kind == "baseline"], with_n, tables):
        if group:
            for a in group[0].arms:  # once each: a table may repeat its arms under time point headings
                if not a.total and not any(same_arm(a.name, n) for n in names):
                    names.append(a.name)
            # a table that lost a column (a header wrapped past reading) names fewer arms than the sentence
            # that allocates them: each column it has is one of the sentence's arms, so the sentence's are the arms
            if len(sentence) > len(names) and all(
                    sum(same_arm(n, m) for m in sentence) == 1 for n in names):
                return [next((n for n in names if n.lower() == m.lower()), m) for m in sentence]
            return names
    said: dict[str, tuple[int, str]] = {}  # each name and the sentence that gave it
    for c in counts:  # one sentence's names are as many arms ("cash plus lump sum", "... and training")
        if sentence and c.field != "n_randomised" and not any(same_arm(c.arm or "", m) for m in sentence):
            continue  # with the arms allocated by name, other names count groups of another kind (weight losers)
        if c.source == "prose" and c.arm and not any(
                n.lower() == c.arm.lower() or (same_arm(c.arm, n) and said[n] != (c.page, c.quote)) for n in names):
            names.append(c.arm)
            said[c.arm] = (c.page, c.quote)
    if len(names) >= 2:
        return names
    diagram = [c for c in counts if c.source in ("diagram", "ocr") and c.field == "n_randomised"]
    names = [c.arm for c in diagram]
    return names if len(names) >= 2 and len({name_key(n) for n in names}) == len(names) else []


def extract(doc: PdfDocument, outcomes: Sequence[OutcomeSpec] = (), *, ocr: bool = True) -> ExtractionResult:
    """Run every rule over the document and assemble arms, counts, values and evidence. Each arm's
    ``baseline`` is that of ``outcomes`` (the protocol's, in order), else of the paper's stated primary
    outcome, else None (``outcomes.apply_target``). Without a text-layer flow diagram, an image one is read
    by OCR (``ocr``) unless ``ocr`` is False."""
    result = ExtractionResult(path=doc.path)
    diagram = diagram_counts(doc.pages)
    ocr_box: list[float] | None = None  # the image the diagram's counts were read from, if OCR read them
    if not diagram and ocr:
        diagram, ocr_box = _ocr_diagram(doc, result)
    counts = prose_counts(doc.pages) + diagram
    prose_names = [c.arm for c in counts if c.source == "prose" and 0 < len(c.arm.split()) <= 3]
    prose_names += [n for n in allocation_names(doc.pages) if len(n.split()) <= 3
                    and not any(same_arm(n, m) for m in prose_names)]
    tables = find_tables(doc.pages, prose_names, prose_declaration([page.text for page in doc.pages]))
    _spell_out_names(counts, tables, abbreviations(" ".join(p.text for p in doc.pages)))
    texts = [(p.number, p.text) for p in doc.pages]
    secondary = secondary_analysis(texts)
    result.arms = [Arm(name=n) for n in _arm_names(tables, counts, secondary is not None)]
    groups = row_arms(doc.pages) if not result.arms else []
    if groups:  # no column table, sentence or diagram names the arms; a table by group lists them as rows
        result.arms = [Arm(name=g.name) for g in groups]
        result.warnings.append(f"arms read from the rows of a table by group (page {groups[0].page}: "
                               f"{groups[0].caption[:80]}): {len(groups)} groups")

    candidates: dict[tuple[int, str], list[_Candidate]] = {}
    _count_candidates(counts, result, candidates, ocr_box)
    stated = total_candidates(doc.pages)
    _table_candidates(tables, result, candidates, stated[0][0] if stated else None, analysed_total(doc.pages))
    _row_candidates(groups, candidates)
    _fraction_candidates(doc, result, candidates)
    _no_loss_candidates(doc, result, candidates)
    _all_analysed_candidates(doc, result, candidates)
    _settle_counts(result, candidates)
    _total(stated, result)
    for table in tables:
        _table_values(table, result)
    _sentence_baselines(doc, result)

    if result.n_total is None and len(result.arms) >= 2 and all(a.n_randomised for a in result.arms):
        result.warnings.append("total N not stated; the arms sum to "
                               f"{sum(a.n_randomised or 0 for a in result.arms)}")
    _derive_dropout(result)
    skipped = sum(t.skipped for t in tables)
    if skipped:
        result.warnings.append(f"{skipped} table row(s) with numbers could not be matched to the arm columns")
    if not result.arms:
        result.warnings.append("no arms found (no table header with '(n = X)' per group, no CONSORT "
                               "allocation)")
    if not result.outcomes:
        result.warnings.append("no outcome table with per-arm mean and SD found")
    _doubt_unnamed_arms(result, prose_names, _counted_names(tables, counts))
    widest = max((sum(not a.total for a in t.arms) for t in tables), default=0)
    if 2 <= widest < len(result.arms):  # arms of sentences beside a table's: some are one arm, or no arm
        _doubt_arms(result, f"{len(result.arms)} arms found, but no table has more than {widest} arm columns: "
                            "confirm which groups are the arms")
    _doubt_arms(result, "no name was printed over this column (the header's n only): confirm which arm it is",
                [i for i, a in enumerate(result.arms) if is_unnamed(a.name)])
    if secondary is not None and not _named_randomised(counts, result.arms):
        _doubt_arms(result, f"secondary analysis (page {secondary[0]}) and no sentence names these arms with "
                            "their randomised n: confirm the columns are the randomised arms, not subgroups")
    apply_target(result, outcomes, primary_statements(texts))
    result.design, warnings = detect_design(texts, len(result.arms), secondary)
    result.warnings += warnings
    if result.design.kind == "crossover":
        _name_sequence_groups(result)
    return result


def _spell_out_names(counts: list[Count], tables: list[Table], defined: dict[str, str]) -> None:
    """A sentence's arm name printed as a short form the paper defines ("13 in the AT+EX group") or in full
    where a table prints the short form ("TAU (n = 30)"), renamed to the name it denotes as the tables print it
    ("Active tDCS + Exercise") or, where no table names it, as another sentence does in full. A name that already
    denotes a printed one stays as it is."""
    def denoted(name: str, among: list[str]) -> str:
        if not name or any(same_arm(name, m) for m in among):
            return name
        long = spelled_out(name, defined)
        fits = {m for m in among if same_arm(spelled_out(m, defined), long)}
        return fits.pop() if len({name_key(m) for m in fits}) == 1 else name

    printed = [t.name for table in tables for t in table.arms if not t.total]
    for c in counts:
        c.arm = denoted(c.arm, printed)
    in_full = [c.arm for c in counts if c.arm and spelled_out(c.arm, defined) == c.arm]
    for c in counts:
        if spelled_out(c.arm, defined) != c.arm:
            c.arm = denoted(c.arm, in_full)


def _sentence_arms(counts: list[Count]) -> list[str]:
    """The arms of the first sentence that names two or more with their randomised n, in its order."""
    by_sentence: dict[tuple[int, str], list[str]] = {}
    for c in counts:
        if c.source == "prose" and c.field == "n_randomised" and c.arm:
            got = by_sentence.setdefault((c.page, c.sentence or c.quote), [])
            if not any(same_arm(c.arm, n) for n in got):
                got.append(c.arm)
    return next((got for got in by_sentence.values() if len(got) >= 2), [])


# An arm name that already says it is a sequence: "Sequence AB", "empagliflozin/placebo", "app first".
SEQUENCE_NAME = re.compile(r"(?i:sequence|order|first|then|followed|/|→|->)|\b[A-D]{2,4}\b")


def _name_sequence_groups(result: ExtractionResult) -> None:
    """In a crossover every participant receives every treatment, so an arm named by a treatment alone
    ("placebo", from "Allocated to placebo (n = 11)") is the group that received it first: it is named so
    ("placebo first"), in its outcomes too."""
    renamed = {}
    for arm in result.arms:
        if not SEQUENCE_NAME.search(arm.name) and not is_unnamed(arm.name):
            renamed[arm.name] = arm.name = f"{arm.name} first"
    for outcome in result.outcomes:
        outcome.arm = renamed.get(outcome.arm, outcome.arm)


def _named_randomised(counts: list[Count], arms: list[Arm]) -> bool:
    """Whether every arm is named by a sentence that gives its randomised n."""
    said = [c.arm for c in counts if c.source == "prose" and c.field == "n_randomised" and c.arm]
    return bool(arms) and all(any(same_arm(a.name, s) for s in said) for a in arms)


def _doubt_arms(result: ExtractionResult, why: str, arms: Sequence[int] | None = None) -> None:
    """Send every value of the given arms (all when None) to a human with ``why``, keeping an earlier doubt."""
    for ev in result.evidence:
        m = re.match(r"arms\[(\d+)\]\.", ev.field)
        if m and (arms is None or int(m.group(1)) in arms):
            ev.doubt = ev.doubt or why


def _counted_names(tables: list[Table], counts: list[Count]) -> dict[str, str]:
    """Table columns a sentence names by their count: "randomly assigned to CA (98 patients) or ADT (48
    patients)" over columns "Ablation (n = 98)" and "Drug therapy (n = 48)". Column name -> the sentence's arm
    name, where each count is printed for one column and one sentence arm only (98 and 48, not 50 and 50)."""
    said: dict[int, set[str]] = {}
    for c in counts:
        if c.source == "prose" and c.field == "n_randomised" and c.arm:
            said.setdefault(c.value, set()).add(name_key(c.arm))
    columns: dict[int, set[str]] = {}
    for table in tables:
        for arm in table.arms:
            if arm.n and not arm.total:
                columns.setdefault(arm.n, set()).add(name_key(arm.name))
    out: dict[str, str] = {}
    for n, names in columns.items():
        arms = said.get(n, set())
        if len(names) == 1 and len(arms) == 1:
            out[names.pop()] = arms.pop()
    return out


def _doubt_unnamed_arms(result: ExtractionResult, prose_names: list[str], by_count: dict[str, str]) -> None:
    """When sentences name the arms ("182 to coaching, 179 to ..."), an arm no sentence names (its name read
    from a table header or a diagram only) may be words of two columns glued together or a subgroup: every
    value on it goes to a human, with the names the sentences give. Not in a two-arm paper whose other column
    is named as a sentence names an arm and this one "Intervention" (or "Experimental", "Treatment"): it can
    only be the other arm. Nor a column a sentence names by its count (``_counted_names``), when every arm is
    such a column: the sentence's "CA (98 patients)" is the table's "Ablation (n = 98)"."""
    named = [Arm(name=n) for n in dict.fromkeys(prose_names)]
    if len({name_key(a.name) for a in named}) < 2:
        return
    unnamed = [i for i, arm in enumerate(result.arms)
               if match_arm(arm.name, named) is None and not any(same_arm(arm.name, a.name) for a in named)]
    claimed = [by_count.get(name_key(result.arms[i].name)) for i in unnamed]
    if len(unnamed) == len(result.arms) and all(claimed) and len(set(claimed)) == len(claimed):
        return  # every arm is a column whose count a sentence prints for another of its arms
    if len(result.arms) == len({name_key(a.name) for a in named}) == 2 and len(unnamed) == 1 \
            and name_key(result.arms[unnamed[0]].name) in ALIASES["intervention"]:
        return  # two arms, one named as a sentence names it: the other column, "Intervention", is the other arm
    for i in unnamed:
        arm = result.arms[i]
        _doubt_arms(result, f"arm '{arm.name}' is named by no sentence of the paper (they name "
                            f"{', '.join(repr(a.name) for a in named[:4])}): confirm which group this column is", [i])


def _ocr_diagram(doc: PdfDocument, result: ExtractionResult) -> tuple[list[Count], list[float] | None]:
    """Flow-diagram counts read by OCR from the first image that holds a diagram (``ocr``), relabelled
    ``ocr``, and that image's box on the page."""
    from metasift.extractor.ocr import ocr_flow_pages

    read, warnings = ocr_flow_pages(doc.path, doc.pages)
    result.warnings += warnings
    for region, page in read:
        counts = diagram_counts([page])
        if counts:
            result.warnings.append(f"flow diagram read by OCR from an image ({region.describe()}): its counts "
                                   "need a human check against the figure")
            out = [Count(c.field, c.arm, c.value, c.page, c.quote, "ocr", c.position) for c in counts]
            return out, [round(v, 1) for v in region.box]
    return [], None


def _derive_dropout(result: ExtractionResult) -> None:
    """Dropout as randomised - analysed where no count is printed; and where a flow diagram's loss boxes do
    not add up to the participants missing from the analysis (other exits such as deaths or discontinuations
    are itemised apart), the difference with its formula as evidence, for a human to check."""
    for i, arm in enumerate(result.arms):
        r, a = arm.n_randomised, arm.n_analysed
        if r is None or a is None or a > r:
            continue
        path = f"arms[{i}].n_dropout"
        if arm.n_dropout is None:
            arm.n_dropout = r - a
            result.warnings.append(f"{path} computed as randomised - analysed")
            continue
        boxes = next((e for e in result.evidence if e.field == path), None)
        if boxes is None or boxes.origin not in ("diagram", "ocr") or a == r or arm.n_dropout == r - a:
            continue
        result.warnings.append(f"{arm.name}: the flow diagram's loss boxes give {arm.n_dropout} ({boxes.quote}, page "
                               f"{boxes.page}) but randomised {r} - analysed {a} = {r - a}: dropout taken as {r - a}")
        arm.n_dropout = r - a
        result.evidence.remove(boxes)
        result.evidence.append(Evidence(field=path, value=r - a, page=None, source="derived",
                                        quote=f"randomised {r} - analysed {a} = {r - a}; the diagram's loss boxes: "
                                              f"{boxes.quote} (page {boxes.page})"))


def _total(found: list[tuple[int, int, str]], result: ExtractionResult) -> None:
    """Total N from the statements of it (``total_candidates``, most trusted first): the most trusted, unless
    another statement equals the arms' sum."""
    if not found:
        return
    arm_sum = sum(a.n_randomised or 0 for a in result.arms)
    if len(result.arms) >= 2 and all(a.n_randomised for a in result.arms) and found[0][0] != arm_sum:
        found = [f for f in found if f[0] == arm_sum] or found
    value, page, quote = found[0]
    result.n_total = value
    support = len({p for v, p, _ in found if v == value})  # pages that state it (one statement may match twice)
    # another total, from a statement that does not also print this one (", 317 people were screened and 200
    # were randomised" is read as 317 by a looser pattern, and says 200 all the same) and is no flow diagram's
    # run of boxes ("Assessed for eligibility (n=548) Randomised (n=354)" read as "n=548) Randomised")
    other = next((f for f in found if f[0] != value and not re.search(rf"(?<![\d.,]){value}(?![\d.,])", f[2])
                  and not re.match(r"n\s*=\s*\d+\)", f[2])), None)
    # another sentence gives another total randomised: which counts the randomised is a reader's call, and so
    # are the arms' counts that add up to either
    doubt = f"page {other[1]} states {other[0]} randomised" if other else None
    result.evidence.append(Evidence(field="n_total", value=value, page=page, quote=quote, support=support,
                                    doubt=doubt))
    if doubt:
        for ev in result.evidence:
            if ev.field.endswith(".n_randomised") and not ev.doubt:
                ev.doubt = f"the paper states two totals randomised ({value} and {other[0]}): confirm this arm's"


def _the_generic_other(c: Count, counts: list[Count], arms: list[Arm]) -> Arm | None:
    """Of two arms, the one named generically on one side and specifically on the other, when the allocation
    sentence's other name is the other arm's: a table's "Intervention" (or "Experimental", "Treatment") for the
    sentence's "unguided app" ("81 to unguided app, 84 to waitlist" beside "Intervention" / "Control"), or a
    table's "Physiotherapy group" for the sentence's "intervention" ("an intervention (n = 11) or control
    (n = 9) group" beside "Physiotherapy group" / "Control group")."""
    if len(arms) != 2 or c.field != "n_randomised":
        return None
    siblings = [match_arm(o.arm, arms) for o in counts
                if o.source == "prose" and o.field == c.field and o.quote == c.quote and o is not c]
    if len(siblings) != 1 or siblings[0] is None:
        return None
    other = arms[1 - arms.index(siblings[0])]
    generic = [a for a in arms if name_key(a.name) in ALIASES["intervention"]]
    if generic == [other] or (not generic and name_key(c.arm) in ALIASES["intervention"]):
        return other
    return None


def _add(candidates: dict, arm: int, field: str, cand: _Candidate) -> None:
    candidates.setdefault((arm, field), []).append(cand)


def _count_candidates(counts: list[Count], result: ExtractionResult, candidates: dict,
                      ocr_box: list[float] | None) -> None:
    """Counts from sentences (by arm name) and from a flow diagram (by name, else by column position)."""
    arms = result.arms
    for c in counts:
        if c.source != "prose":
            continue
        if c.each:  # "100 patients in each group"
            for k in range(len(arms)):
                _add(candidates, k, c.field, _Candidate(c.value, c.page, c.quote, "prose", sentence=c.sentence))
            continue
        arm = match_arm(c.arm, arms) or _the_generic_other(c, counts, arms)
        if arm is not None:
            _add(candidates, arms.index(arm), c.field,
                 _Candidate(c.value, c.page, c.quote, "prose", sentence=c.sentence))
    diagram = [c for c in counts if c.source in ("diagram", "ocr")]
    columns = sorted({c.position for c in diagram if c.position is not None})
    by_name = {col: match_arm(next(c.arm for c in diagram if c.position == col), arms) for col in columns}
    named = all(by_name.values()) and len({id(a) for a in by_name.values()}) == len(columns)
    if not named and len(columns) == len(arms) >= 2:
        by_name = {col: arms[i] for i, col in enumerate(columns)}
        result.warnings.append("flow diagram boxes do not name the arms apart; columns taken left to right "
                               "as " + ", ".join(a.name for a in arms))
    elif not named:
        return
    for c in diagram:
        arm = by_name.get(c.position)
        if arm is not None:
            _add(candidates, arms.index(arm), c.field,
                 _Candidate(c.value, c.page, c.quote, c.source, ocr_box if c.source == "ocr" else None))


def _fraction_candidates(doc: PdfDocument, result: ExtractionResult, candidates: dict) -> None:
    """"lost to follow-up 10/109 vs 8/106": each loss is the arm's whose randomised n is its denominator
    (by n when the arms' n differ, else in the printed order), a sentence, so it outranks a diagram box."""
    arms = result.arms
    # each arm's first randomised candidate (a sentence's, where one names it: they are added first)
    randomised = [next((c.value for c in candidates.get((i, "n_randomised"), [])), None) for i in range(len(arms))]
    for pairs, page, quote in fraction_losses(doc.pages):
        if len(pairs) != len(arms):
            continue
        wanted = [of for _, of in pairs]
        if sorted(wanted) != sorted(v for v in randomised if v is not None):
            continue
        order = range(len(arms)) if len(set(wanted)) < len(wanted) else [randomised.index(of) for of in wanted]
        for (lost, _), i in zip(pairs, order, strict=True):
            _add(candidates, i, "n_dropout", _Candidate(lost, page, quote, "prose"))


def _no_loss_candidates(doc: PdfDocument, result: ExtractionResult, candidates: dict) -> None:
    """"All participants completed the study" / "There were no dropouts": dropout 0 for every arm, where no arm
    has a loss printed anywhere else (a sentence, a diagram box, a fraction)."""
    if len(result.arms) < 2 or any((i, "n_dropout") in candidates for i in range(len(result.arms))):
        return
    found = no_losses(doc.pages)
    if found is not None:
        page, quote = found
        for i in range(len(result.arms)):
            _add(candidates, i, "n_dropout", _Candidate(0, page, quote, "prose"))


def _all_analysed_candidates(doc: PdfDocument, result: ExtractionResult, candidates: dict) -> None:
    """"The analysis ... included all patients who were randomized": each arm's analysed are its randomised (its
    most direct randomised count), where nothing else (a sentence, a diagram, a table's header) gives the arm's
    analysed. A human confirms it: the value is the randomised count's, carried over by that sentence."""
    found = all_analysed(doc.pages) if len(result.arms) >= 2 else None
    if found is None:
        return
    page, quote = found
    for i in range(len(result.arms)):
        if candidates.get((i, "n_analysed")):
            continue
        randomised = sorted(candidates.get((i, "n_randomised"), []), key=lambda c: _RANK[c.source])
        if randomised and randomised[0].source != "ocr":
            r = randomised[0]
            _add(candidates, i, "n_analysed", _Candidate(
                r.value, page, f"{quote}; {r.quote}", "prose",
                doubt=f"analysed taken as the {r.value} randomised (page {r.page}): page {page} says the analysis "
                      "included everyone randomised"))


def _table_candidates(tables: list[Table], result: ExtractionResult, candidates: dict, stated: int | None,
                      analysed: int | None = None) -> None:
    """Header n of per-arm tables: randomised (baseline tables of the randomised) or analysed. A baseline
    table whose arms add up to less than the total the text most plainly says was randomised (``stated``), or
    whose every arm counts less than a sentence says that arm randomised, or whose arms add up to the total a
    sentence says was analysed (``analysed``), describes those who stayed (many papers give baseline
    characteristics of completers only): its n are analysed, not randomised."""
    arms = result.arms
    said = {i: [c.value for c in candidates.get((i, "n_randomised"), []) if c.source == "prose"]
            for i in range(len(arms))}
    for table in tables:
        arm_sum = sum(a.n or 0 for a in table.arms if not a.total)
        # (or add up to the total a sentence says the analysis counted, where none says so many were randomised)
        subset = (stated is not None and arm_sum < stated) or (analysed == arm_sum and stated != arm_sum)
        # each header arm with a count, and the paper's arm it names (None where it names none)
        matched = [(tarm, match_arm(tarm.name, arms)) for tarm in table.arms if not tarm.total and tarm.n is not None]
        # or each arm's header n under what a sentence says that arm randomised ("(n = 40) or ... (n = 40)" over
        # a table of "(n = 15)" and "(n = 13)")
        subset = subset or (len(matched) >= 2 and all(
            arm is not None and said[arms.index(arm)] and tarm.n < min(said[arms.index(arm)]) for tarm, arm in matched))
        for tarm, arm in matched:
            if arm is None:
                continue
            i = arms.index(arm)
            cand = _Candidate(tarm.n, table.page, tarm.quote, "table")
            if table.kind == "baseline" and subset:
                _add(candidates, i, "n_analysed", cand)
            elif table.kind == "baseline" and table.population != "analysed":
                direct = [c for c in candidates.get((i, "n_analysed"), []) if c.source != "table"]
                if table.population == "randomised" or not any(c.value == tarm.n for c in direct):
                    _add(candidates, i, "n_randomised", cand)
            elif table.population == "analysed" or (table.kind == "outcome" and table.values):
                # an outcome table of means counts the analysed; a table of rates or of what was delivered
                # ("Rates of diagnoses during follow-up", "Description of the protocol delivered") may count any
                # subset, so its header n is no analysed n unless its caption names that population
                _add(candidates, i, "n_analysed", cand)


def _row_candidates(groups: list[RowArm], candidates: dict) -> None:
    """Each group row's n as that arm's randomised n, when the table describes the groups at baseline (its
    caption names baseline characteristics or demographics and no analysis population)."""
    for i, g in enumerate(groups):
        kind, _, population = caption_kind(g.caption)
        if kind == "baseline" and population != "analysed":
            _add(candidates, i, "n_randomised", _Candidate(g.n, g.page, g.quote, "table"))


def _settle_counts(result: ExtractionResult, candidates: dict) -> None:
    """Each arm's count from its most direct source; a disagreeing source becomes a warning."""
    for (i, field), cands in sorted(candidates.items()):
        cands.sort(key=lambda c: _RANK[c.source])
        best = cands[0]
        if best.source == "ocr":  # the same number in the text layer is checkable there: cite that instead
            best = next((c for c in cands if c.source != "ocr" and c.value == best.value), best)
            printed = {c.value for c in cands if c.source != "ocr"}
            if field == "n_randomised" and len(printed) == 1 and best.value not in printed:
                # OCR misreads digits ("63" as "62"); a randomised table's header prints the number exactly
                best = next(c for c in cands if c.source != "ocr")
        arm = result.arms[i]
        setattr(arm, field, best.value)
        support = _statements([c for c in cands if c.value == best.value])
        evidence = Evidence(field=f"arms[{i}].{field}", value=best.value, page=best.page, quote=best.quote,
                            source="ocr" if best.source == "ocr" else "rule", region=best.region, support=support,
                            origin=_ORIGIN[best.source], doubt=best.doubt or None)
        result.evidence.append(evidence)
        for other in {c.value: c for c in cands if c.value != best.value}.values():
            if field == "n_analysed" and other.source == "table":
                continue  # an outcome table often counts fewer (one outcome's completers)
            result.warnings.append(f"{arm.name}: {field} is {best.value} (page {best.page}) but "
                                   f"{other.value} on page {other.page}")
            if other.source != "table" and best.source != "table" and not evidence.doubt:
                # two sentences (or a sentence and the flow diagram) disagree: the abstract's completers
                # called randomised, a count of the enrolled beside the randomised; a reader settles it
                evidence.doubt = f"page {other.page} prints {other.value} for this arm's {field.removeprefix('n_')}"


def _mean_sd_evidence(path: str, mean: float | None, sd: float | None, page: int, quote: str,
                      doubt: str | None) -> list[Evidence]:
    """The evidence of a value's mean and SD (those printed) at ``path`` ("arms[0].baselines[1]")."""
    return [Evidence(field=f"{path}.{stat}", value=value, page=page, quote=quote, doubt=doubt)
            for stat, value in (("mean", mean), ("sd", sd)) if value is not None]


def _sentence_baselines(doc: PdfDocument, result: ExtractionResult) -> None:
    """Baselines a sentence states per arm ("... before intervention were 35.52±6.99 and 34.98±6.78"), after the
    tables' (a table's value comes first), each for a human to confirm (``_prose_values``)."""
    for b in baseline_sentences(doc.pages, [a.name for a in result.arms]):
        i, arm = next((i, a) for i, a in enumerate(result.arms) if a.name == b.arm)
        if any(x.mean == b.mean and x.sd == b.sd for x in arm.baselines):
            continue
        arm.baselines.append(Baseline(measure=b.measure, mean=b.mean, sd=b.sd))
        path = f"arms[{i}].baselines[{len(arm.baselines) - 1}]"
        result.evidence += _mean_sd_evidence(path, b.mean, b.sd, b.page, b.quote, PROSE_DOUBT)


def _table_values(table: Table, result: ExtractionResult) -> None:
    """A table's values as baselines (baseline tables) or outcomes, each with its evidence. Values printed as
    median (IQR), mean (SE) or mean (95% CI) are kept only at baseline (what the paper gives for the outcome,
    with its n), never as an SD; at later time points they give no outcome row."""
    arms, evidence = result.arms, result.evidence
    for v in table.values:
        tarm: TableArm = table.arms[v.arm]
        arm = match_arm(tarm.name, arms)
        timepoint = v.timepoint or table.timepoint
        if table.kind == "baseline":
            if arm is None:
                continue
            arm.baselines.append(Baseline(measure=v.measure, mean=v.mean, sd=v.sd, n=v.n, printed_as=v.printed_as))
            path = f"arms[{arms.index(arm)}].baselines[{len(arm.baselines) - 1}]"
        elif v.sd is not None or BASELINE_TIMEPOINT.match(timepoint or ""):
            result.outcomes.append(Outcome(arm=arm.name if arm else tarm.name, measure=v.measure, mean=v.mean,
                                           timepoint=timepoint, sd=v.sd, n=v.n, printed_as=v.printed_as))
            path = f"outcomes[{len(result.outcomes) - 1}]"
        else:
            continue
        evidence += _mean_sd_evidence(path, v.mean, v.sd, table.page, v.quote, v.doubt or None)
        if v.n is not None:
            n_quote = v.quote if v.n != tarm.n else tarm.quote
            evidence.append(Evidence(field=f"{path}.n", value=v.n, page=table.page, quote=n_quote,
                                     doubt=v.n_doubt or None))
