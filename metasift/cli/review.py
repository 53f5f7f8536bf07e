"""Human review: ``review`` (the screening app), ``conflicts`` (list / resolve), ``agreement`` (audit)."""

from __future__ import annotations

import random
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from metasift.cli._common import JsonOption, ProjectOption, console, emit_json, info, project_dir, warn
from metasift.errors import ConfigError


class StageName(str, Enum):
    title_abstract = "title_abstract"
    full_text = "full_text"


StageOption = typer.Option(StageName.title_abstract, "--stage", "-s", help="Screening stage.")
ReviewerOption = typer.Option(None, "--reviewer", "-r", help="Your name as listed in review.toml "
                              "(default: $METASIFT_REVIEWER, or the only reviewer).")


def review(
    reviewer: str | None = ReviewerOption,
    stage: StageName = StageOption,
    sample: int | None = typer.Option(None, "--sample", min=1, help="Screen a random calibration sample of N "
                                      "records instead of the ranked queue."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the calibration sample (use the same seed "
                                    "for every reviewer; recorded with each decision)."),
    include_auto: bool = typer.Option(False, "--include-auto-excluded", help="Also show records excluded by "
                                      "a rule or the routing policy."),
    audit_exclusions: bool = typer.Option(False, "--audit-exclusions", help="List every record excluded "
                                          "without a human (rule or model) with its reason, and the exclusion "
                                          "audit's estimate of how many are wrong; opens no app."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Screen records one at a time: i include, e exclude, m maybe, u undo, r reasons, n note, / search, ? help.

    Each keypress is saved at once; quit any time and re-open to resume where you stopped. You see only
    records that still need your decision (humans_per_record in review.toml) and never another reviewer's
    decision (blinded). The order is by the ranker's P(include) when there is one, else by record id.

    With --audit-exclusions it lists the automated exclusions instead (use --include-auto-excluded to
    screen them yourself).
    """
    from metasift.screener.review_session import QUEUE_HEAD, ReviewSession, pick_reviewer
    from metasift.tui.review_app import ReviewApp

    root = project_dir(project)
    from metasift.config import load_protocol  # loads here, not at start-up (issue #15)
    from metasift.store import Store

    protocol = load_protocol(root)
    if audit_exclusions:
        _audit_exclusions(root, protocol, json_out)
        return
    who = pick_reviewer(protocol, reviewer)
    if seed is not None and not sample:
        raise ConfigError("--seed only makes sense with --sample N")
    if sample and seed is None:
        seed = random.SystemRandom().randrange(1, 2**31)
        info(f"calibration sample seed: {seed} (give every reviewer --sample {sample} --seed {seed})")
    if protocol.screening.model_counts_as_reviewer and protocol.screening.humans_per_record == 1:
        warn("model_counts_as_reviewer with humans_per_record = 1: records the model decided need no human")
    store = Store.open(root)
    try:
        session = ReviewSession(store, protocol, who.name, stage.value, sample=sample, seed=seed,
                                include_auto=include_auto, head=QUEUE_HEAD)
        ReviewApp(session).run()
        session.finish()  # the worker processes stop before the store closes
        info(f"{who.name}: {session.done} decision(s) at {stage.value}, {session.remaining} left — all saved")
    finally:
        store.close()


def _audit_exclusions(root: Path, protocol: Any, json_out: bool) -> None:
    from metasift.eval.exclusion_audit import exclusion_audit, summary_line
    from metasift.store import Store
    from metasift.store import review_queue as rq

    store = Store.open(root)
    try:
        audit = exclusion_audit(store, rq.Counting.of(protocol))
    finally:
        store.close()
    if json_out:
        emit_json(audit.model_dump())
        return
    table = Table(title=f"Automated exclusions at title/abstract ({audit.automated}, "
                        f"{audit.audited} held for the audit)", header_style="bold")
    for col in ("record", "by", "reason", "audit", "title"):
        table.add_column(col, overflow="fold")
    for e in audit.exclusions:
        audit_cell = (e.human_label or "awaiting a human") if e.audited else ""
        table.add_row(str(e.record_id), e.by, e.reason, audit_cell, (e.title or "")[:70])
    console.print(table)
    info(summary_line(audit))


def conflicts(
    stage: StageName = StageOption,
    resolve: bool = typer.Option(False, "--resolve", help="Go through them and record consensus decisions."),
    reviewer: str | None = ReviewerOption,
    with_maybe: bool = typer.Option(False, "--with-maybe", help="Also list records whose decisions agree only "
                                    "through 'maybe' (not settled as include or exclude)."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """List records whose counted decisions disagree, or resolve them (--resolve --reviewer NAME).

    Counted: each human's decision, and the model's when screening.model_counts_as_reviewer is on.
    'maybe' counts as include here, so only include-vs-exclude is a conflict. A resolution is saved as a
    decision of kind 'consensus' with its reasons and note; the original decisions stay.
    """
    from metasift.config import load_protocol  # loads here, not at start-up (issue #15)
    from metasift.screener.review_session import ConflictSession, pick_reviewer
    from metasift.store import Store
    from metasift.store import review_queue as rq

    root = project_dir(project)
    protocol = load_protocol(root)
    store = Store.open(root)
    try:
        if resolve:
            from metasift.tui.conflict_app import ConflictApp

            arbiter = pick_reviewer(protocol, reviewer, arbiter=True)
            session = ConflictSession(store, protocol, arbiter, stage.value, with_maybe=with_maybe)
            if not session.items:
                info("no conflicts to resolve")
                return
            ConflictApp(session).run()
            info(f"{len(session.resolved)} conflict(s) resolved by {arbiter.name} — saved")
            return
        found = rq.conflicts(store, stage.value, rq.Counting.of(protocol), with_maybe=with_maybe)
    finally:
        store.close()
    if json_out:
        emit_json({"stage": stage.value, "n": len(found), "conflicts": [c.model_dump() for c in found]})
        return
    if not found:
        info(f"no conflicts at {stage.value}")
        return
    table = Table(title=f"Conflicts at {stage.value} ({len(found)})", header_style="bold")
    for col in ("record", "title", "decisions"):
        table.add_column(col, overflow="fold")
    for c in found:
        said = "; ".join(f"{d.decider}: {d.label}" + (f" ({', '.join(d.reasons)})" if d.reasons else "")
                         for d in c.decisions)
        table.add_row(str(c.record_id), (c.title or "")[:80], said)
    console.print(table)
    info("resolve them with: metasift conflicts --resolve --reviewer NAME")


# -- agreement -------------------------------------------------------------------------------------------------
PlotOption = typer.Option(None, "--plot", help="Also draw the table and intervals to this PNG.")


def agreement_cmd(
    stage: StageName = StageOption,
    side_a: str | None = typer.Option(None, "--a", help="First side: human:NAME, model, model:NAME or consensus."),
    side_b: str | None = typer.Option(None, "--b", help="Second side (the reference when it is consensus)."),
    plot: Path | None = PlotOption,
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Agreement between two deciders: 2×2 table, % agreement, Cohen's kappa (95% CI), PABAK, Gwet's AC1.

    With the model or consensus on one side also sensitivity, specificity, precision and NPV (Wilson 95%
    CIs), taking consensus (else the human) as the truth and include as positive. 'maybe' counts as
    include; unsure/error decisions are left out. Consensus = the consensus decision, else the agreeing
    humans' label. Per criterion, 'positive' means the criterion is not met: the model's verdict
    'not_met' vs the criterion named among a human's exclusion reasons (exclusions without reasons are
    left out; include/maybe = no criterion failed). Default sides: the first two reviewers.
    """
    from metasift.config import load_protocol
    from metasift.eval.agreement_report import (
        agreement_report,  # scipy: 1.4 s of every start-up before (issue #15)
    )
    from metasift.store import Store

    root = project_dir(project)
    protocol = load_protocol(root)
    if bool(side_a) != bool(side_b):
        raise ConfigError("give both --a and --b (e.g. --a model --b consensus), or neither")
    if not side_a or not side_b:
        names = [r.name for r in protocol.reviewers if r.role == "reviewer"]
        if len(names) < 2:
            raise ConfigError("give --a and --b (e.g. --a model --b consensus): review.toml lists fewer than "
                              "two reviewers")
        side_a, side_b = f"human:{names[0]}", f"human:{names[1]}"
    store = Store.open(root)
    try:
        report = agreement_report(store, protocol, stage.value, side_a, side_b)
    finally:
        store.close()
    if plot:
        _plot(report, plot)
    if json_out:
        emit_json(report)
        return
    _print_report(report)
    if plot:
        info(f"plot written to {plot}")


def _fmt(x: float | None, ci: Any = None) -> str:
    if x is None:
        return "—"
    return f"{x:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _print_report(r: dict[str, Any]) -> None:
    if r["n"] == 0:
        warn(f"no record has a decision from both {r['a']} and {r['b']} at {r['stage']}")
    (a, b), (c, d) = r["table"]
    table = Table(title=f"{r['a']} (rows) vs {r['b']} (columns) — {r['stage']}, n = {r['n']}", header_style="bold")
    for col in ("", f"{r['b']}: include", f"{r['b']}: exclude"):
        table.add_column(col, justify="right")
    table.add_row(f"{r['a']}: include", str(a), str(b))
    table.add_row(f"{r['a']}: exclude", str(c), str(d))
    console.print(table)
    stats = Table(header_style="bold", title="Statistics (95% CIs)")
    stats.add_column("statistic")
    stats.add_column("overall", justify="right")
    per = r.get("per_criterion", {})
    for cid in per:
        stats.add_column(cid, justify="right", overflow="fold")
    rows = [("n", lambda x: str(x["n"])), ("% agreement", lambda x: _fmt(x["percent_agreement"])),
            ("Cohen's kappa", lambda x: _fmt(x["kappa"], x["kappa_ci"])), ("PABAK", lambda x: _fmt(x["pabak"])),
            ("Gwet's AC1", lambda x: _fmt(x["ac1"]))]
    if r.get("reference"):
        rows += [(name, lambda x, k=key: _fmt(x[k]["estimate"], x[k]["ci"]) if x.get(k) else "—")
                 for name, key in (("sensitivity", "sensitivity"), ("specificity", "specificity"),
                                   ("precision", "precision"), ("NPV", "npv"))]
    for name, get in rows:
        stats.add_row(name, get(r), *(get(per[cid]) for cid in per))
    console.print(stats)
    if r.get("reference"):
        info(f"reference (truth): {r['reference']}; positive = include (per criterion: criterion not met)")
    if r.get("rule_criteria_left_out"):
        info("per criterion: left out as decided by rules, not reviewers: " + ", ".join(r["rule_criteria_left_out"]))


def _plot(r: dict[str, Any], path: Path) -> None:
    """The 2×2 table and the statistics with their intervals, overall and per criterion."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_s) = plt.subplots(1, 2, figsize=(11, 4.5), gridspec_kw={"width_ratios": [1, 2]})
    ax_t.imshow(r["table"], cmap="Blues")
    for i in range(2):
        for j in range(2):
            ax_t.text(j, i, str(r["table"][i][j]), ha="center", va="center", fontsize=14)
    ax_t.set_xticks([0, 1], ["include", "exclude"])
    ax_t.set_yticks([0, 1], ["include", "exclude"])
    ax_t.set_xlabel(r["b"])
    ax_t.set_ylabel(r["a"])
    ax_t.set_title(f"n = {r['n']}")
    rows: list[tuple[str, float, tuple[float, float] | None]] = []
    for label, res in [("overall", r), *r.get("per_criterion", {}).items()]:
        if res.get("kappa") is not None:
            rows.append((f"{label}: kappa", res["kappa"], res["kappa_ci"]))
        for key in ("sensitivity", "specificity"):
            p = res.get(key)
            if p and p["estimate"] is not None:
                rows.append((f"{label}: {key}", p["estimate"], p["ci"]))
    for y, (_label, est, ci) in enumerate(reversed(rows)):
        if ci:
            ax_s.plot(ci, [y, y], color="0.4")
        ax_s.plot([est], [y], "o", color="C0")
    ax_s.set_yticks(range(len(rows)), [lab for lab, _, _ in reversed(rows)])
    ax_s.set_xlim(-0.05 if all(e >= 0 for _, e, _ in rows) else -1, 1.05)
    ax_s.axvline(0, color="0.8", lw=0.8)
    ax_s.set_title("estimates with 95% CIs")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def register(app: typer.Typer) -> None:
    app.command("review")(review)
    app.command("conflicts")(conflicts)
    app.command("agreement")(agreement_cmd)
