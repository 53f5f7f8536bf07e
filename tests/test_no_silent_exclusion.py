"""No record leaves screening unseen without a reason a reviewer can audit: a draft protocol excludes nothing,
a random share of automated exclusions goes to humans, and counts are in records."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from metasift.eval.exclusion_audit import exclusion_audit, upper_bound
from metasift.records import Record
from metasift.screener.routing import RoutingPolicy, Signals, in_audit_sample, route
from metasift.store import Store
from metasift.store import review_queue as rq
from tests.helpers import edit_protocol, seed_store

OLD = [Record(title=f"A 1999 trial of peer support number {i}", year=1999, abstract="Randomised.") for i in range(40)]
NEW = [Record(title=f"A 2019 trial of peer support number {i}", year=2019, abstract="Randomised.") for i in range(20)]


def _screen(cli, project: Path) -> dict:
    result = cli("screen", "--no-llm", "--project", project, "--json")
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_an_unconfirmed_starter_protocol_excludes_nothing_and_says_why(draft_project: Path, cli) -> None:
    seed_store(draft_project, OLD + NEW).close()
    out = _screen(cli, draft_project)
    assert out["rules"]["excluded"] == 0 and out["rules"]["flagged"] == 40
    assert out["routing"]["counts"]["auto_exclude"] == 0
    store = Store.open(draft_project)
    routes = store.current_routes("title_abstract")
    assert store.final_labels("title_abstract") == {}  # nothing settled without a human
    store.close()
    held = [r.reason for r in routes.values() if r.reason.startswith("protocol is a draft")]
    assert len(held) == 40 and "published_after_2005 not met" in held[0]
    status = cli("status", "--project", draft_project)
    assert "unconfirmed draft" in status.stderr and "metasift confirm" in status.stderr


def test_confirming_the_protocol_records_who_and_lets_its_rules_exclude(draft_project: Path, cli) -> None:
    seed_store(draft_project, OLD + NEW).close()
    _screen(cli, draft_project)
    confirmed = cli("confirm", "--as", "alice", "--project", draft_project, "--json")
    assert confirmed.exit_code == 0, confirmed.stderr
    assert "draft = false" in (draft_project / "review.toml").read_text()
    out = _screen(cli, draft_project)  # the rules version changed: every record is checked again
    audited = sum(in_audit_sample(rid, 0.1) for rid in range(1, 41))
    assert out["rules"]["excluded"] == 40 - audited and out["rules"]["flagged"] == audited
    db = sqlite3.connect(draft_project / "metasift.db")
    actor, payload = db.execute("select actor, payload from events where action = 'protocol_confirmed'").fetchone()
    db.close()
    assert actor == "alice" and len(json.loads(payload)["sha256"]) == 64


def test_the_exclusion_audit_sends_a_stable_random_share_to_humans() -> None:
    share = [in_audit_sample(rid, 0.1) for rid in range(1, 20001)]
    assert 0.09 < sum(share) / len(share) < 0.11
    assert all(in_audit_sample(rid, 0.2) for rid in range(1, 20001) if in_audit_sample(rid, 0.1))
    audited = next(rid for rid in range(1, 100) if in_audit_sample(rid, 0.1))
    policy = RoutingPolicy(audit_sample=0.1)
    held = route(Signals(rule_exclude=True, rule_criteria=["year"]), policy, audited)
    assert held.route == "human" and held.reason.startswith("exclusion audit")
    assert route(Signals(rule_exclude=True), RoutingPolicy(audit_sample=0.1, draft=True), audited).route == "human"


@pytest.mark.parametrize("k, n", [(0, 10), (1, 20), (3, 30), (7, 400)])
def test_the_false_exclusion_bound_is_the_exact_one_sided_clopper_pearson_bound(k: int, n: int) -> None:
    from scipy.stats import binom

    ub = upper_bound(k, n)
    assert binom.cdf(k, n, ub) == pytest.approx(0.05, abs=1e-9)  # the defining property: P(X <= k | ub) = 5%
    if k == 0:
        assert ub == pytest.approx(1 - 0.05 ** (1 / n), abs=1e-12)  # the closed form
    assert upper_bound(5, 5) == 1.0 and upper_bound(0, 0) is None


def test_audited_exclusions_a_human_includes_are_counted_as_false_exclusions(project: Path, cli) -> None:
    seed_store(project, OLD + NEW).close()
    _screen(cli, project)
    store = Store.open(project)
    counting = rq.Counting(needed=2)
    audit = exclusion_audit(store, counting)
    audited = [e.record_id for e in audit.exclusions if e.audited]
    assert audit.automated == 40 - len(audited) and audit.by == {"rule": 40 - len(audited)} and audited
    for i, rid in enumerate(audited):  # two reviewers agree: the first audited record was a real include
        for who in ("alice", "bob"):
            store.add_decision(record_id=rid, stage="title_abstract", decider_kind="human", decider=who,
                               label="include" if i == 0 else "exclude")
    audit = exclusion_audit(store, counting)
    store.close()
    assert audit.checked == len(audited) and audit.wrongly_excluded == 1
    assert audit.upper95 == pytest.approx(upper_bound(1, len(audited)))
    assert audit.missed_upper95 == pytest.approx(audit.upper95 * audit.automated)
    listed = cli("review", "--audit-exclusions", "--project", project, "--json").json()
    assert listed["wrongly_excluded"] == 1 and len(listed["exclusions"]) == 40
    assert all(e["reason"] == "rule: published_after_2005 not met" for e in listed["exclusions"])


def test_status_and_prisma_count_records_not_decisions(project: Path, cli) -> None:
    seed_store(project, NEW).close()
    edit_protocol(project, **{"audit_sample = 0.1": "audit_sample = 0.0"})
    store = Store.open(project)
    for rid in range(1, 6):  # dual screening: 5 records, 10 decisions, all agreeing excludes
        for who in ("alice", "bob"):
            store.add_decision(record_id=rid, stage="title_abstract", decider_kind="human", decider=who,
                               label="exclude")
    store.add_decision(record_id=6, stage="title_abstract", decider_kind="human", decider="alice", label="exclude")
    store.close()
    stages = cli("status", "--project", project, "--json").json()["stages"]
    ta = stages["title_abstract"]
    assert (ta["records"], ta["excluded"], ta["awaiting"], ta["human_decisions"]) == (20, 5, 15, 11)
    prisma = cli("prisma", "--project", project, "--json").json()
    assert prisma["records_screened"] == 5 and prisma["awaiting_screening"] == 15



def test_record_text_in_tables_is_never_markup_or_terminal_codes(project: Path, cli,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # one line per table row
    hostile = "A trial [/bold] of [red]peer[/red] support \x1b[31m in 1999"
    seed_store(project, [Record(title=hostile, year=1999, abstract="Randomised.")]).close()
    _screen(cli, project)
    listed = cli("review", "--audit-exclusions", "--project", project)
    assert listed.exit_code == 0, listed.stderr
    assert "[/bold]" in listed.stdout and "[red]peer[/red]" in listed.stdout and "\x1b" not in listed.stdout
