"""The offline rule extractor: CONSORT-flow numbers, total N, and baseline/outcome tables.

Works on ``PdfDocument`` pages: prose patterns run on the reading-order text, tables on physical
lines (wide rows stay whole). Table cells in the usual layouts are understood: ``M (SD)``,
``M ± SD`` and separate Mean / SD columns. Every value found carries its page and the line it came
from as evidence; nothing is guessed — a value not found stays ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractor.pdf import PdfDocument
from extractor.schema import Arm, Baseline, Evidence, ExtractionResult, Outcome

NUM = r"-?\d+(?:\.\d+)?"
_PEOPLE = (r"(?:participants|patients|subjects|people|persons|individuals|students|adults|adolescents|women|men|"
           r"mothers|parents|employees|caregivers|children|respondents|users|volunteers)")
_TOTAL_PATTERNS = [
    re.compile(rf"(?:of the|a total of|in total,?|overall,?|altogether,?)\s+(\d{{2,5}})\s+(?:\w+\s+){{0,3}}{_PEOPLE}"
               r"\s+(?:who\s+were\s+|were\s+)?(?:randomly\s+assigned|randomi[sz]ed|allocated)", re.I),
    re.compile(rf"(\d{{2,5}})\s+(?:\w+\s+){{0,3}}{_PEOPLE}\s+(?:were\s+)?(?:randomly\s+assigned|randomi[sz]ed)", re.I),
    re.compile(r"n\s*=\s*(\d{2,5})\)?\s+(?:\w+\s+){0,3}(?:were\s+)?(?:randomly\s+assigned|randomi[sz]ed)", re.I),
    re.compile(r"\brandomi[sz]ed\s*\(\s*n\s*=\s*(\d{2,5})\s*\)", re.I),
]
_ALLOC_PAIR = re.compile(
    r"(\d{1,5})\s+(?:were\s+)?(?:allocated|assigned|randomi[sz]ed)\s+to\s+(?:the\s+)?([A-Za-z][\w\- ]{1,40}?)\s+"
    r"(?:group|arm|condition)\s+and\s+(\d{1,5})\s+to\s+(?:the\s+)?([A-Za-z][\w\- ]{1,40}?)\s+(?:group|arm|condition)",
    re.I)
_PER_GROUP_FLOW = re.compile(
    r"in\s+the\s+([A-Za-z][\w\- ]{1,40}?)\s+(?:group|arm|condition),?\s+(\d{1,5})\s+(?:participants\s+)?were\s+"
    r"(?:lost\s+to\s+follow[- ]?up|discontinued|withdr[ae]wn?|dropped\s+out)[^.;]*?(?:and|,)\s+(\d{1,5})\s+"
    r"were\s+analy[sz]ed", re.I)
_BOX_ALLOC = re.compile(r"allocated\s+to\s+([A-Za-z][\w\- ]{0,40}?)\s*\(\s*n\s*=\s*(\d{1,5})\s*\)", re.I)
_BOX_LOST = re.compile(r"(?:lost\s+to\s+follow[- ]?up|discontinued(?:\s+intervention)?)[^()\n]{0,40}\(\s*n\s*=\s*"
                       r"(\d{1,5})\s*\)", re.I)
_BOX_ANALYSED = re.compile(r"analy[sz]ed\s*\(\s*n\s*=\s*(\d{1,5})\s*\)", re.I)
_ARM_HEADER = re.compile(r"([A-Za-z][\w\-/+]*(?:\s+[A-Za-z][\w\-/+]*){0,2})?\s*\(\s*n\s*=\s*(\d{1,5})\s*\)", re.I)
_HEADER_STOP = {"measure", "measures", "characteristic", "characteristics", "variable", "variables", "outcome",
                "outcomes", "scale", "item", "items", "m", "sd", "mean", "se", "±"}
_TOTAL_COLUMN = {"all", "total", "overall", "whole", "sample"}
_CELL_PAREN = re.compile(rf"({NUM})\s*\(\s*({NUM})\s*\)")
_CELL_PM = re.compile(rf"({NUM})\s*±\s*({NUM})")
_TRAILING_NUMS = re.compile(rf"((?:\s+{NUM})+)\s*$")
_TIMEPOINT = re.compile(r"(post[- ]?(?:intervention|treatment|test)|\d+\s*(?:-\s*)?(?:weeks?|months?|days?)|"
                        r"follow[- ]?up|end of (?:treatment|intervention))", re.I)


def _norm(text: str) -> str:
    """Unicode minus/dashes to '-', collapse spaces: numbers then parse with plain regexes."""
    return re.sub(r"[ \t]+", " ", text.replace("\u2212", "-").replace("\u2013", "–"))


def _num(text: str) -> float:
    return float(text)


@dataclass
class _Table:
    page: int
    caption: str
    kind: str  # baseline | outcome
    timepoint: str
    arms: list[tuple[str, int, str]]  # (name, n, header line)
    rows: list[tuple[str, list[tuple[float, float]], str]]  # (label, [(mean, sd) per arm], line)
    declared_mean_sd: bool


def _clean_arm_name(name: str | None) -> str:
    words = [w for w in (name or "").split() if w.lower() not in _HEADER_STOP]
    return " ".join(words).strip(" ,;:")


def _header_arms(line: str, previous: str) -> list[tuple[str, int]]:
    found = [(_clean_arm_name(m.group(1)), int(m.group(2))) for m in _ARM_HEADER.finditer(line)]
    if len(found) >= 2 and sum(1 for name, _ in found if name) <= 1:
        # names on the line above: "All Empagliflozin Placebo" / "Characteristic (n=105) (n=52) (n=53)"
        names = [w for w in previous.split() if w.lower() not in _HEADER_STOP]
        if len(names) >= len(found):
            found = [(nm, n) for nm, (_, n) in zip(names[-len(found):], found)]
    return found


def _row_cells(line: str, n_arms: int, separate: bool) -> tuple[str, list[tuple[float, float]]] | None:
    for pattern in (_CELL_PM, _CELL_PAREN):
        cells = list(pattern.finditer(line))
        if len(cells) >= n_arms:
            label = line[:cells[0].start()].strip(" :")
            return label, [(_num(c.group(1)), _num(c.group(2))) for c in cells]
    if separate:
        tail = _TRAILING_NUMS.search(line)
        if tail:
            nums = [float(x) for x in tail.group(1).split()]
            if len(nums) >= 2 * n_arms and len(nums) % 2 == 0:
                label = line[:tail.start()].strip(" :")
                return label, [(nums[i], nums[i + 1]) for i in range(0, len(nums), 2)]
    return None


def _caption_kind(caption: str) -> tuple[str, str]:
    low = caption.lower()
    if "baseline" in low or "characteristic" in low or "demographic" in low:
        return "baseline", "baseline"
    match = _TIMEPOINT.search(caption)
    timepoint = re.sub(r"\s+", " ", match.group(1).lower()) if match else "post"
    if timepoint.startswith("post") or timepoint.startswith("end of"):
        timepoint = "post"
    return "outcome", timepoint


def find_tables(doc: PdfDocument) -> list[_Table]:
    """Tables with per-arm columns: a caption, a header naming arms with (n = X), then rows of cells."""
    tables: list[_Table] = []
    for page in doc.pages:
        lines = [_norm(x) for x in page.lines.split("\n")]
        i = 0
        while i < len(lines):
            if not re.match(r"^\s*table\s+\d+", lines[i], re.I):
                i += 1
                continue
            caption = lines[i] + (" " + lines[i + 1] if i + 1 < len(lines) and "(n" not in lines[i + 1].lower()
                                  else "")
            kind, timepoint = _caption_kind(caption)
            j, arms, header_line = i + 1, [], ""
            while j < min(i + 6, len(lines)) and not arms:
                found = _header_arms(lines[j], lines[j - 1])
                if len(found) >= 2:
                    arms, header_line = found, lines[j]
                j += 1
            if not arms:
                i += 1
                continue
            if arms[0][0].lower() in _TOTAL_COLUMN or (
                    len(arms) >= 3 and arms[0][1] == sum(n for _, n in arms[1:])):
                arms = arms[1:]
            separate = j < len(lines) and re.match(r"^\s*(?:mean\s+sd\s*)+$", lines[j], re.I) is not None
            declared = bool(re.search(r"\bM\s*\(SD\)|mean\s*\(SD\)|M\s*±\s*SD|mean\s*±\s*SD", header_line, re.I)
                            or separate)
            rows = []
            k = j + (1 if separate else 0)
            while k < len(lines) and not re.match(r"^\s*table\s+\d+", lines[k], re.I):
                parsed = _row_cells(lines[k], len(arms), separate)
                if parsed and parsed[0]:
                    rows.append((parsed[0], parsed[1][-len(arms):], lines[k]))
                elif rows and not parsed and not re.search(r"\d", lines[k]) and len(lines[k]) > 60:
                    break  # prose after the table
                k += 1
            tables.append(_Table(page.number, caption.strip(), kind, timepoint,
                                 [(name or f"arm {n + 1}", size, header_line) for n, (name, size) in enumerate(arms)],
                                 rows, declared))
            i = k
    return tables


def _is_mean_sd_row(label: str, declared: bool) -> bool:
    low = label.lower()
    if "n (%)" in low or "%" in low or "median" in low or "iqr" in low or "no." in low:
        return False
    return declared or "mean" in low or "sd" in low


def _match_arm(name: str, arms: list[Arm]) -> Arm | None:
    low = name.lower()
    for arm in arms:
        a = arm.name.lower()
        if a == low or a in low or low in a:
            return arm
    aliases = {"intervention": ("experimental", "treatment", "intervention"), "control": ("control", "waitlist",
                                                                                            "wait-list", "usual")}
    for arm in arms:
        for key, words in aliases.items():
            if key in low and any(w in arm.name.lower() for w in words):
                return arm
    return None


def extract(doc: PdfDocument) -> ExtractionResult:
    """Run every rule over the document and assemble arms, outcomes and evidence."""
    result = ExtractionResult(path=doc.path)
    evidence = result.evidence
    tables = find_tables(doc)

    # Arms from the first baseline table (else the first table), n there = baseline (randomised) n.
    base_tables = [t for t in tables if t.kind == "baseline"] or tables[:1]
    if base_tables:
        for name, n, header in base_tables[0].arms:
            result.arms.append(Arm(name=name, n_randomised=n))
            evidence.append(Evidence(field=f"arms[{len(result.arms) - 1}].n_randomised", value=n,
                                     page=base_tables[0].page, quote=header))

    _consort(doc, result)

    if result.n_total is None and len(result.arms) >= 2 and all(a.n_randomised for a in result.arms):
        result.warnings.append("total N not stated; taken as the sum of the arms")

    for table in tables:
        for idx, (label, cells, line) in enumerate(table.rows):
            if not _is_mean_sd_row(label, table.declared_mean_sd):
                continue
            for (name, n, _header), (mean, sd) in zip(table.arms, cells):
                arm = _match_arm(name, result.arms)
                if table.kind == "baseline" and arm is not None:
                    b = Baseline(measure=label, mean=mean, sd=sd, n=n)
                    arm.baselines.append(b)
                    if arm.baseline.measure is None:
                        arm.baseline = b
                    ai = result.arms.index(arm)
                    bi = len(arm.baselines) - 1
                    evidence += [Evidence(field=f"arms[{ai}].baselines[{bi}].mean", value=mean, page=table.page,
                                          quote=line),
                                 Evidence(field=f"arms[{ai}].baselines[{bi}].sd", value=sd, page=table.page,
                                          quote=line)]
                elif table.kind == "outcome":
                    result.outcomes.append(Outcome(arm=arm.name if arm else name, measure=label,
                                                   timepoint=table.timepoint, mean=mean, sd=sd, n=n))
                    oi = len(result.outcomes) - 1
                    evidence += [Evidence(field=f"outcomes[{oi}].mean", value=mean, page=table.page, quote=line),
                                 Evidence(field=f"outcomes[{oi}].sd", value=sd, page=table.page, quote=line),
                                 Evidence(field=f"outcomes[{oi}].n", value=n, page=table.page, quote=_header)]
    if not result.arms:
        result.warnings.append("no arms found (no table header with '(n = X)' per group, no CONSORT allocation)")
    if not result.outcomes:
        result.warnings.append("no outcome table with per-arm mean and SD found")
    return result


def _sentences(text: str) -> str:
    return re.sub(r"-\n(?=[a-z])", "", text).replace("\n", " ")


def _consort(doc: PdfDocument, result: ExtractionResult) -> None:
    """Total N, allocation per arm, losses and analysed counts from prose or a CONSORT diagram."""
    evidence = result.evidence
    for page in doc.pages:
        prose = _norm(_sentences(page.text))
        if result.n_total is None:
            for pattern in _TOTAL_PATTERNS:
                m = pattern.search(prose) or pattern.search(_norm(page.lines))
                if m:
                    result.n_total = int(m.group(1))
                    evidence.append(Evidence(field="n_total", value=result.n_total, page=page.number,
                                             quote=m.group(0)))
                    break
        for m in _ALLOC_PAIR.finditer(prose):
            for n_text, name in ((m.group(1), m.group(2)), (m.group(3), m.group(4))):
                _set_arm(result, name, "n_randomised", int(n_text), page.number, m.group(0))
        for m in _PER_GROUP_FLOW.finditer(prose):
            _set_arm(result, m.group(1), "n_dropout", int(m.group(2)), page.number, m.group(0))
            _set_arm(result, m.group(1), "n_analysed", int(m.group(3)), page.number, m.group(0))
        lines = _norm(page.lines)
        allocs = list(_BOX_ALLOC.finditer(lines))
        if len(allocs) >= 2 and not any(e.field.endswith("n_randomised") and e.page == page.number
                                        for e in evidence):
            for m in allocs[:2]:
                _set_arm(result, m.group(1) or "intervention", "n_randomised", int(m.group(2)), page.number,
                         m.group(0))
            arms = result.arms[:2]
            for field, pattern in (("n_dropout", _BOX_LOST), ("n_analysed", _BOX_ANALYSED)):
                found = list(pattern.finditer(lines))
                if len(found) == 2:
                    for arm, m in zip(arms, found):
                        _set_arm(result, arm.name, field, int(m.group(1)), page.number, m.group(0))
    for i, arm in enumerate(result.arms):
        if arm.n_dropout is None and arm.n_randomised is not None and arm.n_analysed is not None:
            arm.n_dropout = arm.n_randomised - arm.n_analysed
            result.warnings.append(f"arms[{i}].n_dropout computed as randomised - analysed")


def _set_arm(result: ExtractionResult, name: str, field: str, value: int, page: int, quote: str) -> None:
    arm = _match_arm(name.strip(), result.arms)
    if arm is None:
        arm = Arm(name=name.strip())
        result.arms.append(arm)
    old = getattr(arm, field)
    if old is not None and old != value:
        result.warnings.append(f"{arm.name}: {field} is {old} in one place and {value} in another (page {page})")
        if field == "n_randomised":
            return  # the table header's baseline n stays; the disagreement goes to a human via the warning
    setattr(arm, field, value)
    result.evidence.append(Evidence(field=f"arms[{result.arms.index(arm)}].{field}", value=value, page=page,
                                    quote=quote))
