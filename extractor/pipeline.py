"""Full texts in a project: attach PDFs to records, extract values into the store, read them back.

I/O edge of the extractor: pure parts live in ``pdf``, ``rules``, ``checks`` and ``eligibility``.
One bad PDF never stops a batch: it is marked (no_text / encrypted / broken) for a human, and an entry
that is no PDF file at all (a directory, a FIFO, a dangling symlink named ``*.pdf``) is reported and
skipped. Attached PDFs are copied into the project (``fulltext/``, named by content hash) and stored by
project-relative path, so the project folder can move; rows of older projects that hold absolute paths
are still read, and copied in on the next attach.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz

from metasift.config import OutcomeSpec
from metasift.errors import ProjectError
from metasift.extractor.checks import check_extraction
from metasift.extractor.crosscheck import CrossCheck, store_rows
from metasift.extractor.pdf import PdfDocument, PdfError, check_regular_file, read_pdf, read_regular
from metasift.extractor.rules import extract
from metasift.extractor.schema import ExtractionResult
from metasift.kinds import ExtractionStatus
from metasift.store import Store
from metasift.store.rows import ExtractionRow, FulltextRow, RecordRow

if TYPE_CHECKING:
    from metasift.extractor.llm_extract import ModelRun
    from metasift.llm import LLMSettings

DOI_RE = re.compile(r"10\.\d{4,9}/[^\s\"<>]+", re.IGNORECASE)
TITLE_MATCH_MIN = 90.0


FULLTEXT_DIR = "fulltext"  # the project's copies of attached PDFs, named by content hash
_STEM_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class AttachReport:
    """What one ``fulltext attach`` did with each file it looked at (one line each for the user)."""

    attached: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    unreadable: list[dict[str, Any]] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # not a PDF file at all: {"path", "why"}
    copied_in: list[dict[str, Any]] = field(default_factory=list)  # earlier absolute-path rows now in the project
    outside: list[dict[str, Any]] = field(default_factory=list)  # earlier rows whose file cannot be copied in


def pdf_entries(directory: Path) -> tuple[list[Path], list[dict[str, str]]]:
    """The regular files in ``directory`` whose name ends in .pdf (any case), sorted; and every other
    entry named like a PDF with why it is skipped. Nothing is opened here, so a FIFO cannot block."""
    files: list[Path] = []
    skipped: list[dict[str, str]] = []
    for path in sorted(directory.iterdir(), key=lambda p: p.name):
        if not path.name.lower().endswith(".pdf"):
            continue
        try:
            check_regular_file(path)
        except PdfError as exc:
            skipped.append({"path": str(path), "why": exc.what})
            continue
        files.append(path)
    return files, skipped


def stored_name(sha: str, source: Path) -> str:
    """Project-relative path of a full text's copy: ``fulltext/ab/<sha256>-<stem>.pdf``. The content hash
    makes it unique and lets a second attach of the same bytes reuse it; the source's stem (made safe,
    shortened) keeps the folder readable for people."""
    stem = _STEM_UNSAFE.sub("_", source.stem).strip("._")[:60]
    name = f"{sha}-{stem}.pdf" if stem else f"{sha}.pdf"
    return f"{FULLTEXT_DIR}/{sha[:2]}/{name}"


def copy_in(root: Path, relative: str, data: bytes) -> None:
    """Write ``data`` to ``root / relative`` unless an equal copy is there (write to a temporary name, then
    rename: a crash never leaves a half-written PDF under a content-hash name)."""
    target = root / relative
    if target.is_file() and target.stat().st_size == len(data):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def _project_root(store: Store) -> Path:
    if store.project is None:
        raise ProjectError("full texts are copied into the project folder: open the store with Store.open(DIR)")
    return Path(store.project).absolute()


def _dois(doc: PdfDocument) -> set[str]:
    text = " ".join([*doc.metadata.values(), *(p.text for p in doc.pages[:2])])
    return {m.group(0).rstrip(".,;)]").lower() for m in DOI_RE.finditer(text)}


def match_record(doc: PdfDocument, records: list[RecordRow]) -> tuple[int, str, float] | None:
    """The record a PDF reports: by DOI in its text or metadata, else by fuzzy title on page 1."""
    dois = _dois(doc)
    for rec in records:
        if rec.doi and rec.doi.lower() in dois:
            return rec.id, "doi", 100.0
    first = re.sub(r"\s+", " ", (doc.metadata.get("Title", "") + " " + doc.pages[0].text[:1500]).lower())
    best: tuple[int, str, float] | None = None
    for rec in records:
        title = (rec.title or "").lower()
        if len(title) < 20:
            continue
        score = fuzz.partial_ratio(title, first)
        if score >= TITLE_MATCH_MIN and (best is None or score > best[2]):
            best = (rec.id, "title", float(score))
    return best


def attach_paths(store: Store, target: Path, record_ids: Iterable[int], *, record_id: int | None = None
                 ) -> AttachReport:
    """Attach ``target`` (a folder of PDFs, or one PDF) to the records it reports, copying each into the
    project by content hash. ``record_id`` attaches one file to that record without matching (and keeps
    an unreadable one there, marked for a human). In a folder, odd entries are reported and skipped,
    never fatal; a single file that is no regular file is the run's ``PdfError``. Earlier full texts
    stored by absolute path are copied in on the way."""
    root = _project_root(store)
    if record_id is not None and store.record(record_id) is None:
        raise ProjectError(f"--record {record_id}: no record with that id (see `metasift export`)")
    single = not target.is_dir()
    if record_id is not None and not single:
        raise ProjectError(f"{target}: --record attaches one PDF file, not a folder")
    if single:
        check_regular_file(target)
    report = AttachReport()
    _copy_in_earlier(store, root, report)
    files, report.skipped = ([target], []) if single else pdf_entries(target)
    wanted = set(record_ids)
    records = [r for r in store.records_table(primary_only=True) if r.id in wanted]
    for pdf in files:
        try:
            _attach_one(store, root, pdf, records, report, record_id=record_id)
        except PdfError as exc:  # replaced by a FIFO or removed since it was listed
            if single:
                raise
            report.skipped.append({"path": str(pdf), "why": exc.what})
    return report


def attach_directory(store: Store, directory: Path, record_ids: Iterable[int]) -> AttachReport:
    """Match every PDF in ``directory`` to one of ``record_ids`` and store the link (see ``attach_paths``)."""
    return attach_paths(store, directory, record_ids)


def _attach_one(store: Store, root: Path, pdf: Path, records: list[RecordRow], report: AttachReport, *,
                record_id: int | None) -> None:
    """Hash, read, match, copy in and store one PDF; the outcome lands in ``report``."""
    data = read_regular(pdf)
    sha = hashlib.sha256(data).hexdigest()
    stored = {f.sha256: f for f in store.fulltexts()}
    earlier = stored.get(sha)
    if earlier is not None and (record_id is None or record_id == earlier.record_id):
        report.already.append(str(pdf))  # the same bytes are attached already: nothing to do
        return
    doc: PdfDocument | None = None
    failure: PdfError | None = None
    try:
        doc = read_pdf(pdf)
    except PdfError as exc:
        failure = exc
    if record_id is None:
        if failure is not None:
            report.unreadable.append({"path": str(pdf), "status": failure.status, "message": str(failure)})
            return
        match = match_record(doc, records) if doc is not None else None
        if match is None:
            report.unmatched.append(str(pdf))
            return
        record_id, how, score = match
    else:
        how, score = "manual", 100.0
    relative = earlier.stored_path if earlier and not Path(earlier.stored_path).is_absolute() \
        else stored_name(sha, pdf)
    copy_in(root, relative, data)
    fid = store.add_fulltext(record_id=record_id, path=relative, sha256=sha,
                             n_pages=len(doc.pages) if doc else None, status=failure.status if failure else "ok",
                             message=str(failure) if failure else None, matched_by=how, source=str(pdf))
    report.attached.append({"fulltext_id": fid, "record_id": record_id, "path": str(pdf), "stored": relative,
                            "sha256": sha, "matched_by": how, "score": score,
                            "status": failure.status if failure else "ok"})


def _copy_in_earlier(store: Store, root: Path, report: AttachReport) -> None:
    """Copy full texts that earlier versions stored by absolute path into the project, so moving the
    project folder no longer breaks them; a file that is gone or changed is reported and left as it is."""
    for f in store.fulltexts():
        if not Path(f.stored_path).is_absolute():
            continue
        source = Path(f.stored_path)
        try:
            data = read_regular(source)
        except PdfError as exc:
            report.outside.append({"fulltext_id": f.id, "path": str(source), "why": exc.what})
            continue
        if hashlib.sha256(data).hexdigest() != f.sha256:
            report.outside.append({"fulltext_id": f.id, "path": str(source),
                                   "why": "changed since it was attached (its sha256 differs)"})
            continue
        relative = stored_name(f.sha256, source)
        copy_in(root, relative, data)
        store.move_fulltext(f.id, relative, source=str(source))
        report.copied_in.append({"fulltext_id": f.id, "path": str(source), "stored": relative})


def result_rows(result: ExtractionResult, pages: dict[int, str]) -> list[dict[str, Any]]:
    """Flatten an extraction into store rows (one per value) with each value's check status."""
    checks = {c.field: c for c in check_extraction(result, pages)}
    rows: list[dict[str, Any]] = []

    def add(path: str, field_name: str, value: Any, *, arm: str | None = None, measure: str | None = None,
            timepoint: str | None = None) -> None:
        if value is None:
            return
        check = checks.get(path)
        rows.append({"field": field_name, "arm": arm, "measure": measure, "timepoint": timepoint, "value": value,
                     "page": check.page if check else None, "quote": check.quote if check else "",
                     "status": check.status if check else ExtractionStatus.AUTO_VERIFIED,
                     "reason": "; ".join(check.reasons) if check and check.reasons else
                     (None if check else "computed from other values")})

    add("n_total", "n_total", result.n_total)
    for i, arm in enumerate(result.arms):
        for name in ("n_randomised", "n_analysed", "n_dropout"):
            add(f"arms[{i}].{name}", name, getattr(arm, name), arm=arm.name)
        for j, b in enumerate(arm.baselines):
            add(f"arms[{i}].baselines[{j}].mean", "baseline_mean", b.mean, arm=arm.name, measure=b.measure,
                timepoint="baseline")
            add(f"arms[{i}].baselines[{j}].sd", "baseline_sd", b.sd, arm=arm.name, measure=b.measure,
                timepoint="baseline")
            add(f"arms[{i}].baselines[{j}].n", "baseline_n", b.n, arm=arm.name, measure=b.measure,
                timepoint="baseline")
    for k, o in enumerate(result.outcomes):
        for name in ("mean", "sd", "n"):
            add(f"outcomes[{k}].{name}", f"outcome_{name}", getattr(o, name), arm=o.arm, measure=o.measure,
                timepoint=o.timepoint)
    return rows


def open_fulltext(store: Store, fulltext: FulltextRow) -> tuple[PdfDocument | None, dict[str, Any] | None]:
    """The attached PDF, or None and the summary saying why not. A PDF that cannot be read is marked for a
    human; a file that is missing (or no regular file) is not marked, since it may come back."""
    try:
        return read_pdf(fulltext.path), None  # Store.fulltexts() gives the path inside the project
    except PdfError as exc:
        if exc.status != "not_a_file":
            store.set_fulltext_status(fulltext.id, exc.status, str(exc))
        return None, {"fulltext_id": fulltext.id, "status": exc.status, "message": str(exc), "values": 0}


def page_texts(doc: PdfDocument) -> dict[int, str]:
    """Each page's text as the checks search it: reading order plus the full-width lines."""
    return {p.number: p.text + "\n" + p.lines for p in doc.pages}


def extract_fulltext(store: Store, fulltext: FulltextRow, outcomes: Sequence[OutcomeSpec] = ()
                     ) -> dict[str, Any]:
    """Extract one attached PDF into the store (rule extractor), each arm's baseline that of ``outcomes``;
    a bad PDF is marked, not raised."""
    doc, failed = open_fulltext(store, fulltext)
    if doc is None:
        return failed or {}
    result = extract(doc, outcomes)
    pages = page_texts(doc)
    rows = result_rows(result, pages)
    n = store.replace_extractions(fulltext.id, fulltext.record_id, rows, source="rule",
                                  extractor="metasift-rules")
    return {"fulltext_id": fulltext.id, "status": "ok", "values": n,
            "needs_human": sum(r["status"] == ExtractionStatus.NEEDS_HUMAN for r in rows),
            "warnings": result.warnings}


def ready_fulltexts(store: Store) -> list[FulltextRow]:
    """The attached full texts that can be extracted: those whose PDF was read (status ``ok``)."""
    return [f for f in store.fulltexts() if f.status in ("ok",)]


def extract_project(store: Store, fulltexts: list[FulltextRow] | None = None,
                    settings: LLMSettings | None = None, *, outcomes: Sequence[OutcomeSpec] = (),
                    on_progress: Callable[[int, int], None] | None = None) -> tuple[list[dict[str, Any]], ModelRun | None]:
    """``metasift extract``: every ready full text (or ``fulltexts``) into the store, one summary each.

    With ``settings`` the model reads them too and its values are cross-checked with the rule extractor's
    (``llm_extract.extract_project_llm``; its ``ModelRun`` is returned, else None); without, the rule
    extractor alone. ``outcomes`` (the protocol's ``[[outcomes]]``) pick each arm's baseline and steer the
    model. ``on_progress(done, total)`` follows the papers.
    """
    texts = ready_fulltexts(store) if fulltexts is None else fulltexts
    if settings is not None:
        from metasift.extractor.llm_extract import extract_project_llm  # imports this module: loaded on use

        return extract_project_llm(store, texts, settings, outcomes=outcomes, on_progress=on_progress)
    summaries = []
    for done, ft in enumerate(texts, start=1):
        summaries.append(extract_fulltext(store, ft, outcomes))
        if on_progress is not None:
            on_progress(done, len(texts))
    return summaries, None


def store_crosscheck(store: Store, fulltext: FulltextRow, check: CrossCheck, *, model: str,
                     prompt_hash: str) -> dict[str, Any]:
    """Store a rule+model extraction: rule rows and model rows (with the prompt hash), each with its merged
    status; a model that failed leaves rule rows only (and an event saying why)."""
    rows = store_rows(check)
    n = store.replace_extractions(fulltext.id, fulltext.record_id, rows["rule"], source="rule",
                                  extractor="metasift-rules")
    n += store.replace_extractions(fulltext.id, fulltext.record_id, rows["model"], source="model",
                                   extractor=model, prompt_hash=prompt_hash)
    if check.model_error:
        with store.write() as conn:
            store.log_event(conn, "model_error", actor_kind="model", actor=model, entity="fulltext",
                            entity_id=fulltext.id, payload={"error": check.model_error})
    counts = check.counts()
    return {"fulltext_id": fulltext.id, "status": "ok", "values": n, "needs_human": counts["needs_human"],
            "warnings": check.result.warnings,
            "model": {"error": check.model_error, **{k: counts[k] for k in
                                                     ("agree", "disagree", "rule_only", "model_only")}}}


def study_result(rows: Sequence[ExtractionRow]) -> ExtractionResult:
    """Rebuild an ``ExtractionResult`` from a record's stored rows (latest value wins)."""
    from metasift.extractor.schema import Arm, Baseline, Outcome

    result = ExtractionResult()
    arms: dict[str, Arm] = {}
    outcomes: dict[tuple[str, str, str], Outcome] = {}
    baselines: dict[tuple[str, str], Baseline] = {}
    for row in rows:
        f, value = row.field, row.value
        if value is None:  # a reviewer's word that the paper reports no such value (``by_hand``)
            continue
        if f == "n_total":
            result.n_total = int(value)
            continue
        arm = arms.setdefault(row.arm, Arm(name=row.arm))
        if f in ("n_randomised", "n_analysed", "n_dropout"):
            setattr(arm, f, int(value))
        elif f.startswith("baseline_"):
            b = baselines.get((row.arm, row.measure))
            if b is None:
                b = baselines[(row.arm, row.measure)] = Baseline(measure=row.measure)
                arm.baselines.append(b)
            setattr(b, f.removeprefix("baseline_"), int(value) if f == "baseline_n" else float(value))
        elif f.startswith("outcome_"):
            key = (row.arm, row.measure, row.timepoint)
            o = outcomes.setdefault(key, Outcome(arm=row.arm, measure=row.measure, timepoint=row.timepoint))
            setattr(o, f.removeprefix("outcome_"), int(value) if f == "outcome_n" else float(value))
    result.arms = list(arms.values())
    result.outcomes = list(outcomes.values())
    return result
