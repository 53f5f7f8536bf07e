"""Agreement figures for the report: the first two reviewers, and the model against human consensus."""

from __future__ import annotations

from typing import Any

from metasift.config import Protocol
from metasift.errors import MetasiftError
from metasift.kinds import DeciderKind, Stage
from metasift.store import Store


def _fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _row(label: str, r: dict[str, Any]) -> dict[str, Any]:
    ci = r.get("kappa_ci")
    out = {"label": label, "n": r["n"], "percent_agreement": _fmt(r["percent_agreement"]),
           "kappa": _fmt(r["kappa"]), "kappa_ci": f"{_fmt(ci[0])}, {_fmt(ci[1])}" if ci else "—",
           "pabak": _fmt(r.get("pabak")), "ac1": _fmt(r.get("ac1"))}
    for key in ("sensitivity", "specificity", "precision", "npv"):
        p = r.get(key)
        out[key] = None if p is None else (f"{_fmt(p['estimate'])} [{_fmt(p['ci'][0])}, {_fmt(p['ci'][1])}]"
                                           if p.get("ci") else _fmt(p.get("estimate")))
    return out


def agreement_rows(store: Store, protocol: Protocol,
                   stage: str = Stage.TITLE_ABSTRACT) -> list[dict[str, Any]]:
    from metasift.eval.agreement_report import agreement_report

    humans = [r.name for r in protocol.reviewers if r.role == "reviewer"]
    pairs = []
    if len(humans) >= 2:
        pairs.append((f"{humans[0]} vs {humans[1]}", f"human:{humans[0]}", f"human:{humans[1]}"))
    if any(d.decider_kind == DeciderKind.MODEL for d in store.decisions(stage)):
        pairs.append(("model vs human consensus", "model", "consensus"))
    rows = []
    for label, a, b in pairs:
        try:
            report = agreement_report(store, protocol, stage, a, b)
        except MetasiftError:
            continue
        if report["n"]:
            rows.append(_row(label, report))
    return rows
