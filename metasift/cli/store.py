"""``metasift store``: a team's store on a PostgreSQL server — push a SQLite project to it, pull a SQLite
snapshot back, add reviewers (a database role each) and open a stage's conflicts to the team.

Credentials never pass through here: the server URL names host, database and role, and libpq finds the
password in the environment (PGPASSWORD), ~/.pgpass (PGPASSFILE) or a service file (PGSERVICE). A URL with a
password is refused, so none ends up in review.toml, the store, the output or an export.
"""

from __future__ import annotations

import getpass
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from metasift.cli._common import JsonOption, ProjectOption, emit_json, err_console, info, project_dir, shown

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from metasift.store.transfer import Transfer

PASSWORD_ENV = "METASIFT_NEW_PASSWORD"


def _actor() -> str:
    return os.environ.get("METASIFT_REVIEWER") or getpass.getuser()


def _copy_with_progress(source: Engine, target: Engine, source_label: str, target_label: str,
                        finish: Callable[[Connection, Transfer], None] | None) -> Transfer:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from metasift.store.transfer import copy_store

    with Progress(SpinnerColumn(), TextColumn("copying {task.fields[table]}: {task.completed:,} rows"),
                  TimeElapsedColumn(), console=err_console, transient=True) as progress:
        task = progress.add_task("copy", total=None, table="…")

        def step(table: str, rows: int) -> None:
            progress.update(task, table=table, completed=rows)

        return copy_store(source, target, source_label=source_label, target_label=target_label,
                          progress=step, finish=finish)


def _table(transfer: Transfer) -> None:
    from rich.table import Table

    from metasift.cli._common import console

    table = Table(title=f"copied {transfer.rows:,} rows, every table read back and compared")
    for col in ("table", "rows", "sha256 (both sides)"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for t in transfer.tables:
        table.add_row(t.table, f"{t.rows:,}", t.sha256[:16])
    console.print(table)


def push(
    url: str = typer.Argument(..., help="postgresql://ROLE@HOST[:PORT]/DATABASE (no password: libpq reads it "
                              "from PGPASSWORD, ~/.pgpass or a PGSERVICE file; TLS as ?sslmode=...)."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Copy this project's SQLite store into an empty PostgreSQL database and point review.toml at it.

    Every table is copied with its ids (records, decisions, extractions, full texts, events...), read back
    and compared (rows and SHA-256 per table) before the server commits; a database that already holds
    tables is refused. The SQLite file is kept as it was, with a `store_push` event naming the server.
    Then the owner adds the team: `metasift store add-reviewer NAME`.
    """
    from metasift.config import load_protocol
    from metasift.errors import ProjectError
    from metasift.store import Store
    from metasift.store.db import make_engine, sqlite_path
    from metasift.store.postgres import config_url, is_postgres, where
    from metasift.store.team import enable_team

    root = project_dir(project)
    if not is_postgres(url):
        raise ProjectError(f"{shown(url)}: push needs a postgresql:// URL")
    clean = config_url(url)  # refuses a password before anything is opened
    configured = load_protocol(root).store.url
    if configured and sqlite_path(configured) is None:
        raise ProjectError(f"{root / 'review.toml'}: the store is already on a server; "
                           "`metasift store pull FILE.db` makes a SQLite snapshot")
    source = Store.open(root)
    target = make_engine(clean)
    label = f"PostgreSQL {where(clean)}"
    actor = _actor()

    def finish(conn: Connection, done: Transfer) -> None:
        enable_team(conn)
        source.log_event(conn, "store_push", actor_kind="human", actor=actor, payload={
            "from": str(source.sqlite_file), "rows": done.rows,
            "tables": {t.table: {"rows": t.rows, "sha256": t.sha256} for t in done.tables}})

    try:
        done = _copy_with_progress(source.engine, target, str(source.sqlite_file), label, finish)
    finally:
        target.dispose()
    with source.write() as conn:
        source.log_event(conn, "store_pushed", actor_kind="human", actor=actor,
                         payload={"to": where(clean), "rows": done.rows})
    source.close()
    _point_config(root, clean)
    if json_out:
        emit_json(done.to_json() | {"review_toml": str(root / "review.toml")})
        return
    _table(done)
    info(f"review.toml now points at {label}; {shown(done.source)} is kept unchanged as it was. "
         "next: metasift store add-reviewer NAME (one per screener; --arbiter for the arbiter)")


def _point_config(root: Path, url: str) -> None:
    """Set ``[store] url`` in review.toml (comments and layout kept), checked as a protocol before writing."""
    import tomlkit

    from metasift.config import CONFIG_NAME, parse_protocol

    path = root / CONFIG_NAME
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    if "store" not in doc:
        doc.add(tomlkit.nl())
        doc.add("store", tomlkit.table())
    doc["store"]["url"] = url  # type: ignore[index]
    text = tomlkit.dumps(doc)
    parse_protocol(text, path)
    path.write_text(text, encoding="utf-8")


def pull(
    out: Path = typer.Argument(..., dir_okay=False, help="The SQLite file to write (must not exist)."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Write a SQLite snapshot of the server store (for archiving, or to work offline on a copy).

    One consistent read of the server, every table copied with its ids, read back and compared (rows and
    SHA-256 per table). Pull as the owner or an arbiter: a reviewer's role sees, and copies, only what
    blinding lets it see. The server records a `store_pull` event.
    """
    from metasift.errors import ProjectError
    from metasift.store import Store
    from metasift.store.db import make_engine, sqlite_url
    from metasift.store.postgres import where

    root = project_dir(project)
    out = Path(out)
    if out.exists():
        raise ProjectError(f"{out}: already exists; choose another file")
    store = Store.open(root)
    label = f"PostgreSQL {where(store.engine.url)}" if store.sqlite_file is None else str(store.sqlite_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    target = make_engine(sqlite_url(partial))
    try:
        done = _copy_with_progress(store.engine, target, label, str(out), None)
    except BaseException:
        target.dispose()
        partial.unlink(missing_ok=True)
        raise
    target.dispose()
    os.replace(partial, out)
    with store.write() as conn:
        store.log_event(conn, "store_pull", actor_kind="human", actor=_actor(),
                        payload={"to": str(out.resolve()), "rows": done.rows})
    store.close()
    if json_out:
        emit_json(done.to_json())
        return
    _table(done)
    info(f"snapshot written: {shown(out)}")


def add_reviewer(
    name: str = typer.Argument(..., help="The reviewer's name, as in review.toml; it becomes their database role."),
    arbiter: bool = typer.Option(False, "--arbiter", help="An arbiter sees every decision and may open a "
                                 "stage's conflicts."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Create a reviewer's database role on the team server and grant what reviewing needs (run as the owner).

    The role reads only its own decisions at a stage until that stage's conflicts are opened
    (`metasift store open-stage`); the server enforces it (row-level security), whatever client connects.
    The password comes from $METASIFT_NEW_PASSWORD, else one is generated and shown once: hand it to the
    reviewer for their ~/.pgpass. It is sent to the server already hashed and stored nowhere else.
    """
    from metasift.store import Store
    from metasift.store.postgres import without_password
    from metasift.store.team import add_member, check_role_name, require_postgres

    check_role_name(name)
    root = project_dir(project)
    given = os.environ.get(PASSWORD_ENV)
    password = given or secrets.token_urlsafe(18)
    store = Store.open(root)
    try:
        with store.write() as conn:
            require_postgres(conn)
            created = add_member(conn, name, password, arbiter=arbiter)
            store.log_event(conn, "add_reviewer", actor_kind="human", actor=_actor(),
                            payload={"role": name, "arbiter": arbiter, "created": created})
        url = without_password(store.engine.url, username=name)
    finally:
        store.close()
    from metasift.store.postgres import where

    host = url.host or url.query.get("host") or "localhost"
    port = url.port or url.query.get("port") or 5432
    if json_out:
        emit_json({"role": name, "arbiter": arbiter, "created": created,
                   "password": None if given else password})
        return
    info(f"{'created' if created else 'updated'} role {name}{' (arbiter)' if arbiter else ''} on "
         f"PostgreSQL {where(url)}")
    if not given:
        info(f"password for {name} (shown once, stored nowhere): give them this ~/.pgpass line "
             f"(chmod 600):\n{host}:{port}:{url.database}:{name}:{password}")
    info(f"{name} sets [store] url = \"{url.render_as_string(hide_password=False).replace('+psycopg', '')}\" "
         "in their copy of review.toml")


def open_stage(
    stage: str = typer.Argument(..., help="title_abstract or full_text"),
    project: Path = ProjectOption,
) -> None:
    """Open a stage's conflicts: from now on every reviewer may read everyone's decisions at that stage
    (run as the owner or an arbiter, once screening at the stage is done)."""
    from metasift.kinds import Stage
    from metasift.store import Store
    from metasift.store.team import open_stage as opening

    stage = Stage(stage)
    store = Store.open(project_dir(project))
    try:
        with store.write() as conn:
            opened = opening(conn, stage)
            if opened:
                store.log_event(conn, "open_stage", actor_kind="human", actor=_actor(), payload={"stage": stage})
    finally:
        store.close()
    info(f"{stage}: {'opened' if opened else 'was already open'}; every decision at it is visible to the team")


def register(app: typer.Typer) -> None:
    store = typer.Typer(help="A team's store on a PostgreSQL server (push, pull, reviewers).",
                        no_args_is_help=True)
    store.command("push")(push)
    store.command("pull")(pull)
    store.command("add-reviewer")(add_reviewer)
    store.command("open-stage")(open_stage)
    app.add_typer(store, name="store")
