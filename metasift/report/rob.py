"""Risk of bias (RoB 2): judgements per study and domain, imported from CSV, and the two usual plots.

Domains (Sterne et al., BMJ 2019;366:l4898): D1 randomisation process, D2 deviations from intended
interventions, D3 missing outcome data, D4 measurement of the outcome, D5 selection of the reported
result, and the overall judgement.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

from metasift.errors import ImportFormatError
from metasift.records import study_label

if TYPE_CHECKING:
    from metasift.store.rows import RecordRow, RobJudgement

DOMAINS = {"D1": "Randomisation process", "D2": "Deviations from intended interventions",
           "D3": "Missing outcome data", "D4": "Measurement of the outcome",
           "D5": "Selection of the reported result", "overall": "Overall"}
JUDGEMENTS = {"low": "low", "l": "low", "+": "low", "low risk": "low",
              "some concerns": "some_concerns", "some": "some_concerns", "s": "some_concerns", "?": "some_concerns",
              "some_concerns": "some_concerns", "unclear": "some_concerns",
              "high": "high", "h": "high", "-": "high", "high risk": "high"}
COLOURS = {"low": "#4caf50", "some_concerns": "#ffc107", "high": "#e53935"}
SYMBOLS = {"low": "+", "some_concerns": "−", "high": "×"}


def normalise_judgement(text: str) -> str | None:
    return JUDGEMENTS.get(text.strip().lower())


def read_rob_csv(path: Path, records: list[RecordRow]) -> dict[int, dict[str, tuple[str, str | None]]]:
    """Parse a RoB 2 CSV (a ``study``, ``record_id`` or ``doi`` column; D1..D5; overall) into
    {record_id: {domain: (judgement, support)}}. Errors name the file and line."""
    by_id = {r.id: r for r in records}
    by_doi = {r.doi.lower(): r.id for r in records if r.doi}
    by_label = {study_label(r).lower(): r.id for r in records}
    out: dict[int, dict[str, tuple[str, str | None]]] = {}
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        cols = {c.strip().lower(): c for c in reader.fieldnames or []}
        domain_cols = {d: cols.get(d.lower()) for d in DOMAINS}
        if not any(domain_cols.values()):
            raise ImportFormatError(path, 1, f"no RoB 2 domain columns (expected {', '.join(DOMAINS)})")
        for line, row in enumerate(reader, start=2):
            rid = None
            if cols.get("record_id") and (row[cols["record_id"]] or "").strip():
                rid = int(row[cols["record_id"]])
                if rid not in by_id:
                    raise ImportFormatError(path, line, f"record {rid} is not in this project")
            elif cols.get("doi") and row[cols["doi"]].strip():
                rid = by_doi.get(row[cols["doi"]].strip().lower())
            elif cols.get("study"):
                rid = by_label.get(row[cols["study"]].strip().lower())
            if rid is None:
                raise ImportFormatError(path, line, "study not found in the project (use record_id, doi or "
                                                    "'Family Year')")
            judgements = {}
            for domain, col in domain_cols.items():
                if not col or not (row[col] or "").strip():
                    continue
                value = normalise_judgement(row[col])
                if value is None:
                    raise ImportFormatError(path, line, f"{col}: {row[col]!r} is not low / some concerns / high")
                support = row.get(cols.get(f"{domain.lower()}_support", ""), None)
                judgements[domain] = (value, support)
            out[rid] = judgements
    return out


def traffic_light_plot(rob: dict[int, dict[str, RobJudgement]], labels: dict[int, str], path: Path) -> Path:
    """One row per study, one coloured symbol per domain (robvis style)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    studies = sorted(rob, key=lambda rid: labels.get(rid, str(rid)))
    domains = list(DOMAINS)
    fig, ax = plt.subplots(figsize=(1.1 * len(domains) + 2.5, 0.42 * len(studies) + 1.4))
    for i, rid in enumerate(studies):
        for j, d in enumerate(domains):
            found = rob[rid].get(d)
            judgement = found.judgement if found else None
            if judgement:
                ax.scatter(j, i, s=380, color=COLOURS[judgement], edgecolors="black", linewidths=0.5)
                ax.text(j, i, SYMBOLS[judgement], ha="center", va="center", fontsize=10, weight="bold")
    ax.set_xticks(range(len(domains)), domains)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(studies)), [labels.get(r, str(r)) for r in studies])
    ax.set_xlim(-0.6, len(domains) - 0.4)
    ax.set_ylim(len(studies) - 0.5, -0.5)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title("Risk of bias (RoB 2)", pad=24)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return Path(path)


def summary_plot(rob: dict[int, dict[str, RobJudgement]], path: Path) -> Path:
    """Per domain, the share of studies at low / some concerns / high risk."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2))
    names = list(DOMAINS)
    for row, d in enumerate(reversed(names)):
        values = [s[d].judgement for s in rob.values() if d in s and s[d].judgement]
        left = 0.0
        for judgement in ("low", "some_concerns", "high"):
            share = values.count(judgement) / len(values) * 100 if values else 0
            ax.barh(row, share, left=left, color=COLOURS[judgement], edgecolor="white",
                    label=judgement.replace("_", " ") if row == 0 else None)
            left += share
    ax.set_yticks(range(len(names)), [DOMAINS[d] for d in reversed(names)])
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of studies")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return Path(path)
