"""Values a reviewer enters by hand, with the store: what each study still lacks (``study_gaps``) and the entry
of one value with its page and quote (``enter_value``), checked against the attached PDF.

The I/O edge of ``gaps``. An entered value is stored like an extracted one (source "human", verified, with its
page and the line that prints it), so the full-text rules and ``effects`` read it, and a re-extraction never
overwrites it.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from metasift.config import OutcomeSpec
from metasift.errors import AmbiguousEntry, EntryError, ProjectError
from metasift.extractor.checks import quote_has_number
from metasift.extractor.gaps import (
    BASELINE,
    BASELINE_FIELDS,
    OUTCOME_FIELDS,
    Gap,
    check_field,
    checked_formula,
    entry_quote,
    find_line,
    lines_above,
    missing_values,
    numbered,
    parse_places,
    parse_value,
    row_picks,
    row_values,
)
from metasift.extractor.pdf import PdfError, read_pdf
from metasift.extractor.pipeline import page_texts, study_result
from metasift.extractor.suggest import Candidate, Held, Suggestion, for_gap
from metasift.kinds import ExtractionStatus, Label, Stage
from metasift.records import study_label
from metasift.store import Store
from metasift.store.rows import ExtractionRow, FulltextRow, HandEntry


@dataclass
class StudyGaps:
    """One study with an attached full text: the values it lacks, or why its PDF cannot give any."""

    record_id: int
    study: str
    fulltext_id: int
    gaps: list[Gap] = field(default_factory=list)
    unreadable: str | None = None  # the full text's status and message when it cannot be read
    held: list[ExtractionRow] = field(default_factory=list)  # the study's values the gaps were read from


@dataclass
class Entered:
    """A value entered by hand, as stored: its id, the entry and the ids of the values it replaced."""

    id: int
    entry: HandEntry
    replaced: list[int]

    def describe(self) -> str:
        return self.entry.describe()

    def to_json(self) -> dict:
        return {"id": self.id, **asdict(self.entry), "replaced": self.replaced}


def _held(store: Store, record_id: int) -> list[ExtractionRow]:
    return [x for x in store.extractions(record_id=record_id) if x.status != ExtractionStatus.REJECTED]


def _latest_fulltext(store: Store, record_id: int) -> FulltextRow | None:
    return next((f for f in reversed(store.fulltexts()) if f.record_id == record_id), None)


def study_gaps(store: Store, outcomes: Sequence[OutcomeSpec], *, humans_needed: int = 1,
               record_id: int | None = None) -> list[StudyGaps]:
    """Per study with a full text attached (the latest, when several), the values the full-text rules and the
    effect sizes read that no stored value holds. Studies excluded at full text need none and are left out."""
    records = {r.id: r for r in store.records_table()}
    excluded = {rid for rid, label in store.final_labels(Stage.FULL_TEXT, humans_needed=humans_needed).items()
                if label == Label.EXCLUDE}
    latest = {f.record_id: f for f in store.fulltexts()}
    values: dict[int, list[ExtractionRow]] = {}
    for x in store.extractions(record_id=record_id):  # one query, not one per study
        if x.status != ExtractionStatus.REJECTED:
            values.setdefault(x.record_id, []).append(x)
    out = []
    for rid, fulltext in sorted(latest.items()):
        if rid in excluded or (record_id is not None and rid != record_id) or rid not in records:
            continue
        held = values.get(rid, [])
        study = StudyGaps(rid, study_label(records[rid]), fulltext.id, held=held)
        if fulltext.status != "ok":
            study.unreadable = f"{fulltext.status}: {fulltext.message or 'the PDF cannot be read'}"
        absent = {(x.field, x.arm, x.measure, x.timepoint) for x in held if x.value is None}
        study.gaps = [g for g in missing_values(study_result(held), outcomes)
                      if (g.field, g.arm, g.measure, g.timepoint) not in absent]
        out.append(study)
    return out


def arm_names(held: Sequence[ExtractionRow]) -> list[str]:
    """A study's arms in the order its values first name them (the extractor's: the paper's order)."""
    return list(dict.fromkeys(x.arm for x in held if x.arm))


def held_values(rows: Sequence[ExtractionRow | HandEntry]) -> list[Held]:
    """A study's stored values (or values just entered) as the suggestions weigh them: where each is printed."""
    return [Held(x.field, x.arm, x.value if isinstance(x.value, int | float) else None, x.page, x.quote or "", x.measure)
            for x in rows if x.value is not None]


def suggestions(study: StudyGaps, outcomes: Sequence[OutcomeSpec], candidates: Sequence[Candidate],
                k: int = 3) -> dict[Gap, list[Suggestion]]:
    """The likeliest printed values for each of a study's gaps (``extractor.suggest``), from ``candidates`` (the
    numbers of its PDF's pages, ``suggest.page_candidates``); gaps without any are left out."""
    arms, held = arm_names(study.held), held_values(study.held)
    found = {gap: for_gap(gap, candidates, arms, outcomes, k=k, held=held) for gap in study.gaps if gap.certain}
    return {gap: got for gap, got in found.items() if got}


def _same_name(given: str | None, known: Sequence[str | None]) -> str | None:
    """``given`` as the store already spells it (case and spacing aside), so the entry joins its arm or cell."""
    if given is None:
        return None
    squeeze = " ".join(given.split()).casefold()
    return next((k for k in known if k and " ".join(k.split()).casefold() == squeeze), " ".join(given.split()))


def _where(field_name: str, arm: str | None, measure: str | None, timepoint: str | None, held: list[ExtractionRow],
           new_arm: bool) -> tuple[str | None, str | None, str | None]:
    """The arm, measure and time point an entry is stored under, as the study's stored values name them."""
    arms = arm_names(held)
    if field_name == "n_total":
        if arm or measure or timepoint:
            raise EntryError("n_total is the trial's total: give no --arm, --measure or --timepoint")
        return None, None, None
    if not arm:
        raise EntryError(f"{field_name} needs --arm" + (f" (this study's arms: {_quoted(arms)})" if arms else ""))
    arm = _same_name(arm, arms)
    if len(arms) >= 2 and arm not in arms and not new_arm:  # a study with fewer arms is still being named
        raise EntryError(f"no arm {arm!r} in this study (its arms: {_quoted(arms)}): give one of them, or "
                         "--new-arm to add it")
    if field_name in BASELINE_FIELDS or field_name in OUTCOME_FIELDS:
        if not measure:
            raise EntryError(f"{field_name} needs --measure (the scale as the paper names it, e.g. \"PHQ-9\")")
        measure = _same_name(measure, [x.measure for x in held])
        if field_name in BASELINE_FIELDS:
            if timepoint and timepoint.strip().casefold() != BASELINE:
                raise EntryError(f"{field_name} is at baseline: give no --timepoint, or use outcome_* fields")
            return arm, measure, BASELINE
        if not timepoint:
            raise EntryError(f"{field_name} needs --timepoint (e.g. \"post\", \"12 weeks\")")
        return arm, measure, _same_name(timepoint, [x.timepoint for x in held])
    if measure or timepoint:
        raise EntryError(f"{field_name} counts an arm: give no --measure or --timepoint")
    return arm, None, None


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def enter_value(store: Store, *, record_id: int, field_name: str, value: str | None, actor: str,
                page: int | None, arm: str | None = None, measure: str | None = None, timepoint: str | None = None,
                quote: str | None = None, how: str | None = None, new_arm: bool = False,
                not_reported: str | None = None, line: int | None = None,
                texts: Mapping[int, str] | None = None) -> Entered:
    """Store one value a reviewer read in the record's attached PDF (``prepare_entry`` checks it; nothing is
    stored when it does not check out)."""
    fulltext = _fulltext_of(store, record_id)
    entry = prepare_entry(fulltext, _held(store, record_id), field_name=field_name, value=value, page=page, arm=arm,
                          measure=measure, timepoint=timepoint, quote=quote, how=how, new_arm=new_arm,
                          not_reported=not_reported, line=line, texts=texts)
    [entered] = _store_all(store, [entry], actor)
    return entered


def _store_all(store: Store, entries: list[HandEntry], actor: str) -> list[Entered]:
    """Store checked entries in one transaction, each with the id it was stored as and the values it replaced."""
    stored = store.enter_extractions(entries, actor=actor)
    return [Entered(entry_id, entry, replaced) for entry, (entry_id, replaced) in zip(entries, stored, strict=True)]


def _fulltext_of(store: Store, record_id: int) -> FulltextRow:
    fulltext = _latest_fulltext(store, record_id)
    if fulltext is None:
        raise ProjectError(f"record {record_id} has no full text attached (metasift fulltext attach)")
    return fulltext


def prepare_entry(fulltext: FulltextRow, held: list[ExtractionRow], *, field_name: str, value: str | None,
                  page: int | None, arm: str | None = None, measure: str | None = None, timepoint: str | None = None,
                  quote: str | None = None, how: str | None = None, new_arm: bool = False,
                  not_reported: str | None = None, line: int | None = None,
                  texts: Mapping[int, str] | None = None) -> HandEntry:
    """A value a reviewer read in ``fulltext`` (whose study holds the values ``held``), checked and ready to store.
    The page must print it (the quote is that line, or the reviewer's quote, found on the page); a value the
    page's text does not print (in a figure without a text layer, or computed) is stored with ``how`` as its
    quote and reason. ``not_reported`` (why) stores instead that the paper reports no such value: no value, and
    the gap is closed. ``line`` (1-based) picks one of the lines ``AmbiguousEntry`` listed when the page prints
    the value on several; ``texts`` are the PDF's pages (``pipeline.page_texts``) when the caller has read them.
    ``EntryError`` says what is wrong with an entry."""
    record_id = fulltext.record_id
    if page is not None and fulltext.n_pages and not 1 <= page <= fulltext.n_pages:  # --how reads no page
        raise EntryError(f"page {page} is not in the PDF (pages 1-{fulltext.n_pages})")
    if not_reported is not None:
        if value is not None or quote or how:
            raise EntryError("--not-reported stores that the paper gives no value: give no VALUE, --quote or --how")
        check_field(field_name)
        if not not_reported.strip():
            raise EntryError("--not-reported needs why (e.g. \"losses are reported for the whole trial only\")")
        arm, measure, timepoint = _where(field_name, arm, measure, timepoint, held, new_arm)
        return HandEntry(record_id, fulltext.id, field_name, None, arm, measure, timepoint, page, "",
                         f"not reported: {not_reported.strip()}")
    if value is None:
        raise EntryError("give the VALUE, or --not-reported WHY when the paper gives none")
    number = parse_value(field_name, value)
    arm, measure, timepoint = _where(field_name, arm, measure, timepoint, held, new_arm)
    if how is not None:
        if quote:
            raise EntryError("give --quote (the page prints the value) or --how (it does not), not both")
        return HandEntry(record_id, fulltext.id, field_name, number, arm, measure, timepoint, page,
                         checked_formula(number, how), f"entered by hand, not printed in the page's text: {how.strip()}")
    if page is None:
        raise EntryError("give --page (the page that prints the value)")
    text = _quote(number, page, _page_text(fulltext, page, texts), quote, measure, line)
    return HandEntry(record_id, fulltext.id, field_name, number, arm, measure, timepoint, page, text,
                     "entered by hand")


ENTRY_COLUMNS = ("record", "field", "value", "arm", "measure", "timepoint", "page", "quote", "line", "how",
                 "not_reported", "new_arm", "row", "places")
_YES, _NO = frozenset({"yes", "y", "true", "1", "x"}), frozenset({"no", "n", "false", "0"})


def enter_file(store: Store, path: Path, *, actor: str) -> list[Entered]:
    """Store the values of a CSV a reviewer filled in (a header naming ``ENTRY_COLUMNS``: record and field always,
    one row per value, empty cells left out), each checked as ``prepare_entry`` checks one; all of them in one
    transaction, or none: the first row that does not check out is an ``EntryError`` naming FILE:LINE. A sheet row
    with ``row`` (words of a printed row of ``page``) and no value enters every arm's value from that row
    (``row_entries``; ``places`` says which of its numbers are whose)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise EntryError(f"{path}: cannot be read ({exc})") from None
    if not rows:
        raise EntryError(f"{path}:1: empty: the first line names the columns ({', '.join(ENTRY_COLUMNS)})")
    header = [h.strip().lower() for h in rows[0]]
    unknown = [h for h in header if h not in ENTRY_COLUMNS]
    if unknown or not {"record", "field"} <= set(header):
        raise EntryError(f"{path}:1: columns must be among {', '.join(ENTRY_COLUMNS)}, with record and field"
                         + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    entries, texts = [], {}
    studies: dict[int, tuple[FulltextRow, list[ExtractionRow]]] = {}  # read once per record, not per row
    for number, cells in enumerate(rows[1:], start=2):
        row = {h: c.strip() or None for h, c in zip(header, cells, strict=False)}
        if not any(row.values()):
            continue
        try:
            record_id, page, line = (_whole(row.get(k), k) for k in ("record", "page", "line"))
            if record_id is None or not row.get("field"):
                raise EntryError("record and field are needed")
            if record_id not in studies:
                studies[record_id] = (_fulltext_of(store, record_id), _held(store, record_id))
            fulltext, held = studies[record_id]
            if fulltext.id not in texts and page is not None and row.get("how") is None \
                    and row.get("not_reported") is None:
                texts[fulltext.id] = page_texts(read_pdf(fulltext.path))
            if row.get("row"):  # every arm's value from one printed row
                if row.get("value") is not None:
                    raise EntryError("a row gives every arm's value: leave value empty")
                entries += row_entries(fulltext, held, field_name=row["field"], page=page, words=row["row"],
                                       texts=texts.get(fulltext.id, {}), places=parse_places(row.get("places")),
                                       measure=row.get("measure"), timepoint=row.get("timepoint"))
                continue
            entries.append(prepare_entry(
                fulltext, held, field_name=row["field"], value=row.get("value"), page=page,
                arm=row.get("arm"), measure=row.get("measure"), timepoint=row.get("timepoint"), quote=row.get("quote"),
                how=row.get("how"), not_reported=row.get("not_reported"), line=line, texts=texts.get(fulltext.id),
                new_arm=_yes(row.get("new_arm"))))
        except (EntryError, ProjectError, PdfError) as exc:
            raise EntryError(f"{path}:{number}: {exc}") from None
    return _store_all(store, entries, actor)


def _yes(text: str | None) -> bool:
    """A yes/no cell (new_arm): empty is no."""
    if text is None or text.lower() in _NO:
        return False
    if text.lower() in _YES:
        return True
    raise EntryError(f"new_arm {text!r} is not yes or no")


def _whole(text: str | None, column: str) -> int | None:
    if text is None:
        return None
    if not text.isdigit():
        raise EntryError(f"{column} {text!r} is not a whole number")
    return int(text)


@dataclass
class Edit:
    """A reviewer's correction of an extracted value, with the quote and page that print the new value."""

    value: int | float
    quote: str
    page: int | None
    reason: str


def edited_value(store: Store, row: ExtractionRow, text: str, page: int | None, *, quote: str | None = None,
                 line: int | None = None, how: str | None = None, texts: Mapping[int, str] | None = None) -> Edit:
    """The corrected value ``text`` of ``row`` read from ``page``, with its provenance: the row's quote when it
    prints the new value on the same page, else the page's line that prints it (``AmbiguousEntry`` when several
    do), else ``how`` (a figure, a formula) for a value its text does not print; an ``EntryError`` otherwise, so
    no edit leaves a quote that does not print its value."""
    number = parse_value(row.field, text)
    if how is not None:
        return Edit(number, checked_formula(number, how), page,
                    f"edited by hand, not printed in the page's text: {how.strip()}")
    if quote is None and line is None and page == row.page and row.quote and quote_has_number(row.quote, number):
        return Edit(number, row.quote, page, "edited by a human")
    fulltext = next((f for f in store.fulltexts() if f.id == row.fulltext_id), None)
    if fulltext is None or page is None:
        raise EntryError(f"no page to check {number:g} against: say where it is or how it was computed")
    return Edit(number, _quote(number, page, _page_text(fulltext, page, texts), quote, row.measure, line), page,
                "edited by a human")


def _quote(value: int | float, page: int, text: str, quote: str | None, measure: str | None,
           line: int | None) -> str:
    """``entry_quote``, with ``line`` choosing among the lines it lists when the value is printed on several."""
    if line is None or quote:
        return entry_quote(value, page, text, quote, measure)
    try:
        return entry_quote(value, page, text, None, measure)
    except AmbiguousEntry as exc:
        if not 1 <= line <= len(exc.lines):
            raise EntryError(f"--line {line}: page {page} prints {value:g} on lines 1-{len(exc.lines)}") from None
        return exc.lines[line - 1]


def _page_text(fulltext: FulltextRow, page: int, texts: Mapping[int, str] | None = None) -> str:
    try:
        pages = texts or page_texts(read_pdf(fulltext.path))
    except PdfError as exc:
        raise EntryError(f"{exc}: the page cannot be checked; give --how with where the value is") from None
    if page not in pages:
        raise EntryError(f"page {page} is not in the PDF (pages 1-{max(pages, default=0)})")
    return pages[page]


def enter_row(store: Store, *, record_id: int, field_name: str, page: int, words: str, actor: str,
              places: Sequence[int] = (), measure: str | None = None, timepoint: str | None = None,
              texts: Mapping[int, str] | None = None) -> list[Entered]:
    """Store each arm's value one printed row gives (``row_entries``), all of them in one transaction, or none."""
    fulltext = _fulltext_of(store, record_id)
    entries = row_entries(fulltext, _held(store, record_id), field_name=field_name, page=page, words=words,
                          places=places, measure=measure, timepoint=timepoint,
                          texts=texts or page_texts(read_pdf(fulltext.path)))
    return _store_all(store, entries, actor)


def row_entries(fulltext: FulltextRow, held: list[ExtractionRow], *, field_name: str, page: int | None, words: str,
                texts: Mapping[int, str], places: Sequence[int] = (), measure: str | None = None,
                timepoint: str | None = None) -> list[HandEntry]:
    """Each arm's value one printed row gives (``gaps.row_values``), checked as ``prepare_entry`` checks one, with
    the row as its quote: the first line of ``page`` holding ``words`` (a row's label, a number it prints),
    ``places`` its numbers' places, arm by arm in the study's order (default: those ``row_picks`` proposes)."""
    arms = arm_names(held)
    if len(arms) < 2:
        raise EntryError(f"record {fulltext.record_id}: the study's arms are not named yet: enter its first values "
                         "one by one")
    if page is None or page not in texts:
        raise EntryError(f"a row is read from a page of the PDF: page {page} is not one")
    found = find_line({page: texts[page]}, words)
    if found is None:
        raise EntryError(f"no line of page {page} holds {words!r}")
    line = found[1]
    places = list(places) or row_picks(line, field_name, arms, lines_above(texts[page], line))
    if not places:
        raise EntryError(f"the line {line[:60]!r} does not print one value per arm ({', '.join(arms)}): give their "
                         f"places (its numbers: {numbered(line)})")
    return [prepare_entry(fulltext, held, field_name=v.field, value=str(v.value), page=page, arm=v.arm,
                          measure=measure, timepoint=timepoint, quote=line, texts=texts)
            for v in row_values(line, field_name, arms, places)]
