"""``metasift import``, ``dedup`` and ``export``: search results in, duplicates out, data back out."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from metasift.cli._common import (JsonOption, ProjectOption, console, emit_json, err_console, info, print_error,
                                  project_dir, two_column_table, warn)
from metasift.errors import MetasiftError
from metasift.identify import import_file, run_dedup
from metasift.store import Store


def import_(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                       help="Export files: RIS, PubMed MEDLINE (.nbib), CSV/TSV, BibTeX, WoS, ENW."),
    source: str = typer.Option(None, "--source", "-s",
                               help="Database name for PRISMA counts (default: recognised from the file)."),
    fmt: str = typer.Option(None, "--format", help="Force a format: ris, nbib, csv, bibtex, wos, enw."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Import database search results. Each file is one transaction: a malformed file is
    rejected with FILE:LINE and leaves the store unchanged; a file already imported is skipped."""
    store = Store.open(project_dir(project))
    outcomes, failures = [], []
    for path in files:
        try:
            outcome = import_file(store, path, source=source, fmt=fmt)
        except MetasiftError as exc:
            failures.append(str(exc))
            print_error(exc)
            continue
        outcomes.append(outcome)
        for w in outcome.warnings:
            warn(f"{path}: {w}")
        if outcome.status == "skipped":
            info(f"[yellow]skipped[/yellow] {path}: {outcome.message}")
        else:
            info(f"imported {outcome.n_records} records from {path} "
                 f"({outcome.format}{'/' + outcome.layout if outcome.layout else ''}, source {outcome.source})")
    store.close()
    if json_out:
        emit_json({"files": [o.model_dump() for o in outcomes], "errors": failures})
    if failures:
        raise typer.Exit(4)


def dedup(
    review: bool = typer.Option(False, "--review", help="Go through borderline pairs and record your verdicts."),
    reviewer: str = typer.Option("reviewer", "--reviewer", help="Your name, recorded with --review verdicts."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Find duplicate records (exact DOI/PMID, then fuzzy title/author/year/journal) and keep one
    primary per cluster. All members are kept; borderline pairs are listed for a human."""
    store = Store.open(project_dir(project))
    with err_console.status("deduplicating..."):
        summary = run_dedup(store)
    if review and summary.borderline:
        _review_pairs(store, summary.borderline, reviewer)
        summary = run_dedup(store)
    store.close()
    if json_out:
        emit_json(summary.model_dump())
        return
    console.print(two_column_table("Deduplication", [
        ("records", summary.records), ("unique (clusters)", summary.clusters),
        ("duplicates removed", summary.duplicates_removed),
        *((f"  links by {reason}", n) for reason, n in sorted(summary.by_reason.items())),
        ("borderline pairs for a human", len(summary.borderline))]))
    if summary.borderline and not review:
        info("run `metasift dedup --review` to decide the borderline pairs")


def _review_pairs(store: Store, pairs: list[dict], reviewer: str) -> None:
    if not sys.stdin.isatty():
        warn("--review needs an interactive terminal; listing pairs instead")
        for p in pairs:
            console.print(f"{p['a']} ~ {p['b']} ({p['score']:.3f}, {p['reason']})\n  {p['title_a']}\n  {p['title_b']}")
        return
    for p in pairs:
        console.rule(f"records {p['a']} and {p['b']} — score {p['score']:.3f} ({p['reason']})")
        for rid in (p["a"], p["b"]):
            rec = store.record(rid) or {}
            console.print(f"[bold]{rid}[/bold] {rec.get('title')}\n    {', '.join((rec.get('authors') or [])[:3])}"
                          f" · {rec.get('year')} · {rec.get('journal')} · doi {rec.get('doi')}")
        answer = typer.prompt("duplicate? [y]es / [n]o / [s]kip / [q]uit", default="s").strip().lower()[:1]
        if answer == "q":
            break
        if answer in ("y", "n"):
            store.add_override(p["a"], p["b"], "duplicate" if answer == "y" else "distinct", reviewer)


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command()(dedup)
    from metasift.cli.export import export

    app.command()(export)
