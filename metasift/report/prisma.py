"""PRISMA 2020 flow: counts computed from the store, drawn in the standard layout (matplotlib).

Counts follow the PRISMA 2020 flow diagram for new systematic reviews (Page et al., BMJ 2021;372:n71):
identification (per source, duplicates removed, automation exclusions), screening (records screened
and excluded, split by who excluded), retrieval, eligibility (reports excluded with reasons) and
included studies.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import BaseModel

from metasift.kinds import Label, Stage
from metasift.store import Store
from metasift.store.review_queue import excluder
from metasift.store.rows import DecisionRow, FulltextRow


class PrismaCounts(BaseModel):
    records_by_source: dict[str, int]
    records_identified: int
    duplicates_removed: int
    records_screened: int  # records with a settled title/abstract label (not those awaiting one)
    excluded_title_abstract: int
    excluded_by: dict[str, int]  # human / model / rule
    awaiting_screening: int
    reports_sought: int
    reports_not_retrieved: int
    reports_assessed: int
    reports_excluded: int
    reports_excluded_reasons: dict[str, int]
    awaiting_full_text: int
    studies_included: int
    reports_included: int


def prisma_counts(store: Store, *, humans_needed: int = 1) -> PrismaCounts:
    """Every PRISMA box from the store's records, decisions and full texts."""
    counts = store.counts()
    ta = store.final_labels(Stage.TITLE_ABSTRACT, humans_needed=humans_needed)
    ft = store.final_labels(Stage.FULL_TEXT, humans_needed=humans_needed)
    decisions: dict[int, list[DecisionRow]] = {}
    for d in store.decisions(Stage.TITLE_ABSTRACT):
        decisions.setdefault(d.record_id, []).append(d)
    last_ft_exclusion = {d.record_id: d for d in store.decisions(Stage.FULL_TEXT)
                         if d.label == Label.EXCLUDE}
    primary = {r.id for r in store.records_table(primary_only=True)}
    ta = {rid: label for rid, label in ta.items() if rid in primary}
    excluded = [rid for rid, label in ta.items() if label == Label.EXCLUDE]
    by = Counter(excluder(decisions.get(rid, [])) for rid in excluded)
    included_ta = [rid for rid, label in ta.items() if label == Label.INCLUDE]
    texts: dict[int, list[FulltextRow]] = {}
    for f in store.fulltexts():
        texts.setdefault(f.record_id, []).append(f)
    retrieved = [rid for rid in included_ta if any(f.status != "not_retrieved" for f in texts.get(rid, []))]
    ft_excluded = [rid for rid in retrieved if ft.get(rid) == Label.EXCLUDE]
    reasons: Counter[str] = Counter()
    for rid in ft_excluded:
        last = last_ft_exclusion.get(rid)
        for reason in (last and last.reasons) or ["unspecified"]:
            reasons[reason] += 1
    included = [rid for rid in retrieved if ft.get(rid) == Label.INCLUDE]
    return PrismaCounts(
        records_by_source=counts.records_by_source, records_identified=counts.records_imported,
        duplicates_removed=counts.duplicates_removed, records_screened=len(ta),
        excluded_title_abstract=len(excluded), excluded_by=dict(by),
        awaiting_screening=len(primary) - len(ta), reports_sought=len(included_ta),
        reports_not_retrieved=len(included_ta) - len(retrieved), reports_assessed=len(retrieved),
        reports_excluded=len(ft_excluded), reports_excluded_reasons=dict(reasons),
        awaiting_full_text=len(retrieved) - len(ft_excluded) - len(included),
        studies_included=len(included), reports_included=sum(len(texts.get(rid, [])) for rid in included))


def _box(ax, x: float, y: float, w: float, h: float, text: str, *, fill: str = "white") -> None:
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.005,rounding_size=0.01",
                                linewidth=1, edgecolor="black", facecolor=fill))
    ax.text(x + 0.012, y + h - 0.012, text, ha="left", va="top", fontsize=7.5, wrap=True)


def _arrow(ax, x0: float, y0: float, x1: float, y1: float) -> None:
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "-|>", "lw": 0.9})


def draw_prisma(c: PrismaCounts, path: Path | str) -> Path:
    """Draw the flow diagram (PNG or SVG by suffix) and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(8.5, 10))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    for label, y0, y1 in (("Identification", 0.80, 0.97), ("Screening", 0.30, 0.79), ("Included", 0.05, 0.29)):
        ax.add_patch(plt.Rectangle((0.01, y0), 0.05, y1 - y0, facecolor="#cfe2f3", edgecolor="black", lw=0.8))
        ax.text(0.035, (y0 + y1) / 2, label, rotation=90, ha="center", va="center", fontsize=9, weight="bold")
    sources = "\n".join(f"  {k} (n = {v})" for k, v in c.records_by_source.items())
    _box(ax, 0.09, 0.82, 0.42, 0.15, f"Records identified from:\n{sources}\nTotal (n = {c.records_identified})")
    _box(ax, 0.57, 0.82, 0.40, 0.15, f"Records removed before screening:\n  Duplicate records removed "
                                       f"(n = {c.duplicates_removed})")
    by = ", ".join(f"{k} {v}" for k, v in sorted(c.excluded_by.items())) or "none"
    _box(ax, 0.09, 0.64, 0.42, 0.10, f"Records screened\n(n = {c.records_screened})\n"
                                       f"Awaiting screening (n = {c.awaiting_screening})")
    _box(ax, 0.57, 0.64, 0.40, 0.10, f"Records excluded\n(n = {c.excluded_title_abstract})\nby: {by}")
    _box(ax, 0.09, 0.50, 0.42, 0.09, f"Reports sought for retrieval\n(n = {c.reports_sought})")
    _box(ax, 0.57, 0.50, 0.40, 0.09, f"Reports not retrieved\n(n = {c.reports_not_retrieved})")
    reasons = "\n".join(f"  {k} (n = {v})" for k, v in sorted(c.reports_excluded_reasons.items()))
    _box(ax, 0.09, 0.33, 0.42, 0.12, f"Reports assessed for eligibility\n(n = {c.reports_assessed})\n"
                                       f"Awaiting assessment (n = {c.awaiting_full_text})")
    _box(ax, 0.57, 0.31, 0.40, 0.14, f"Reports excluded (n = {c.reports_excluded}):\n{reasons}")
    _box(ax, 0.09, 0.12, 0.42, 0.12, f"Studies included in review\n(n = {c.studies_included})\n"
                                       f"Reports of included studies\n(n = {c.reports_included})")
    for y0, y1 in ((0.82, 0.74), (0.64, 0.59), (0.50, 0.45), (0.33, 0.24)):
        _arrow(ax, 0.30, y0, 0.30, y1)
    for y in (0.895, 0.69, 0.545, 0.39):
        _arrow(ax, 0.51, y, 0.57, y)
    path = Path(path)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
