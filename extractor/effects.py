"""Hand-off to the analysis: effect sizes from verified outcome values, one row per outcome x timepoint.

yi is Hedges' g of intervention minus control (``analysis.effect_sizes.smd``, metafor's exact J and
vi); on symptom scales, where lower is better, a negative g favours the intervention. Rows carry a
study id and an effect-size id so multilevel models can nest effects in studies.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from pydantic import BaseModel

from analysis.effect_sizes import smd
from metasift.report.rob import study_label
from metasift.store import Store

CONTROL = re.compile(r"control|wait[- ]?list|placebo|usual care|\btau\b|no[- ]intervention|comparison|sham",
                     re.I)
TRUSTED = ("auto_verified", "verified")


class EffectRow(BaseModel):
    study_id: int
    es_id: int
    study: str
    record_id: int
    year: int | None
    measure: str
    timepoint: str
    intervention: str
    control: str
    m1: float
    sd1: float
    n1: int
    m2: float
    sd2: float
    n2: int
    yi: float
    vi: float
    verified: bool


def pick_arms(names: list[str]) -> tuple[str, str] | None:
    """(intervention, control) from arm names; None when no arm reads as a control."""
    controls = [n for n in names if CONTROL.search(n)]
    others = [n for n in names if n not in controls]
    if len(controls) == 1 and len(others) >= 1:
        return others[0], controls[0]
    return None


def effect_rows(store: Store, *, include_unverified: bool = False) -> tuple[list[EffectRow], list[str]]:
    """Effect sizes for every included study with outcome data; also the reasons rows were left out."""
    records = {r["id"]: r for r in store.records_table(primary_only=True)}
    problems: list[str] = []
    rows: list[EffectRow] = []
    by_record: dict[int, list[dict[str, Any]]] = {}
    for x in store.extractions():
        if x["field"].startswith("outcome_") and x["status"] != "rejected":
            by_record.setdefault(x["record_id"], []).append(x)
    labels = store.final_labels("full_text")
    for rid in sorted(by_record):
        if labels.get(rid) == "exclude":
            continue
        cells: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        for x in by_record[rid]:
            cells.setdefault((x["measure"], x["timepoint"]), {}).setdefault(x["arm"], {})[x["field"]] = x
        name = study_label(records.get(rid, {}))
        for (measure, timepoint), arms in sorted(cells.items()):
            pair = pick_arms(list(arms))
            if pair is None:
                problems.append(f"{name}: {measure} at {timepoint}: cannot tell the control arm among "
                                f"{sorted(arms)}")
                continue
            values = [arms[a].get(f) for a in pair for f in ("outcome_mean", "outcome_sd", "outcome_n")]
            if any(v is None for v in values):
                problems.append(f"{name}: {measure} at {timepoint}: mean, SD or n missing for an arm")
                continue
            trusted = all(v["status"] in TRUSTED for v in values)
            if not trusted and not include_unverified:
                problems.append(f"{name}: {measure} at {timepoint}: values not verified yet (metasift verify)")
                continue
            m1, sd1, n1, m2, sd2, n2 = (v["value"] for v in values)
            es = smd(m1, sd1, n1, m2, sd2, n2)
            rows.append(EffectRow(study_id=rid, es_id=len(rows) + 1, study=name, record_id=rid,
                                  year=records.get(rid, {}).get("year"), measure=measure,
                                  timepoint=timepoint, intervention=pair[0], control=pair[1], m1=m1, sd1=sd1,
                                  n1=int(n1), m2=m2, sd2=sd2, n2=int(n2), yi=float(np.ravel(es.yi)[0]),
                                  vi=float(np.ravel(es.vi)[0]), verified=trusted))
    return rows, problems
