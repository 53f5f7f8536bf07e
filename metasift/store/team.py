"""A review team on one PostgreSQL server: a database role per reviewer, and blinding the server enforces.

What ``enable_team`` installs (idempotent, PostgreSQL only, run by the project owner — the role that owns the
tables, normally the one that ran ``metasift store push``):

- ``metasift_team`` (role, arbiter): the roles ``metasift store add-reviewer`` created; an arbiter sees all.
- ``metasift_open_stages`` (stage, who, when): a stage whose conflicts are open (``metasift store
  open-stage``); from then on everyone may read every decision at that stage.
- row-level security on ``decisions``: a reviewer reads the human decisions of others at a stage only once
  that stage is open (model, rule and consensus decisions stay visible), writes human decisions only under
  their own role name (``decider`` = the role), consensus only as an arbiter, and retracts only their own.
  The same policy hides other reviewers' ``decide``/``undo`` events, whose payload carries the label. The
  owner (who owns the tables) and superusers are not subject to it; arbiters pass it.
- ``db_role`` on ``events`` and ``decisions``: the database role that wrote the row, set by a trigger from
  ``current_user`` (a client cannot choose it), so the audit log says who wrote each row whatever name the
  client claimed.

Reviewers get SELECT, INSERT and UPDATE on the tables, DELETE only where a re-run replaces drafts
(extractions, clusters, dedup overrides), no DDL: what screening, review, full-text work and extraction
write; removing an imported file, and migrating, stay the owner's. Their passwords are sent to the server already hashed (SCRAM, libpq's
``PQencryptPasswordConn``), so they never appear in a statement the server might log.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from metasift.errors import ProjectError

# A reviewer name that is also a plain PostgreSQL role name (no quoting surprises, never a reserved role).
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
AUDITED = ("events", "decisions")

_SETUP = """
CREATE TABLE IF NOT EXISTS metasift_team (
    role name PRIMARY KEY,
    arbiter boolean NOT NULL DEFAULT false,
    added_by name NOT NULL DEFAULT current_user,
    added_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS metasift_open_stages (
    stage varchar(20) PRIMARY KEY,
    opened_by name NOT NULL DEFAULT current_user,
    opened_at timestamptz NOT NULL DEFAULT now());

CREATE OR REPLACE FUNCTION metasift_sees_all() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM metasift_team WHERE role = current_user AND arbiter) $$;
CREATE OR REPLACE FUNCTION metasift_stage_open(s text) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM metasift_open_stages WHERE stage = s) $$;
-- the stage of a decide event's JSON payload; NULL for anything that is not JSON (a NaN written by Python)
CREATE OR REPLACE FUNCTION metasift_payload_stage(payload text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
    BEGIN RETURN payload::json->>'stage'; EXCEPTION WHEN others THEN RETURN NULL; END $$;
CREATE OR REPLACE FUNCTION metasift_stamp_role() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN NEW.db_role := current_user; RETURN NEW; END $$;

ALTER TABLE decisions ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS metasift_read ON decisions;
CREATE POLICY metasift_read ON decisions FOR SELECT USING (
    decider_kind <> 'human' OR decider = current_user::text OR metasift_stage_open(stage)
    OR metasift_sees_all());
DROP POLICY IF EXISTS metasift_write ON decisions;
CREATE POLICY metasift_write ON decisions FOR INSERT WITH CHECK (
    (decider_kind <> 'human' OR decider = current_user::text) AND
    (decider_kind <> 'consensus' OR metasift_sees_all()));
DROP POLICY IF EXISTS metasift_retract ON decisions;
CREATE POLICY metasift_retract ON decisions FOR UPDATE USING (
    decider_kind <> 'human' OR decider = current_user::text OR metasift_sees_all());

-- Who has decided what still needs whom: every active decision at a stage, in id order, with the label of
-- a decision the caller may not read masked to 'maybe' (counted) or 'unsure' (not counted). The write guard
-- and the queue count with it, so a third reviewer is not sent a record two others settled, without
-- learning how they decided. SECURITY DEFINER: runs as the owner; the caller is session_user.
CREATE OR REPLACE FUNCTION metasift_decision_slots(s text, rid integer DEFAULT NULL)
RETURNS TABLE (record_id integer, decider_kind text, decider text, label text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT d.record_id, d.decider_kind::text, d.decider::text,
           CASE WHEN d.decider_kind <> 'human' OR d.decider = session_user::text OR metasift_stage_open(d.stage)
                     OR EXISTS (SELECT 1 FROM metasift_team WHERE role = session_user AND arbiter)
                THEN d.label::text
                WHEN d.label IN ('include', 'exclude', 'maybe') THEN 'maybe' ELSE 'unsure' END
    FROM decisions d
    WHERE d.stage = s AND d.retracted_at IS NULL AND (rid IS NULL OR d.record_id = rid)
    ORDER BY d.id $$;

ALTER TABLE events ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS metasift_read ON events;
CREATE POLICY metasift_read ON events FOR SELECT USING (
    action NOT IN ('decide', 'undo') OR actor_kind <> 'human' OR actor = current_user::text
    OR metasift_sees_all() OR metasift_stage_open(metasift_payload_stage(payload)));
DROP POLICY IF EXISTS metasift_write ON events;
CREATE POLICY metasift_write ON events FOR INSERT WITH CHECK (true);
"""


@dataclass(frozen=True, slots=True)
class Member:
    """One role of the team, as ``metasift_team`` holds it."""

    role: str
    arbiter: bool


def require_postgres(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":
        raise ProjectError("the team commands need the store on a PostgreSQL server: "
                           "run `metasift store push postgresql://...` first")


def enable_team(conn: Connection) -> None:
    """Install the team tables, the blinding policies and the role audit (idempotent)."""
    require_postgres(conn)
    conn.exec_driver_sql(_SETUP)
    for table in AUDITED:
        conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS db_role name "
                             "NOT NULL DEFAULT current_user")
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS metasift_stamp_role ON {table}")
        conn.exec_driver_sql(f"CREATE TRIGGER metasift_stamp_role BEFORE INSERT ON {table} "
                             "FOR EACH ROW EXECUTE FUNCTION metasift_stamp_role()")


_HAS_SLOTS: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()  # slots function there?


def decision_slots(conn: Connection, stage: str, record_id: int | None = None
                   ) -> list[tuple[int, str, str, str]] | None:
    """(record_id, decider_kind, decider, label) of every active decision at ``stage`` (one record's if
    given), in id order, through the team's ``metasift_decision_slots`` — labels the caller may not read
    masked, but every decision counted; None where the store has no team set-up (SQLite, or a server
    store nobody ran ``add-reviewer`` on), where reading ``decisions`` directly is the same thing."""
    if conn.dialect.name != "postgresql":
        return None
    if conn.engine not in _HAS_SLOTS:  # push installs it, so a store either has it from the start or never
        _HAS_SLOTS[conn.engine] = bool(conn.execute(text(
            "SELECT to_regprocedure('metasift_decision_slots(text,integer)') IS NOT NULL")).scalar_one())
    if not _HAS_SLOTS[conn.engine]:
        return None
    rows = conn.execute(text("SELECT record_id, decider_kind, decider, label FROM metasift_decision_slots(:s, :r)"),
                        {"s": str(stage), "r": record_id})
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def check_role_name(name: str) -> str:
    if not ROLE_NAME.match(name) or name.startswith("pg_"):
        raise ProjectError(f"{name!r}: a reviewer's role name is lower-case letters, digits and _ (not starting "
                           "with a digit or pg_); use the same name as the reviewer in review.toml")
    return name


def add_member(conn: Connection, name: str, password: str | None, *, arbiter: bool = False) -> bool:
    """Create (or update) the login role ``name`` with ``password`` (None: keep an existing role's password),
    grant it what a reviewer needs in this database, and record it in ``metasift_team``; True when the role
    was created now. Runs as the owner (who needs CREATEROLE, or is a superuser)."""
    from psycopg import sql

    require_postgres(conn)
    check_role_name(name)
    enable_team(conn)
    raw = conn.connection.driver_connection
    assert raw is not None
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first() is not None
    role = sql.Identifier(name)
    cur = raw.cursor()
    if not exists:
        cur.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
    if password is not None:
        hashed = raw.pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256").decode()
        cur.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(role, sql.Literal(hashed)))
    database = conn.execute(text("SELECT current_database()")).scalar_one()
    for statement in (
            "GRANT CONNECT ON DATABASE {db} TO {role}",
            "GRANT USAGE ON SCHEMA public TO {role}",
            "GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role}",
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
            # re-running extraction replaces unverified drafts; re-running dedup replaces clusters
            "GRANT DELETE ON extractions, clusters, dedup_overrides TO {role}",
            "REVOKE INSERT, UPDATE ON metasift_team, metasift_open_stages FROM {role}",
            # tables a later migration creates (as the owner) are granted too
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE ON TABLES TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}"):
        cur.execute(sql.SQL(statement).format(db=sql.Identifier(database), role=role))
    if arbiter:  # an arbiter opens a stage's conflicts to everyone
        cur.execute(sql.SQL("GRANT INSERT ON metasift_open_stages TO {}").format(role))
    conn.execute(text("INSERT INTO metasift_team (role, arbiter) VALUES (:r, :a) "
                      "ON CONFLICT (role) DO UPDATE SET arbiter = EXCLUDED.arbiter"), {"r": name, "a": arbiter})
    return not exists


def members(conn: Connection) -> list[Member]:
    require_postgres(conn)
    found = conn.execute(text("SELECT to_regclass('metasift_team') IS NOT NULL")).scalar_one()
    if not found:
        return []
    return [Member(str(r.role), bool(r.arbiter)) for r in
            conn.execute(text("SELECT role, arbiter FROM metasift_team ORDER BY role"))]


def open_stage(conn: Connection, stage: str) -> bool:
    """Open ``stage``'s conflicts: every decision at it becomes visible to the team; False when it was open."""
    require_postgres(conn)
    done = conn.execute(text("INSERT INTO metasift_open_stages (stage) VALUES (:s) ON CONFLICT DO NOTHING"),
                        {"s": stage})
    return bool(done.rowcount)


def open_stages(conn: Connection) -> list[str]:
    require_postgres(conn)
    if not conn.execute(text("SELECT to_regclass('metasift_open_stages') IS NOT NULL")).scalar_one():
        return []
    return list(conn.execute(text("SELECT stage FROM metasift_open_stages ORDER BY stage")).scalars())
