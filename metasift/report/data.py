"""Gather what the report shows, straight from the store (no cached numbers anywhere)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from metasift import __version__
from metasift.kinds import DeciderKind, ExtractionStatus, Label, RouteName, Stage
from metasift.labels import HUMAN_KINDS
from metasift.records import study_label
from metasift.store import Store


def screening_paths(store: Store, stage: str = Stage.TITLE_ABSTRACT) -> dict[str, int]:
    """How many records each path decided: rules, the routing policy, humans, still open."""
    current = store.current_routes(stage).values()
    routes = Counter(r.route for r in current)
    by_policy = sum(1 for r in current
                    if r.route == RouteName.AUTO_EXCLUDE and not (r.reason or "").startswith("rule:"))
    decisions = store.decisions(stage)
    rule_excluded = {d.record_id for d in decisions
                     if d.decider_kind == DeciderKind.RULE and d.label == Label.EXCLUDE}
    human = {d.record_id for d in decisions if d.decider_kind in HUMAN_KINDS}
    model = {d.record_id for d in decisions if d.decider_kind == DeciderKind.MODEL}
    labels = store.final_labels(stage)
    out = {"excluded by rules": len(rule_excluded), "drafted by the model": len(model),
           "auto-excluded by policy (model + ranker)": by_policy,
           "routed to humans": routes.get(RouteName.HUMAN, 0),
           "routed as likely include": routes.get(RouteName.LIKELY_INCLUDE, 0),
           "decided by humans": len(human),
           "settled include": sum(v == Label.INCLUDE for v in labels.values()),
           "settled exclude": sum(v == Label.EXCLUDE for v in labels.values())}
    return out


def versions(store: Store) -> dict[str, str]:
    """metasift's version, the models and prompt templates that made decisions, the rankers used."""
    out = {"metasift": __version__}
    models = Counter((d.model, d.prompt_hash) for d in store.decisions()
                     if d.decider_kind == DeciderKind.MODEL)
    for (model, prompt), n in sorted(models.items(), key=lambda kv: -kv[1]):
        out[f"model {model}"] = f"prompt {str(prompt)[:12]}…, {n} decisions"
    try:
        import numpy
        import scipy

        out["numpy / scipy"] = f"{numpy.__version__} / {scipy.__version__}"
    except ImportError:  # pragma: no cover
        pass
    return out


def evidence_rows(store: Store, labels: dict[int, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Included studies with their arms' numbers, each linked to its evidence row (page, quote, verifier)."""
    records = {r.id: r for r in store.records_table(primary_only=True)}
    evidence: list[dict[str, Any]] = []
    studies: list[dict[str, Any]] = []
    for rid, label in sorted(labels.items()):
        if label != Label.INCLUDE or rid not in records:
            continue
        rows = [r for r in store.extractions(record_id=rid) if r.status != ExtractionStatus.REJECTED]
        name = study_label(records[rid])
        arms: dict[str, dict[str, Any]] = {}
        for row in rows:
            verifier = (f"entered by hand by {row.updated_by}" if row.source == "human"
                        else f"verified by {row.updated_by}" if row.status == ExtractionStatus.VERIFIED
                        else "auto-verified by checks" if row.status == ExtractionStatus.AUTO_VERIFIED
                        else "needs a human")
            item = {"id": row.id, "study": name, "field": row.field + (f" [{row.arm}]" if row.arm else "")
                    + (f" {row.measure}" if row.measure else ""),
                    "value": "not reported" if row.value is None else row.value, "page": row.page,
                    "quote": row.quote or "", "verifier": verifier}
            evidence.append(item)
            if row.field in ("n_randomised", "n_analysed", "n_dropout") and row.arm:
                arms.setdefault(row.arm, {"name": row.arm})[row.field] = item
        studies.append({"record_id": rid, "label": name, "arms": list(arms.values())})
    return studies, evidence
