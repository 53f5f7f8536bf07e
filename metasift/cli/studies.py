"""``metasift studies``: study-level fields (female_pct, guidance, control_type...) for moderators and
subgroups, imported from a CSV and listed."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import typer

from metasift.cli._common import JsonOption, ProjectOption, console, emit_json, info, project_dir, shown


def studies_import(
    csv_file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                    help="CSV: record_id or study ('Family Year'), then one column per field."),
    by: str = typer.Option(None, "--by", help="Who is importing (default: $METASIFT_REVIEWER or your login)."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Import study-level fields from CSV (the whole file or nothing); a field imported again replaces the
    studies' earlier values. A "Family Year" several records share means the one included in the review."""
    from metasift.config import load_protocol
    from metasift.kinds import Label, Stage
    from metasift.store import Store
    from metasift.store._studies import StudyValue
    from metasift.studies import read_study_csv

    root = project_dir(project)
    humans = load_protocol(root).screening.humans_per_record
    store = Store.open(root)
    # a "Family Year" several records share means the included study: at full text, else at title/abstract
    prefer = [{rid for rid, label in store.final_labels(stage, humans_needed=humans).items() if label == Label.INCLUDE}
              for stage in (Stage.FULL_TEXT, Stage.TITLE_ABSTRACT)]
    found = read_study_csv(csv_file, store.records_table(primary_only=True), prefer)
    values = [StudyValue(row.record_id, name, value, f"{csv_file.name}:{row.line}")
              for row in found.rows for name, value in row.values.items()]
    actor = by or os.environ.get("METASIFT_REVIEWER") or getpass.getuser()
    written = store.set_study_fields(values, fields=found.fields, actor=actor, file=str(csv_file),
                                     sha256=found.sha256)
    store.close()
    if json_out:
        emit_json({"file": str(csv_file), "studies": len(found.rows), "fields": found.fields, "values": written})
        return
    info(f"recorded {written} values of {len(found.fields)} fields ({shown(', '.join(found.fields))}) "
         f"for {len(found.rows)} studies from {shown(csv_file.name)}")


def studies_list(
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """List the study-level fields stored, one row per study."""
    from rich.table import Table

    from metasift.records import study_label
    from metasift.store import Store

    store = Store.open(project_dir(project))
    values = store.study_fields()
    labels = {r.id: study_label(r) for r in store.records_table()}
    store.close()
    fields = sorted({v.field for v in values})
    by_study: dict[int, dict[str, str]] = {}
    for v in values:
        by_study.setdefault(v.record_id, {})[v.field] = v.value
    if json_out:
        emit_json({"fields": fields, "studies": [{"record_id": rid, "study": labels.get(rid), "fields": vals}
                                                  for rid, vals in sorted(by_study.items())]})
        return
    if not values:
        info("no study fields yet: `metasift studies import FILE.csv`")
        return
    table = Table(title="Study fields", header_style="bold", title_justify="left")
    for name in ("record", "study", *fields):
        table.add_column(name, justify="right" if name == "record" else "left")
    for rid, vals in sorted(by_study.items()):
        table.add_row(str(rid), labels.get(rid, ""), *(vals.get(f, "") for f in fields))
    console.print(table)


def register(app: typer.Typer) -> None:
    studies = typer.Typer(help="Study-level fields for moderators and subgroups.", no_args_is_help=True)
    studies.command("import")(studies_import)
    studies.command("list")(studies_list)
    app.add_typer(studies, name="studies")
