"""A review team on one PostgreSQL server: eight reviewers deciding at once, plus `screen` and an `import`.

Starts a throwaway PostgreSQL cluster (tests/pgserver.py; skipped with a message where the server binaries
are missing), builds a 50,000-record SQLite project (titles and abstracts from ../shared's labelled screening
sets, repeated, or synthetic text), pushes it to the server (`metasift store push`, timed), adds eight
reviewer roles (`metasift store add-reviewer r1..r8`, blinding on), times 60 keys of r1 alone (what the
server itself costs), and then, at the same moment:
- eight reviewer processes, each connected as its own role, each taking DECISIONS records through the real
  ReviewSession under dual screening (two humans per record), listed in review.toml (so each takes its
  own lane of the ranked queue: ``review_queue.spread``): one "key" = the decision taken + the next record
  that still needs this reviewer + that record read for display, timed per key, while a writer thread
  commits the decision (the guarded write) in key order, as the review app's writer worker does; the time
  from key to commit is printed too. BENCH_TEAM_THINK (seconds) adds reading time between keys;
- `metasift screen` (rules + ranker over the 50,000 records, writing a ranking run and routes) and
  `metasift import` of a 2,000-record RIS file, both as the owner, as subprocesses.

Printed: decisions per second (all reviewers), key latency p50 / p95 / max, how many keys found the record
already settled by others (nothing written, as the app shows), lost decisions (reported written but not in
the store), doubled ones (a record with more than two human decisions or a reviewer twice on one record),
and how screen and import ended.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
N = 50_000
REVIEWERS = [f"r{i}" for i in range(1, 9)]
DECISIONS = int(os.environ.get("BENCH_TEAM_DECISIONS", "150"))
IMPORTED = 2_000
THINK = float(os.environ.get("BENCH_TEAM_THINK", "0"))  # seconds a reviewer reads between keys


def build(project: Path) -> None:
    from bench.bench_review import seed_project

    store = seed_project(project, N)
    toml = project / "review.toml"  # the team's screeners listed, as a team's review.toml lists them
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        "[screening]", "".join(f'[[reviewers]]\nname = "{who}"\n\n' for who in REVIEWERS) + "[screening]", 1),
        encoding="utf-8")
    with store.write() as conn:  # a few settled labels, so `screen` can train its ranker
        for rid in range(1, 41):
            for who in ("alice", "bob"):
                store.add_decision(record_id=N - rid, stage="title_abstract", decider_kind="human", decider=who,
                                   label="include" if rid % 4 == 0 else "exclude", conn=conn)
    store.close()


def write_ris(path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(IMPORTED):
            fh.write(f"TY  - JOUR\nTI  - Imported trial {i} of group therapy for anxiety in adolescents\n"
                     f"AB  - A randomised controlled trial number {i} with a waiting-list control.\n"
                     f"PY  - {2000 + i % 24}\nDO  - 10.9999/imported.{i}\nER  - \n\n")


def reviewer(project: str, url: str, who: str, start: float, out: multiprocessing.Queue,
             n_keys: int = DECISIONS) -> None:
    from metasift.config import load_protocol
    from metasift.screener.review_session import ReviewSession
    from metasift.store import Store

    store = Store.from_url(url, Path(project))
    session = ReviewSession(store, load_protocol(Path(project)), who)
    rid = session.current_id()
    session.record(rid)
    while time.time() < start:
        time.sleep(0.001)
    keys: list[float] = []
    commits: list[float] = []
    written: list[int] = []
    skipped = 0
    # as the review app does: the key takes the decision and shows the next record at once; one writer
    # thread commits the decisions in key order (``ReviewSession.take`` / ``write`` / ``settle``)
    todo: queue.Queue = queue.Queue()
    back: queue.Queue = queue.Queue()

    def writer() -> None:
        while (job := todo.get()) is not None:
            pending, t_key = job
            back.put((pending, session.write(pending), (time.perf_counter() - t_key) * 1000))

    thread = threading.Thread(target=writer)
    thread.start()

    def drain(block: bool) -> None:
        nonlocal skipped
        while True:
            try:
                pending, did, ms = back.get(block=block, timeout=60)
            except queue.Empty:
                return
            block = False
            commits.append(ms)
            done = session.settle(pending, did)
            if done.decision_id is None:
                skipped += 1
            else:
                written.append(done.decision_id)

    for n in range(n_keys):
        drain(False)
        if session.current_id() is None:
            break
        t0 = time.perf_counter()
        pending = session.take("include" if n % 5 == 0 else "exclude")
        todo.put((pending, t0))
        nxt = session.current_id()
        if nxt is not None:
            session.record(nxt)
        keys.append((time.perf_counter() - t0) * 1000)
        time.sleep(THINK)  # a reviewer reads before the next key
    todo.put(None)
    thread.join()
    drain(False)
    store.close()
    out.put((who, keys, written, skipped, time.time(), commits))


def main() -> int:
    from tests.pgserver import ADMIN, Cluster, missing

    why = missing()
    if why:
        print(f"skipped: no PostgreSQL server for the bench: {why}")
        return 0
    cluster = Cluster().start()
    os.environ["PGPASSFILE"] = str(cluster.pgpass)
    try:
        return run(cluster, ADMIN)
    finally:
        cluster.stop()


def cli(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "metasift", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, **(env or {})})


def run(cluster, admin: str) -> int:
    from sqlalchemy import text

    from metasift.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="bench-team-"))
    project = tmp / "review"
    t0 = time.perf_counter()
    build(project)
    print(f"built a {N:,}-record SQLite project in {time.perf_counter() - t0:.1f} s")
    url = cluster.url(cluster.create_database())
    t0 = time.perf_counter()
    pushed = cli("store", "push", url, "--project", project)
    assert pushed.returncode == 0, pushed.stderr
    print(f"store push: {time.perf_counter() - t0:.1f} s for the whole project")
    for who in REVIEWERS:
        password = f"bench-{who}-pw"
        made = cli("store", "add-reviewer", who, "--project", project, env={"METASIFT_NEW_PASSWORD": password})
        assert made.returncode == 0, made.stderr
        cluster.add_password(who, password)
    ris = tmp / "more.ris"
    write_ris(ris)

    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    # first one reviewer alone (nothing else running): the latency the server itself costs
    solo = ctx.Process(target=reviewer, args=(str(project), url.replace(f"{admin}@", "r1@"), "r1", time.time(), out,
                                              60))
    solo.start()
    solo_result = out.get(timeout=600)
    solo.join(timeout=60)
    solo_keys = sorted(solo_result[1])
    start = time.time() + 25  # every reviewer opens its session (queue of 50,000) before the clock starts
    procs = [ctx.Process(target=reviewer, args=(str(project), url.replace(f"{admin}@", f"{who}@"), who, start, out))
             for who in REVIEWERS]
    for p in procs:
        p.start()
    while time.time() < start:
        time.sleep(0.01)
    t_screen = time.perf_counter()
    screen = subprocess.Popen([sys.executable, "-m", "metasift", "screen", "--project", str(project)],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    imported = subprocess.Popen([sys.executable, "-m", "metasift", "import", str(ris), "--project", str(project)],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = [out.get(timeout=1800) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    ended = max(r[4] for r in results)
    imp_err = imported.communicate(timeout=1800)[1]
    t_import = time.perf_counter() - t_screen
    scr_err = screen.communicate(timeout=1800)[1]
    t_screen = time.perf_counter() - t_screen

    keys = sorted(k for r in results for k in r[1])
    written = {who: ids for who, _, ids, _, _, _ in results}
    written["r1"] = written.get("r1", []) + solo_result[2]
    skipped = sum(r[3] for r in results)
    commits = sorted(c for r in results for c in r[5])
    owner = Store.open(project)
    with owner.read() as conn:
        rows = conn.execute(text("SELECT id, record_id, decider FROM decisions WHERE decider_kind = 'human' "
                                 "AND retracted_at IS NULL AND decider LIKE 'r_'")).all()
        imported_n = conn.execute(text("SELECT count(*) FROM records")).scalar_one() - N
        roles = dict(conn.execute(text("SELECT db_role, count(*) FROM events WHERE action = 'decide' "
                                       "AND actor LIKE 'r_' GROUP BY db_role")).all())
    owner.close()
    in_store = {r.id for r in rows}
    reported = {i for ids in written.values() for i in ids}
    lost = len(reported - in_store)
    phantom = len(in_store - reported)
    per_record: dict[int, list[str]] = {}
    for r in rows:
        per_record.setdefault(r.record_id, []).append(r.decider)
    doubled = sum(1 for v in per_record.values() if len(v) > 2 or len(set(v)) < len(v))
    n_written = len(reported)
    span = ended - start
    print(f"one reviewer alone first ({len(solo_keys)} keys): p50 {statistics.median(solo_keys):.1f} ms, "
          f"p95 {solo_keys[int(0.95 * (len(solo_keys) - 1))]:.1f} ms")
    print(f"reviewers: {len(REVIEWERS)} processes, each its own role; dual screening; {len(keys)} keys")
    print(f"decisions written: {n_written} in {span:.1f} s = {n_written / span:.1f} decisions/s "
          f"(+ {skipped} keys on records others had just settled: nothing written)")
    print(f"key -> next record on screen (take + next open record + its text; the write in the writer thread): "
          f"p50 {statistics.median(keys):.1f} ms, p95 {keys[int(0.95 * (len(keys) - 1))]:.1f} ms, max {keys[-1]:.1f} ms")
    print(f"key -> decision committed (writer thread): p50 {statistics.median(commits):.1f} ms, "
          f"p95 {commits[int(0.95 * (len(commits) - 1))]:.1f} ms, max {commits[-1]:.1f} ms")
    print(f"lost: {lost}; phantom: {phantom}; doubled: {doubled} (records with >2 human decisions or a "
          f"reviewer twice); records decided by two reviewers: {sum(1 for v in per_record.values() if len(v) == 2)}")
    print(f"audit: decide events by role {dict(sorted(roles.items()))}")
    print(f"screen: exit {screen.returncode} in {t_screen:.1f} s"
          + ("" if screen.returncode == 0 else f" — {scr_err.strip().splitlines()[-1:]}"))
    print(f"import of {IMPORTED:,} records: exit {imported.returncode} in {t_import:.1f} s, {imported_n} records added"
          + ("" if imported.returncode == 0 else f" — {imp_err.strip().splitlines()[-1:]}"))
    ok = lost == 0 and doubled == 0 and phantom == 0 and screen.returncode == 0 and imported.returncode == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
