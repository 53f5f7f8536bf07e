"""Full texts: ``extract-pdf`` (any PDF, no project needed)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from metasift.cli._common import JsonOption, console, emit_json, warn


def extract_pdf(
    pdf: Path = typer.Argument(..., exists=True, dir_okay=False, help="A trial report as PDF."),
    llm: bool = typer.Option(False, "--llm", help="Also ask the configured LLM (default: offline rules only)."),
    json_out: bool = JsonOption,
) -> None:
    """Extract arms, n randomised/analysed/dropout, baseline and outcome means and SDs from a PDF.

    Every value comes with the page and the line it was read from. Works outside any project.
    """
    from extractor.pdf import read_pdf
    from extractor.rules import extract

    result = extract(read_pdf(pdf))
    if llm:
        warn("--llm: the LLM extractor needs a configured endpoint; showing the rule extractor's values")
    if json_out:
        emit_json(result.model_dump())
        return
    arms = Table(title=f"Arms — {pdf.name}", header_style="bold")
    for col in ("arm", "randomised", "analysed", "dropout", "baseline measure", "mean", "SD"):
        arms.add_column(col)
    for a in result.arms:
        arms.add_row(a.name, *(str(v) if v is not None else "—" for v in (
            a.n_randomised, a.n_analysed, a.n_dropout, a.baseline.measure, a.baseline.mean, a.baseline.sd)))
    console.print(arms)
    outs = Table(title="Outcomes", header_style="bold")
    for col in ("arm", "measure", "timepoint", "mean", "SD", "n"):
        outs.add_column(col)
    for o in result.outcomes:
        outs.add_row(o.arm, o.measure, o.timepoint, *(str(v) if v is not None else "—" for v in (o.mean, o.sd, o.n)))
    console.print(outs)
    for w in result.warnings:
        warn(w)


def register(app: typer.Typer) -> None:
    app.command("extract-pdf")(extract_pdf)
