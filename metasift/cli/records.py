"""``metasift import``, ``dedup`` and ``export``: search results in, duplicates out, data back out."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table
from rich.text import Text

from metasift.cli._common import (
    JsonOption,
    ProjectOption,
    console,
    emit_json,
    err_console,
    info,
    print_error,
    printable,
    project_dir,
    shown,
    two_column_table,
    warn,
)
from metasift.errors import MetasiftError

if TYPE_CHECKING:  # the store and the importers load in the commands (start-up, issue #15)
    from metasift.identify import ImportInterrupted, ImportOutcome
    from metasift.store import Store


def import_(
    files: list[Path] = typer.Argument(None, exists=True, dir_okay=False, readable=True, show_default=False,
                                       help="Export files: RIS, PubMed MEDLINE (.nbib), CSV/TSV, BibTeX, WoS, ENW."),
    source: str = typer.Option(None, "--source", "-s",
                               help="Database name for PRISMA counts (default: recognised from the file)."),
    fmt: str = typer.Option(None, "--format", help="Force a format: ris, nbib, csv, bibtex, wos, enw."),
    encoding: str = typer.Option(None, "--encoding", metavar="NAME",
                                 help="Read the files in this encoding (e.g. cp1252), not the detected one."),
    skip_bad: bool = typer.Option(False, "--skip-bad",
                                  help="Leave out malformed entries (each listed as FILE:LINE) instead of "
                                       "rejecting the file."),
    list_batches: bool = typer.Option(False, "--list", help="List the imported files with their batch ids."),
    undo: int = typer.Option(None, "--undo", metavar="BATCH",
                             help="Remove an imported file (its batch id: `--list`) and its records; refused "
                                  "while decisions or other work hang off them."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Import database search results. Each file is one transaction: a malformed file is
    rejected with FILE:LINE and leaves the store unchanged; a file already imported is skipped;
    Ctrl-C rolls back the file being imported (files before it stay)."""
    if sum((bool(files), list_batches, undo is not None)) != 1:
        raise typer.BadParameter("give FILES to import, or --list, or --undo BATCH (one of them)")
    from metasift.store import Store

    store = Store.open(project_dir(project))
    try:
        if list_batches:
            _list_batches(store, json_out)
        elif undo is not None:
            _undo_batch(store, undo, json_out)
        else:
            _import_files(store, files, json_out, source=source, fmt=fmt, encoding=encoding,
                          skip_bad=skip_bad)
    finally:
        store.close()


def _import_files(store: Store, files: list[Path], json_out: bool, **options: object) -> None:
    """Import each file in its own transaction; on Ctrl-C say exactly what got in and exit 130."""
    from metasift.identify import ImportInterrupted, import_file

    outcomes, failures = [], []
    interrupted: ImportInterrupted | None = None
    for path in files:
        try:
            outcome = import_file(store, path, **options)  # type: ignore[arg-type]
        except MetasiftError as exc:
            failures.append(str(exc))
            print_error(exc)
            continue
        except ImportInterrupted as exc:
            interrupted = exc
            break
        outcomes.append(outcome)
        _report(outcome)
    if json_out:
        emit_json({"files": [o.model_dump() for o in outcomes], "errors": failures,
                   **({"interrupted": str(interrupted.path)} if interrupted else {})})
    if interrupted is not None:  # outside the except block: typer's exit must not look like a bare Ctrl-C
        _say_interrupted(interrupted, outcomes)
        raise typer.Exit(130)
    if failures:
        raise typer.Exit(4)


def _report(outcome: ImportOutcome) -> None:
    path = shown(outcome.path)
    for w in outcome.warnings:
        warn(f"{printable(outcome.path)}: {w}")
    for entry in outcome.skipped_entries:
        warn(f"skipped {entry}")
    if outcome.status == "skipped":
        info(f"[yellow]skipped[/yellow] {path}: {shown(outcome.message)}")
        return
    left_out = f", {len(outcome.skipped_entries)} bad entries left out" if outcome.skipped_entries else ""
    info(f"imported {outcome.n_records} records from {path} as batch {outcome.batch_id} "
         f"({outcome.format}{'/' + outcome.layout if outcome.layout else ''}, source {shown(outcome.source)}"
         f"{left_out})")


def _say_interrupted(exc: ImportInterrupted, done: list[ImportOutcome]) -> None:
    kept = [o for o in done if o.status == "imported"]
    before = f"; the {len(kept)} file(s) imported before it are kept" if kept else ""
    if exc.batch_id is None:
        info(f"[yellow]interrupted[/yellow]: nothing of {shown(exc.path)} was imported{before}")
    else:
        info(f"[yellow]interrupted[/yellow]: {shown(exc.path)} was imported in full as batch {exc.batch_id} "
             f"just before the interrupt{before}")


def _list_batches(store: Store, json_out: bool) -> None:
    batches = store.batches()
    if json_out:
        emit_json({"batches": [b.to_json() for b in batches]})
        return
    table = Table(title="Imported files", header_style="bold")
    for name, justify in (("batch", "right"), ("file", "left"), ("source", "left"), ("format", "left"),
                          ("records", "right"), ("imported", "left"), ("warnings", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for b in batches:
        table.add_row(str(b.id), shown(b.filename), shown(b.source),
                      b.format + (f"/{b.layout}" if b.layout else ""), str(b.n_records),
                      f"{b.imported_at:%Y-%m-%d %H:%M} by {shown(b.imported_by)}",
                      str(len(b.warnings or [])))
    console.print(table)


def _undo_batch(store: Store, batch_id: int, json_out: bool) -> None:
    """Remove one batch (refused with the reason while work hangs off it) and re-cluster if dedup had run."""
    from metasift.identify import remove_batch

    removal = remove_batch(store, batch_id, actor=os.environ.get("METASIFT_REVIEWER") or getpass.getuser())
    if json_out:
        emit_json(removal.model_dump())
        return
    info(f"removed batch {removal.batch_id} ({shown(removal.path)}, source {shown(removal.source)}): "
         f"{removal.n_records} records")
    if removal.dedup is not None:
        info(f"dedup had run, so it ran again on the records left: {removal.dedup.clusters} unique of "
             f"{removal.dedup.records} records")


def dedup(
    review: bool = typer.Option(False, "--review", help="Go through borderline pairs and record your verdicts."),
    reviewer: str = typer.Option("reviewer", "--reviewer", help="Your name, recorded with --review verdicts."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Find duplicate records (exact DOI/PMID, then fuzzy title/author/year/journal) and keep one
    primary per cluster. All members are kept; borderline pairs are listed for a human."""
    from metasift.identify import run_dedup
    from metasift.store import Store

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


ABSTRACT_SHOWN = 700  # characters of each record's abstract shown beside its pair


def _describe(store: Store, rid: int) -> Text:
    """One record of a borderline pair: id, title, authors, year, journal, DOI and the start of its abstract;
    a missing field shows as "—", a record removed since dedup listed the pair says so."""
    rec = store.record(rid)
    if rec is None:
        return Text.assemble((str(rid), "bold"), " (removed since the pairs were listed)")

    def field(value: object) -> str:
        return "—" if value in (None, "", []) else printable(str(value))

    authors = ", ".join((rec.authors or [])[:3]) + (" et al." if len(rec.authors or []) > 3 else "")
    abstract = printable(rec.abstract or "", limit=ABSTRACT_SHOWN) or "(no abstract)"
    return Text.assemble((str(rid), "bold"), f" {field(rec.title)}\n    {field(authors)} · {field(rec.year)} · "
                         f"{field(rec.journal)} · doi {field(rec.doi)}\n", (f"    {abstract}", "dim"))


def _review_pairs(store: Store, pairs: list[dict], reviewer: str) -> None:
    if not sys.stdin.isatty():
        warn("--review needs an interactive terminal; listing pairs instead")
        for p in pairs:
            console.print(f"{p['a']} ~ {p['b']} ({p['score']:.3f}, {p['reason']})\n  {p['title_a']}\n  {p['title_b']}")
        return
    for k, p in enumerate(pairs, start=1):
        console.rule(f"pair {k} of {len(pairs)}: records {p['a']} and {p['b']} — score {p['score']:.3f} "
                     f"({p['reason']})")
        for rid in (p["a"], p["b"]):
            console.print(_describe(store, rid))
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
