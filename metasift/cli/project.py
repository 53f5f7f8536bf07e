"""``metasift init``, ``confirm`` and ``status``: create a review project, confirm its protocol, see where
it stands."""

from __future__ import annotations

import getpass
import hashlib
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from metasift.cli._common import JsonOption, ProjectOption, console, emit_json, info, project_dir, shown, warn
from metasift.config import (
    CONFIG_NAME,
    STORE_NAME,
    Protocol,
    example_protocol_text,
    load_protocol,
    parse_protocol,
)
from metasift.errors import ConfigError, ProjectError
from metasift.store import Store
from metasift.store.db import BACKUP_DIR, sqlite_path
from metasift.store.rows import LastBackup


def init(
    directory: Path = typer.Argument(Path("."), help="Project directory (created if missing)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing review.toml."),
) -> None:
    """Start a review project: write review.toml (the protocol) and create the store.

    The protocol written is a starter example (RCTs of social-media interventions for depression,
    anxiety and stress) marked as a draft: edit its question, criteria, outcomes and reviewers for your
    review, then run `metasift confirm`. Until then nothing is excluded automatically. In a project whose
    store is missing, `init` creates an empty store and keeps review.toml.
    """
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / CONFIG_NAME
    if config.exists() and not force:
        _init_missing_store(directory)
        return
    config.write_text(example_protocol_text(), encoding="utf-8")
    load_protocol(directory)  # the shipped file must validate
    store = Store.open(directory, create=True)
    with store.write() as conn:
        store.log_event(conn, "init", actor_kind="human", actor="metasift", payload={"directory": str(directory)})
    store.close()
    info(f"created review project in [bold]{shown(directory)}[/bold]: {CONFIG_NAME} and {STORE_NAME}")
    warn(f"{CONFIG_NAME} is a starter example (a review of social-media interventions for depression, "
         f"anxiety and stress): edit its question, criteria and outcomes for your review, then run "
         f"`metasift confirm`. Until then rules and the model exclude nothing; every record goes to a human.")
    info(f"next: metasift import FILE... --project {shown(directory)}")


def _init_missing_store(directory: Path) -> None:
    """``init`` where review.toml exists: create the store if (and only if) it is missing; keep the
    protocol."""
    config = directory / CONFIG_NAME
    url = load_protocol(directory).store.url
    store_file = sqlite_path(url) if url else directory / STORE_NAME
    if store_file is None or store_file.exists():
        raise ProjectError(f"{config}: already exists, and so does its store (use --force to overwrite the "
                           "protocol; the store is kept)")
    store = Store.open(directory, create=True)
    try:
        with store.write() as conn:
            store.log_event(conn, "init", actor_kind="human", actor="metasift",
                            payload={"directory": str(directory), "store_only": True})
    finally:
        store.close()
    info(f"created an empty store {shown(store_file)}; kept {shown(config)} as it is")


_BACKUP_OUT = typer.Option(None, "--out", "-o", help="Write the copy here (default: "
                          "backups/metasift-YYYYmmdd-HHMMSS.db in the project).")


def backup(
    out: Path = _BACKUP_OUT,
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Copy the store to a backup file while it may be in use (SQLite's online backup API), check the
    copy's integrity and record the backup. To restore, copy the file back to metasift.db."""
    root = project_dir(project)
    url = load_protocol(root).store.url
    if url and sqlite_path(url) is None:
        raise ProjectError(f"{CONFIG_NAME}: the store is a server database ([store] url); `metasift backup` "
                           "copies SQLite stores only: back it up with pg_dump")
    store = Store.open(root)
    try:
        dest = out or _default_backup_path(root)
        made = store.backup(dest, actor=os.environ.get("METASIFT_REVIEWER") or getpass.getuser())
    finally:
        store.close()
    if json_out:
        emit_json(made.to_json())
        return
    info(f"backup written: {shown(made.path)} ({made.bytes:,} bytes, "
         f"integrity_check {made.integrity_check})")


def _default_backup_path(root: Path) -> Path:
    """``backups/metasift-YYYYmmdd-HHMMSS.db`` (local time), with a suffix if that second is taken."""
    stem = f"metasift-{datetime.now():%Y%m%d-%H%M%S}"
    path = root / BACKUP_DIR / f"{stem}.db"
    n = 1
    while path.exists():
        path, n = root / BACKUP_DIR / f"{stem}-{n}.db", n + 1
    return path


def _say_last_backup(store: Store) -> LastBackup | None:
    """One line for ``status``: when the store was last backed up (a warning when never; SQLite only)."""
    if store.sqlite_file is None:
        return None
    last = store.last_backup()
    if last is None:
        warn("last backup: never — run `metasift backup`")
    else:
        info(f"last backup: {last.at.astimezone():%Y-%m-%d %H:%M} ({shown(last.backup.path)})")
    return last


_DRAFT_LINE = re.compile(r"(?m)^(\s*draft\s*=\s*)true\b")


def confirm(
    who: str = typer.Option(None, "--as", help="Who confirms the protocol (default: $METASIFT_REVIEWER, "
                            "else the login name)."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Confirm review.toml as this review's protocol: from now on its rules, and the model where the
    routing policy allows, may exclude records without a human.

    Sets `draft = false` in review.toml and records who confirmed which protocol (its sha256) and when.
    Review the criteria and rules shown first: they decide what no human sees.
    """
    root = project_dir(project)
    protocol = load_protocol(root)
    path = root / CONFIG_NAME
    text = path.read_text(encoding="utf-8")
    if protocol.review.draft:
        text, n = _DRAFT_LINE.subn(r"\1false", text, count=1)
        if n != 1 or parse_protocol(text, path).review.draft:
            raise ConfigError(f"{path}: cannot find the line `draft = true` under [review]: set it to false by hand")
        protocol = parse_protocol(text, path)
        tmp = path.with_suffix(".toml.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    actor = who or os.environ.get("METASIFT_REVIEWER") or getpass.getuser()
    digest = hashlib.sha256(text.encode()).hexdigest()
    excluders = _exclusion_rules(protocol)
    store = Store.open(root)
    try:
        with store.write() as conn:
            store.log_event(conn, "protocol_confirmed", actor_kind="human", actor=actor,
                            payload={"sha256": digest, "rules": excluders, "routing": protocol.routing.model_dump()})
    finally:
        store.close()
    if json_out:
        emit_json({"confirmed_by": actor, "sha256": digest, "rules": excluders,
                   "routing": protocol.routing.model_dump()})
        return
    table = Table(title="Rules that may now exclude without a human", header_style="bold")
    table.add_column("criterion")
    table.add_column("stage")
    table.add_column("met when")
    for rule in excluders:
        table.add_row(rule["id"], rule["stage"], rule["rule"])
    console.print(table)
    r = protocol.routing
    model = (f"the model may exclude at confidence ≥ {r.llm_exclude_confidence} when the ranker agrees "
             f"(P(include) ≤ {r.ranker_exclude_probability})" if r.auto_exclude else "the model never excludes")
    audit = f"{r.audit_sample:.0%} of automated exclusions go to a human as an audit" if r.audit_sample \
        else "no exclusion audit ([routing] audit_sample = 0)"
    info(f"protocol confirmed by {actor} (sha256 {digest[:12]}); {model}; {audit}")


def _exclusion_rules(protocol: Protocol) -> list[dict[str, str]]:
    return [{"id": c.id, "stage": c.stage, "rule": c.rule} for c in protocol.criteria if c.rule]


def _stopping(store: Store, protocol: Protocol) -> dict[str, Any] | None:
    """The buscar stopping test on the humans' title/abstract decisions in the order made (None before any),
    at ``[screening] stop_target_recall`` over the automation's calibrated bound when it auto-excluded records
    (``stopping.project_shared_target``) and ``stop_confidence``; the history and the urn are
    ``screener.stopping.screening_history``'s (records settled without a human and calibration-sample
    records left out).
    """
    from metasift.screener.stopping import describe, estimate_stopping, project_stopping

    found = project_stopping(store, protocol)
    if found is None:
        return None
    history, params, shared = found
    est = estimate_stopping(history.labels, history.n_total, **params)
    return {**est.model_dump(), "line": describe(est), "target_line": shared.line, "target_warning": shared.warning,
            "final_target_recall": shared.final_target, "automation_recall_bound": shared.automation_bound,
            "calibration_left_out": history.calibration_left_out,
            "settled_without_human": history.settled_without_human}


def status(project: Path = ProjectOption, json_out: bool = JsonOption) -> None:
    """Where the review stands, in records: imported per source, duplicates, and per stage how many
    records are included, excluded (by whom) and still awaiting a settled decision; the exclusion audit's
    false-exclusion estimate; warnings while the protocol is an unconfirmed draft."""
    from metasift.eval.exclusion_audit import exclusion_audit, summary_line
    from metasift.kinds import Stage
    from metasift.store import review_queue as rq

    root = project_dir(project)
    protocol = load_protocol(root)
    store = Store.open(root)
    try:
        with store.frozen():  # read-only: the tallies, the audit and the stopping test share one read of decisions
            counts = store.counts()
            counting = rq.Counting.of(protocol)
            stages = [rq.record_tally(store, stage, counting) for stage in Stage]
            audit = exclusion_audit(store, counting)
            stopping = _stopping(store, protocol)
            values = _extraction_tally(store, protocol)
        last_backup = _say_last_backup(store)
    finally:
        store.close()
    draft = protocol.review.draft
    if json_out:
        emit_json({"project": str(root), "title": protocol.review.title, "protocol_draft": draft,
                   **counts.to_json(), "last_backup": last_backup.to_json() if last_backup else None,
                   "stages": {t.stage: t.model_dump() for t in stages},
                   "exclusion_audit": audit.model_dump(exclude={"exclusions"}), "stopping": stopping,
                   "extraction": values})
        return
    if draft:
        warn(f"{CONFIG_NAME} is an unconfirmed draft: nothing is excluded automatically. Check its question, "
             f"criteria, rules and outcomes, then run `metasift confirm`.")
    table = Table(title=protocol.review.title, show_header=True, header_style="bold")
    table.add_column("")
    table.add_column("records", justify="right")
    table.add_row("files imported", str(counts.files_imported))
    table.add_row("records imported", str(counts.records_imported))
    for source, n in counts.records_by_source.items():
        table.add_row(f"  from {source}", str(n))
    dup = str(counts.duplicates_removed) if counts.deduplicated else "not run (metasift dedup)"
    table.add_row("duplicates removed", dup)
    table.add_row("unique records", str(counts.records_unique))
    for tally in stages:
        name = tally.stage.replace("_", "/") if tally.stage == Stage.TITLE_ABSTRACT else "full text"
        by = ", ".join(f"{n} by {k}" for k, n in sorted(tally.excluded_by.items()))
        table.add_row(f"{name}: records to screen", str(tally.records))
        table.add_row("  included", str(tally.included))
        table.add_row("  excluded" + (f" ({by})" if by else ""), str(tally.excluded))
        if tally.maybe:
            table.add_row("  maybe", str(tally.maybe))
        table.add_row("  awaiting a settled decision", str(tally.awaiting))
        table.add_row(Text("  reviewers' decisions (not records)", style="dim"),
                      Text(str(tally.human_decisions), style="dim"))
    table.add_row("full texts", str(counts.fulltexts))
    table.add_row("extracted values", str(counts.extractions))
    if counts.extractions:
        for key, label in (("auto_verified", "auto-verified by the checks"), ("verified", "verified by a human"),
                           ("entered_by_hand", "  of which entered by hand"),
                           ("needs_human", "waiting for a human (metasift verify)"), ("rejected", "rejected")):
            table.add_row(f"  {label}", str(values[key]))
    if counts.fulltexts:
        table.add_row("values missing (metasift gaps)", str(values["missing"]))
    console.print(table)
    info(f"automated exclusions: {summary_line(audit)}")
    if stopping is not None:
        info(f"title/abstract stopping (buscar): {stopping['line']}")
        if stopping["target_warning"]:
            warn(f"final recall target: {stopping['target_warning']}")
        elif stopping["target_line"]:
            info(f"  {stopping['target_line']}")


def _extraction_tally(store: Store, protocol) -> dict[str, int]:
    """Extracted values by status, those entered by hand, and the values the studies still lack."""
    from collections import Counter

    from metasift.extractor.by_hand import study_gaps

    rows = store.extractions()
    tally = Counter(str(x.status) for x in rows)
    gaps = study_gaps(store, protocol.outcomes, humans_needed=protocol.screening.humans_per_record)
    return {"auto_verified": tally["auto_verified"], "verified": tally["verified"],
            "entered_by_hand": sum(x.source == "human" and x.status != "rejected" for x in rows),
            "needs_human": tally["needs_human"], "rejected": tally["rejected"],
            "missing": sum(g.certain for s in gaps for g in s.gaps)}


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(confirm)
    app.command()(status)
    app.command()(backup)
