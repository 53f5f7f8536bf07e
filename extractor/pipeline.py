"""Full texts in a project: attach PDFs to records, extract values into the store, read them back.

I/O edge of the extractor: pure parts live in ``pdf``, ``rules``, ``checks`` and ``eligibility``.
One bad PDF never stops a batch: it is marked (no_text / encrypted / broken) for a human.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from extractor.checks import check_extraction
from extractor.crosscheck import CrossCheck, store_rows
from extractor.pdf import PdfDocument, PdfError, read_pdf
from extractor.rules import extract
from extractor.schema import ExtractionResult
from metasift.store import Store

DOI_RE = re.compile(r"10\.\d{4,9}/[^\s\"<>]+", re.I)
TITLE_MATCH_MIN = 90.0


@dataclass
class AttachReport:
    attached: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    unreadable: list[dict[str, Any]] = field(default_factory=list)
    already: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dois(doc: PdfDocument) -> set[str]:
    text = " ".join([*doc.metadata.values(), *(p.text for p in doc.pages[:2])])
    return {m.group(0).rstrip(".,;)]").lower() for m in DOI_RE.finditer(text)}


def match_record(doc: PdfDocument, records: list[dict[str, Any]]) -> tuple[int, str, float] | None:
    """The record a PDF reports: by DOI in its text or metadata, else by fuzzy title on page 1."""
    dois = _dois(doc)
    for rec in records:
        if rec.get("doi") and rec["doi"].lower() in dois:
            return rec["id"], "doi", 100.0
    first = re.sub(r"\s+", " ", (doc.metadata.get("Title", "") + " " + doc.pages[0].text[:1500]).lower())
    best: tuple[int, str, float] | None = None
    for rec in records:
        title = (rec.get("title") or "").lower()
        if len(title) < 20:
            continue
        score = fuzz.partial_ratio(title, first)
        if score >= TITLE_MATCH_MIN and (best is None or score > best[2]):
            best = (rec["id"], "title", float(score))
    return best


def attach_directory(store: Store, directory: Path, record_ids: Iterable[int]) -> AttachReport:
    """Match every PDF in ``directory`` to one of ``record_ids`` and store the link."""
    wanted = set(record_ids)
    records = [r for r in store.records_table(primary_only=True) if r["id"] in wanted]
    known = {(f["record_id"], f["sha256"]) for f in store.fulltexts()}
    report = AttachReport()
    for pdf in sorted(directory.glob("*.pdf")):
        sha = _sha256(pdf)
        try:
            doc = read_pdf(pdf)
        except PdfError as exc:
            report.unreadable.append({"path": str(pdf), "status": exc.status, "message": str(exc)})
            continue
        match = match_record(doc, records)
        if match is None:
            report.unmatched.append(str(pdf))
            continue
        record_id, how, score = match
        if (record_id, sha) in known:
            report.already.append(str(pdf))
            continue
        fid = store.add_fulltext(record_id=record_id, path=pdf.resolve(), sha256=sha, n_pages=len(doc.pages),
                                 status="ok", message=None, matched_by=how)
        report.attached.append({"fulltext_id": fid, "record_id": record_id, "path": str(pdf), "matched_by": how,
                                "score": score})
    return report


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
                     "status": check.status if check else "auto_verified",
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


def open_fulltext(store: Store, fulltext: dict[str, Any]) -> tuple[PdfDocument | None, dict[str, Any] | None]:
    """The attached PDF, or None and the summary saying why not (the full text is marked for a human)."""
    try:
        return read_pdf(fulltext["path"]), None
    except PdfError as exc:
        store.set_fulltext_status(fulltext["id"], exc.status, str(exc))
        return None, {"fulltext_id": fulltext["id"], "status": exc.status, "message": str(exc), "values": 0}


def page_texts(doc: PdfDocument) -> dict[int, str]:
    """Each page's text as the checks search it: reading order plus the full-width lines."""
    return {p.number: p.text + "\n" + p.lines for p in doc.pages}


def extract_fulltext(store: Store, fulltext: dict[str, Any]) -> dict[str, Any]:
    """Extract one attached PDF into the store (rule extractor); a bad PDF is marked, not raised."""
    doc, failed = open_fulltext(store, fulltext)
    if doc is None:
        return failed or {}
    result = extract(doc)
    pages = page_texts(doc)
    rows = result_rows(result, pages)
    n = store.replace_extractions(fulltext["id"], fulltext["record_id"], rows, source="rule",
                                  extractor="metasift-rules")
    return {"fulltext_id": fulltext["id"], "status": "ok", "values": n,
            "needs_human": sum(r["status"] == "needs_human" for r in rows), "warnings": result.warnings}


def store_crosscheck(store: Store, fulltext: dict[str, Any], check: CrossCheck, *, model: str,
                     prompt_hash: str) -> dict[str, Any]:
    """Store a rule+model extraction: rule rows and model rows (with the prompt hash), each with its merged
    status; a model that failed leaves rule rows only (and an event saying why)."""
    rows = store_rows(check)
    n = store.replace_extractions(fulltext["id"], fulltext["record_id"], rows["rule"], source="rule",
                                  extractor="metasift-rules")
    n += store.replace_extractions(fulltext["id"], fulltext["record_id"], rows["model"], source="model",
                                   extractor=model, prompt_hash=prompt_hash)
    if check.model_error:
        with store.write() as conn:
            store.log_event(conn, "model_error", actor_kind="model", actor=model, entity="fulltext",
                            entity_id=fulltext["id"], payload={"error": check.model_error})
    counts = check.counts()
    return {"fulltext_id": fulltext["id"], "status": "ok", "values": n, "needs_human": counts["needs_human"],
            "warnings": check.result.warnings,
            "model": {"error": check.model_error, **{k: counts[k] for k in
                                                     ("agree", "disagree", "rule_only", "model_only")}}}


def study_result(rows: list[dict[str, Any]]) -> ExtractionResult:
    """Rebuild an ``ExtractionResult`` from a record's stored rows (latest value wins)."""
    from extractor.schema import Arm, Baseline, Outcome

    result = ExtractionResult()
    arms: dict[str, Arm] = {}
    outcomes: dict[tuple[str, str, str], Outcome] = {}
    baselines: dict[tuple[str, str], Baseline] = {}
    for row in rows:
        f, value = row["field"], row["value"]
        if f == "n_total":
            result.n_total = int(value)
            continue
        arm = arms.setdefault(row["arm"], Arm(name=row["arm"]))
        if f in ("n_randomised", "n_analysed", "n_dropout"):
            setattr(arm, f, int(value))
        elif f.startswith("baseline_"):
            b = baselines.get((row["arm"], row["measure"]))
            if b is None:
                b = baselines[(row["arm"], row["measure"])] = Baseline(measure=row["measure"])
                arm.baselines.append(b)
                if arm.baseline.measure is None:
                    arm.baseline = b
            setattr(b, f.removeprefix("baseline_"), int(value) if f == "baseline_n" else float(value))
        elif f.startswith("outcome_"):
            key = (row["arm"], row["measure"], row["timepoint"])
            o = outcomes.setdefault(key, Outcome(arm=row["arm"], measure=row["measure"], timepoint=row["timepoint"]))
            setattr(o, f.removeprefix("outcome_"), int(value) if f == "outcome_n" else float(value))
    result.arms = list(arms.values())
    result.outcomes = list(outcomes.values())
    return result
