"""A review team on one PostgreSQL server: `store push` / `store pull` (every table, checked), reviewers as
database roles with blinding enforced by the server (row-level security), credentials kept out of
review.toml, the store, the output and exports, and one clear line when the server cannot be used."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, select, text

from metasift.records import Record
from metasift.store import Store
from metasift.store import schema as t
from metasift.store.db import make_engine, sqlite_url
from metasift.store.transfer import digest, raw_tables
from tests.helpers import seed_store

TA = "title_abstract"


def _filled(project: Path) -> Store:
    """A SQLite project holding a little of everything: records, decisions (one retracted), a full text,
    extractions with JSON values and NaN-free floats, rankings, routes, study fields, events."""
    store = seed_store(project, [Record(title=f"Trial {i} of peer support", abstract=f"Abstract {i} – ü",
                                        authors=["Smith, J", "Lee, K"], year=2010 + i, doi=f"10.1/{i}")
                                 for i in range(1, 9)])
    for rid in range(1, 9):
        store.add_decision(record_id=rid, stage=TA, decider_kind="model", decider="gpt", label="include",
                           confidence=0.1 * rid, criteria=[{"id": "design_rct", "verdict": "met"}])
    gone = store.add_decision(record_id=1, stage=TA, decider_kind="human", decider="alice", label="exclude",
                              reasons=["design_rct"])
    store.retract_decision(gone, "alice")
    store.save_rankings(TA, "svm", {"c": 0.5}, {rid: rid / 9 for rid in range(1, 9)}, trained_on=4)
    fid = store.add_fulltext(record_id=2, path="fulltext/a.pdf", sha256="f" * 64, n_pages=9, status="ok",
                             message=None, matched_by="doi")
    store.replace_extractions(fid, 2, [{"field": "arm.n_randomised", "arm": "Intervention", "value": 48,
                                        "page": 3, "quote": "48 were randomised", "status": "auto_verified"},
                                       {"field": "outcome.mean", "arm": "Control", "value": {"m": 1.25},
                                        "page": 4, "quote": "mean 1.25", "status": "needs_human"}],
                              source="rule", extractor="rules-v1")
    return store


def _digests(engine) -> dict[str, tuple[int, str]]:
    with engine.connect() as conn:
        return {tb.name: (d.rows, d.sha256) for tb in raw_tables() for d in [digest(conn, tb)]}


def test_push_copies_every_table_checked_and_points_review_toml_at_the_server(project: Path, pg_url: str,
                                                                               cli) -> None:
    store = _filled(project)
    before = _digests(store.engine)
    decisions = store.decisions(include_retracted=True)
    store.close()
    done = cli("store", "push", pg_url, "--json", "--project", project)
    assert done.exit_code == 0, done.stderr
    report = done.json()
    assert {x["table"]: (x["rows"], x["sha256"]) for x in report["tables"]} == before
    assert before["records"][0] == 8 and before["extractions"][0] == 2 and before["events"][0] > 10
    assert f'url = "{pg_url}"' in (project / "review.toml").read_text()
    server = Store.open(project)
    assert server.sqlite_file is None
    assert server.decisions(include_retracted=True) == decisions
    assert server.extractions()[1].value == {"m": 1.25}
    # ids go on from the copied ones; the push is in the server's audit log, the SQLite file keeps its copy
    new = server.add_decision(record_id=3, stage=TA, decider_kind="human", decider="bob", label="include")
    assert new == max(d.id for d in decisions) + 1
    with server.read() as conn:
        pushed = conn.execute(select(t.events.c.payload).where(t.events.c.action == "store_push")).scalar_one()
    assert pushed["tables"]["records"]["sha256"] == before["records"][1]
    sqlite_events = sqlite3.connect(project / "metasift.db").execute(
        "select count(*) from events where action = 'store_pushed'").fetchone()[0]
    assert sqlite_events == 1
    # and back: a SQLite snapshot equal to the server, table by table
    snap = project / "snapshot.db"
    with server.engine.connect() as conn:
        on_server = {tb.name: digest(conn, tb) for tb in raw_tables()}
    pulled = cli("store", "pull", snap, "--json", "--project", project)
    assert pulled.exit_code == 0, pulled.stderr
    assert {x["table"]: x["sha256"] for x in pulled.json()["tables"]} == {k: v.sha256 for k, v in on_server.items()}
    assert _digests(create_engine(sqlite_url(snap))) == {k: (v.rows, v.sha256) for k, v in on_server.items()}
    assert Store.from_url(sqlite_url(snap)).decisions(include_retracted=True)[-1].decider == "bob"
    again = cli("store", "pull", snap, "--project", project)
    assert again.exit_code == 3 and "already exists" in again.stderr
    server.close()


def test_push_refuses_a_database_that_is_not_empty_and_a_url_with_a_password(project: Path, pg_url: str,
                                                                             cli) -> None:
    _filled(project).close()
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id integer)"))
    engine.dispose()
    config = (project / "review.toml").read_text()
    refused = cli("store", "push", pg_url, "--project", project)
    assert refused.exit_code == 3 and "not empty" in refused.stderr and "notes" in refused.stderr
    secret = pg_url.replace("metasift_admin@", "metasift_admin:hunter2@")
    refused = cli("store", "push", secret, "--project", project)
    assert refused.exit_code == 3 and "carries a password" in refused.stderr
    assert "hunter2" not in refused.stderr + refused.stdout
    assert (project / "review.toml").read_text() == config


def _team(project: Path, pg_cluster, pg_url: str, cli, monkeypatch) -> dict[str, str]:
    """Push a project with records and four roles: alice, bob and dave reviewers, carol the arbiter."""
    seed_store(project, [Record(title=f"Trial {i}") for i in range(1, 5)]).close()
    assert cli("store", "push", pg_url, "--project", project).exit_code == 0
    passwords = {}
    for name in ("alice", "bob", "carol", "dave"):
        passwords[name] = f"pw-{name}-{pg_url[-4:]}-x9"
        monkeypatch.setenv("METASIFT_NEW_PASSWORD", passwords[name])
        made = cli("store", "add-reviewer", name, *(["--arbiter"] if name == "carol" else []), "--project", project)
        assert made.exit_code == 0, made.stderr
        assert passwords[name] not in made.stdout + made.stderr
        pg_cluster.add_password(name, passwords[name])
    return passwords


def _as(pg_url: str, role: str) -> Store:
    return Store.from_url(pg_url.replace("metasift_admin@", f"{role}@"))


def test_bob_cannot_read_alices_decisions_with_plain_sql_until_the_stage_is_opened(
        project: Path, pg_cluster, pg_url: str, cli, monkeypatch) -> None:
    import psycopg

    _team(project, pg_cluster, pg_url, cli, monkeypatch)
    alice, bob, carol = _as(pg_url, "alice"), _as(pg_url, "bob"), _as(pg_url, "carol")
    mine = alice.add_decision(record_id=1, stage=TA, decider_kind="human", decider="alice", label="exclude",
                              reasons=["design_rct"])
    bob.add_decision(record_id=1, stage=TA, decider_kind="human", decider="bob", label="include")
    dbname = make_url(pg_url).database

    def plain_sql(role: str, query: str) -> list[tuple]:
        with psycopg.connect(host=str(pg_cluster.socket), port=5433, user=role, dbname=dbname) as conn:
            return conn.execute(query).fetchall()

    assert plain_sql("bob", "SELECT decider, label FROM decisions") == [("bob", "include")]
    assert plain_sql("bob", "SELECT count(*) FROM decisions WHERE decider = 'alice'") == [(0,)]
    assert plain_sql("bob", "SELECT count(*) FROM events WHERE action = 'decide' AND actor = 'alice'") == [(0,)]
    assert [d.decider for d in bob.decisions()] == ["bob"]  # the app sees what the server lets it see
    # the arbiter and the owner see both
    assert sorted(d.decider for d in carol.decisions()) == ["alice", "bob"]
    assert sorted(r[0] for r in plain_sql("metasift_admin", "SELECT decider FROM decisions")) == ["alice", "bob"]
    # bob cannot write as alice, nor settle a record: one clear line each
    from metasift.store.postgres import ServerError

    with pytest.raises(ServerError, match="row-level security"):
        bob.add_decision(record_id=2, stage=TA, decider_kind="human", decider="alice", label="include")
    with pytest.raises(ServerError, match="row-level security"):
        bob.add_decision(record_id=1, stage=TA, decider_kind="consensus", decider="bob", label="include")
    # dual screening: dave is not sent record 1, which alice and bob settled, nor told how they decided it
    from metasift.store import review_queue as rq

    dave = _as(pg_url, "dave")
    assert rq.open_ids(dave, TA, "dave", rq.Counting(needed=2)) == {2, 3, 4}
    assert rq.decide(dave, record_id=1, stage=TA, reviewer="dave", label="include",
                     counting=rq.Counting(needed=2)) is None
    assert rq.decide(dave, record_id=2, stage=TA, reviewer="dave", label="include",
                     counting=rq.Counting(needed=2)) is not None
    assert [d.decider for d in dave.decisions()] == ["dave"]
    # the audit log records the role that wrote each row, whatever name the client gave
    rows = plain_sql("metasift_admin", "SELECT actor, db_role FROM events WHERE action = 'decide' ORDER BY id")
    assert rows == [("alice", "alice"), ("bob", "bob"), ("dave", "dave")]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        plain_sql("bob", "INSERT INTO metasift_open_stages (stage) VALUES ('title_abstract')")
    # the arbiter opens the stage's conflicts: now bob sees alice's decision
    monkeypatch.setenv("METASIFT_REVIEWER", "carol")
    carol_url = pg_url.replace("metasift_admin@", "carol@")
    (project / "review.toml").write_text((project / "review.toml").read_text().replace(pg_url, carol_url))
    assert cli("store", "open-stage", TA, "--project", project).exit_code == 0
    assert sorted(plain_sql("bob", "SELECT id, decider FROM decisions"))[:2] == [(mine, "alice"), (mine + 1, "bob")]
    assert sorted(r[0] for r in plain_sql("bob", "SELECT decider FROM decisions")) == ["alice", "bob", "dave"]
    for s in (alice, bob, carol, dave):
        s.close()


def test_credentials_stay_out_of_review_toml_the_store_the_output_and_exports(
        project: Path, pg_cluster, pg_url: str, cli, monkeypatch, tmp_path: Path) -> None:
    passwords = _team(project, pg_cluster, pg_url, cli, monkeypatch)
    monkeypatch.delenv("METASIFT_NEW_PASSWORD")
    shown = cli("store", "add-reviewer", "erin", "--project", project)  # a generated password, shown once
    assert shown.exit_code == 0
    generated = shown.stderr.split(":erin:")[1].split()[0]
    secrets = [*passwords.values(), generated, pg_cluster.passwords["metasift_admin"]]
    outputs = [shown.stdout]
    for args in (("status", "--json"), ("export", "--what", "decisions", "--out", tmp_path / "d.csv"),
                 ("export", "--out", tmp_path / "r.csv"), ("store", "pull", tmp_path / "snap.db")):
        done = cli(*args, "--project", project)
        assert done.exit_code == 0, done.stderr
        outputs += [done.stdout, done.stderr]
    files = [project / "review.toml", tmp_path / "d.csv", tmp_path / "r.csv", tmp_path / "snap.db",
             project / "metasift.db"]
    everything = "\n".join(outputs).encode() + b"".join(f.read_bytes() for f in files)
    store = Store.open(project)
    with store.read() as conn:  # every text the server store holds, and the roles' catalogue entries
        for tb in raw_tables():
            everything += repr(conn.execute(select(tb)).all()).encode()
    store.close()
    for secret in secrets:
        assert secret.encode() not in everything


def test_an_unreachable_server_and_a_missing_grant_are_one_line_each(project: Path, pg_cluster, pg_url: str,
                                                                     cli, monkeypatch) -> None:
    config = project / "review.toml"
    config.write_text(config.read_text() + '\n[store]\nurl = "postgresql://nobody@/x?host=/nonexistent&port=5999"\n')
    down = cli("status", "--project", project)
    assert down.exit_code == 3 and len(down.stderr.strip().splitlines()) == 1
    assert "cannot reach the server" in down.stderr and "nobody@/nonexistent:5999/x" in down.stderr
    # TLS settings in the URL reach libpq (here one it rejects, in one line)
    config.write_text(config.read_text().split("\n[store]")[0] + f'\n[store]\nurl = "{pg_url}&sslmode=bogus"\n')
    tls = cli("status", "--project", project)
    assert tls.exit_code == 3 and 'invalid sslmode value: "bogus"' in tls.stderr
    assert len(tls.stderr.strip().splitlines()) == 1
    config.write_text(config.read_text().split("\n[store]")[0])
    _team(project, pg_cluster, pg_url, cli, monkeypatch)
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("REVOKE INSERT ON decisions FROM bob"))
    engine.dispose()
    bob = _as(pg_url, "bob")
    from metasift.store.postgres import ServerError

    with pytest.raises(ServerError, match=r"bob@.*lacks a grant \(permission denied for table decisions\)"):
        bob.add_decision(record_id=1, stage=TA, decider_kind="human", decider="bob", label="include")
    bob.close()
    wrong = make_engine(pg_url.replace("metasift_admin@", "mallory@"))
    with pytest.raises(ServerError, match="refused the login"):
        wrong.connect()
