"""``metasift init`` and ``metasift status``: create a review project and see where it stands."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from metasift.cli._common import JsonOption, ProjectOption, console, emit_json, info, project_dir
from metasift.config import CONFIG_NAME, STORE_NAME, example_protocol_text, load_protocol
from metasift.errors import ProjectError
from metasift.store import Store


def init(
    directory: Path = typer.Argument(Path("."), help="Project directory (created if missing)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing review.toml."),
) -> None:
    """Start a review project: write review.toml (the protocol) and create the store.

    The protocol written is the bundled example (RCTs of social-media interventions for depression,
    anxiety and stress); edit its question, criteria and reviewers for your review.
    """
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / CONFIG_NAME
    if config.exists() and not force:
        raise ProjectError(f"{config}: already exists (use --force to overwrite the protocol; the store is kept)")
    config.write_text(example_protocol_text(), encoding="utf-8")
    load_protocol(directory)  # the shipped file must validate
    store = Store.open(directory, create=True)
    with store.write() as conn:
        store.log_event(conn, "init", actor_kind="human", actor="metasift", payload={"directory": str(directory)})
    store.close()
    info(f"created review project in [bold]{directory}[/bold]: {CONFIG_NAME} (edit it) and {STORE_NAME}")
    info(f"next: metasift import FILE... --project {directory}")


def status(project: Path = ProjectOption, json_out: bool = JsonOption) -> None:
    """Show counts per stage: records imported per source, duplicates, screening decisions."""
    root = project_dir(project)
    protocol = load_protocol(root)
    store = Store.open(root)
    counts = store.counts()
    store.close()
    if json_out:
        emit_json({"project": str(root), "title": protocol.review.title, **counts})
        return
    table = Table(title=protocol.review.title, show_header=True, header_style="bold")
    table.add_column("stage")
    table.add_column("count", justify="right")
    table.add_row("files imported", str(counts["files_imported"]))
    table.add_row("records imported", str(counts["records_imported"]))
    for source, n in counts["records_by_source"].items():
        table.add_row(f"  from {source}", str(n))
    dup = str(counts["duplicates_removed"]) if counts["deduplicated"] else "not run (metasift dedup)"
    table.add_row("duplicates removed", dup)
    table.add_row("unique records", str(counts["records_unique"]))
    for stage, by in counts["decisions"].items():
        for key, n in sorted(by.items()):
            table.add_row(f"{stage}: {key}", str(n))
    table.add_row("full texts", str(counts["fulltexts"]))
    table.add_row("extracted values", str(counts["extractions"]))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(status)
