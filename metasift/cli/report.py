"""``metasift report``, ``metasift prisma`` and ``metasift rob``: the review's write-up from the store."""

from __future__ import annotations

from pathlib import Path

import typer

from metasift.cli._common import JsonOption, ProjectOption, emit_json, err_console, info, project_dir


def report(
    out: Path = typer.Option(None, "--out", "-o", help="Folder for the report (default: PROJECT/report)."),
    fmt: str = typer.Option("html", "--format", help="html (one self-contained page) or md (+ PNG files)."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Write the review report: PRISMA flow, screening and agreement, included studies with the evidence
    behind every number, effect sizes, pooled models, plots, bias tests, risk of bias and versions."""
    from metasift.report.build import write_report

    if fmt not in ("html", "md"):
        raise typer.BadParameter("--format must be html or md")
    root = project_dir(project)
    from metasift.config import load_protocol  # the protocol and the store load here (start-up, issue #15)
    from metasift.store import Store

    protocol = load_protocol(root)
    store = Store.open(root)
    with err_console.status("building the report..."):
        path = write_report(store, protocol, out or root / "report", fmt)
    store.close()
    if json_out:
        emit_json({"path": str(path), "json": str(path.with_name("report.json"))})
    else:
        info(f"report written to {path}")


def prisma(
    out: Path = typer.Option(None, "--out", "-o", help="Write the diagram (.png or .svg)."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """PRISMA 2020 flow counts from the store (and the diagram with --out)."""
    from metasift.cli._common import console, two_column_table
    from metasift.report.prisma import draw_prisma, prisma_counts

    root = project_dir(project)
    from metasift.config import load_protocol  # the protocol and the store load here (start-up, issue #15)
    from metasift.store import Store

    protocol = load_protocol(root)
    store = Store.open(root)
    counts = prisma_counts(store, humans_needed=protocol.screening.humans_per_record)
    store.close()
    if out:
        draw_prisma(counts, out)
        info(f"diagram written to {out}")
    if json_out:
        emit_json(counts.model_dump())
        return
    console.print(two_column_table("PRISMA 2020 flow", counts.model_dump().items(), ("box", "n")))


def rob_import(
    csv_file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                    help="CSV: study | record_id | doi, D1..D5, overall (low / some concerns / high)."),
    assessor: str = typer.Option(..., "--assessor", help="Who made these judgements."),
    project: Path = ProjectOption,
) -> None:
    """Import RoB 2 judgements per study from CSV (all rows or none)."""
    from metasift.report.rob import read_rob_csv
    from metasift.store import Store

    store = Store.open(project_dir(project))
    judgements = read_rob_csv(csv_file, store.records_table(primary_only=True))
    for rid, domains in judgements.items():
        store.set_rob(rid, domains, assessor=assessor)
    store.close()
    info(f"recorded risk of bias for {len(judgements)} studies")


def register(app: typer.Typer) -> None:
    app.command()(report)
    app.command()(prisma)
    rob = typer.Typer(help="Risk of bias (RoB 2).", no_args_is_help=True)
    rob.command("import")(rob_import)
    app.add_typer(rob, name="rob")
