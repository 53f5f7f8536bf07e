"""The report's moderator analyses: the meta-regression of ``[analysis] moderators`` and one subgroup table
per ``[analysis] subgroups`` variable (issue #13), on the same effect sizes as the pooled models.

A moderator or subgroup variable names a field of the effect sizes (outcome, year, measure, timepoint...) or a
study-level field: a CSV imported with ``metasift studies import`` (which wins), else a value extracted for the
study as a whole (not per arm or measure, e.g. ``n_total``) that was verified. A field found in neither is a
``ConfigError`` naming it; a model that cannot be fitted (too few studies...) is a note in the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from metasift.analysis.metareg import MetaRegression, SubgroupTable, metareg, subgroups
from metasift.config import CONFIG_NAME, Protocol
from metasift.errors import AnalysisError, ConfigError
from metasift.extractor.effects import EffectRow
from metasift.kinds import ExtractionStatus
from metasift.moderators import parse_moderator
from metasift.pvalues import p_text
from metasift.store import Store

TRUSTED = (ExtractionStatus.AUTO_VERIFIED, ExtractionStatus.VERIFIED)


def study_fields(store: Store) -> dict[int, dict[str, Any]]:
    """{record_id: {field: value}}: verified study-wide extracted values, overridden by imported study fields."""
    out: dict[int, dict[str, Any]] = {}
    for row in store.extractions():
        if row.arm is None and row.measure is None and row.status in TRUSTED and \
                isinstance(row.value, (int, float, str)) and not isinstance(row.value, bool):
            out.setdefault(row.record_id, {})[row.field] = row.value
    for v in store.study_fields():
        out.setdefault(v.record_id, {})[v.field] = v.value
    return out


def effects_table(effects: list[EffectRow], fields: dict[int, dict[str, Any]]) -> pd.DataFrame:
    """One row per effect size: its own fields and its study's fields (None where the study has none)."""
    names = sorted({f for vals in fields.values() for f in vals})
    rows = []
    for e in effects:
        row = e.model_dump()
        own = fields.get(e.record_id, {})
        row.update({f: own.get(f) for f in names if f not in row})
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ModeratorSection:
    """What the report shows of the moderator analyses, and the methods sentence."""

    metareg: MetaRegression | None
    subgroups: list[SubgroupTable]
    labels: dict[str, dict[str, str]]    # per subgroup variable, level -> label shown (outcome ids -> labels)
    methods: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """report.json's ``moderators``, with the p-values as printed for the templates."""
        mr = None
        if self.metareg is not None:
            mr = self.metareg.to_dict()
            for c in mr["coefficients"]:
                c["p_text"] = p_text(c["p"])
            for t in mr["tests"]:
                t["p_text"] = p_text(t["p"])
            mr["heterogeneity"] = (f"σ² between studies = {self.metareg.sigma2[0]:.4f}, within studies = "
                                   f"{self.metareg.sigma2[1]:.4f}" if self.metareg.sigma2 is not None
                                   else f"tau² = {self.metareg.tau2:.4f}")
        tables = []
        for table in self.subgroups:
            d = table.to_dict()
            names = self.labels.get(table.variable, {})
            for r in d["rows"]:
                r["label"] = names.get(r["level"], r["level"])
                r["p_text"] = p_text(r["p"])
            if d["test"] is not None:
                d["test"]["p_text"] = p_text(d["test"]["p"])
            d["summary"] = seed_summary(d["rows"])
            tables.append(d)
        return {"metareg": mr, "subgroups": tables, "methods": self.methods, "notes": list(self.notes)}


def seed_summary(rows: list[dict[str, Any]]) -> str:
    """The subgroup results in one line as reviews print them: "Anxiety (ES = -0.44, n = 19); Depression (...)",
    n the number of effect sizes (and the studies they come from); a level not pooled says so."""
    parts = []
    for r in rows:
        studies = f"{r['n_studies']} stud{'y' if r['n_studies'] == 1 else 'ies'}"
        if r["estimate"] is None:
            parts.append(f"{r['label']} (not pooled, n = {r['k']}, {studies})")
        else:
            parts.append(f"{r['label']} (ES = {r['estimate']:.2f}, n = {r['k']}, {studies})")
    return "; ".join(parts)


def subgroup_forests(store: Store, protocol: Protocol, effects: list[EffectRow], out_dir: Path) -> dict[str, Path]:
    """One forest plot per [analysis] subgroups variable: every effect size under its subgroup, a diamond per
    subgroup (each level's own model, as the subgroup table) and one overall, the robust test under it."""
    from metasift.analysis.plots import subgroup_forest

    a = protocol.analysis
    if not a.subgroups or len(effects) < 2:
        return {}
    data = effects_table(effects, study_fields(store))
    labels = {"outcome": {o.id: o.label or o.id for o in protocol.outcomes}}
    rows = [f"{e.study}: {e.measure.split(' (')[0]}" + (f", {e.timepoint}" if e.timepoint and e.timepoint != "post"
                                                       else "") for e in effects]
    out: dict[str, Path] = {}
    for variable in a.subgroups:
        if variable not in data.columns:
            continue
        try:
            path, _ = subgroup_forest(data.yi, data.vi, rows, data.study_id, data.es_id, data[variable].tolist(),
                                      out_dir / f"forest_by_{variable}.png", method=a.method, rve=a.rve,
                                      test="knha" if a.test == "knha" else "z", group_labels=labels.get(variable),
                                      favours=a.favours, variable=variable)
        except AnalysisError:
            continue  # the subgroup table's notes say why
        out[f"Forest plot by {variable}: a pooled estimate per subgroup and overall"] = path
    return out


def _check_fields(protocol: Protocol, data: pd.DataFrame) -> None:
    """Every field named in [analysis] exists in the effect sizes or the study fields (else ConfigError)."""
    known = set(data.columns)
    named = [(f"analysis.moderators: {m!r}", parse_moderator(m).field) for m in protocol.analysis.moderators]
    named += [(f"analysis.subgroups: {s!r}", s) for s in protocol.analysis.subgroups]
    for where, name in named:
        if name not in known:
            raise ConfigError(f"{CONFIG_NAME}: {where}: no field {name!r} in the effect sizes or the study fields "
                              f"(known: {', '.join(sorted(known))}); import study fields with "
                              "`metasift studies import FILE.csv`")


def _methods(protocol: Protocol, mr: MetaRegression | None) -> str:
    a = protocol.analysis
    rve = a.rve if a.rve != "none" else "CR2"
    parts = []
    if a.moderators:
        model = (f"{mr.model} model" if mr is not None else
                 "three-level model (or random-effects model when each study gives one effect size)")
        parts.append(f"Moderators ({', '.join(a.moderators)}) were examined by mixed-effects meta-regression on the "
                     f"{model} ({a.method}), with {rve} cluster-robust standard errors and Satterthwaite degrees "
                     "of freedom, clustered by study, and a robust Wald test (HTZ) of each moderator, so a "
                     "categorical moderator is tested as a whole (Tipton & Pustejovsky 2015; metafor rma.mv + "
                     "clubSandwich). A threshold such as 'x > 70' enters as a 0/1 indicator; a categorical "
                     "moderator is compared with its first level in alphabetical order.")
    if a.subgroups:
        parts.append(f"Subgroups ({', '.join(a.subgroups)}): each level was pooled by its own model — three-level "
                     f"with {rve} robust variance where a study gives several effect sizes of that level (with 3 or "
                     f"more studies), else a random-effects model ({a.method}, "
                     f"{'Knapp–Hartung' if a.test == 'knha' else 'z'} test); the test of subgroup differences is "
                     "the robust Wald test (HTZ) of the subgroup variable as a moderator of one model over all "
                     "levels.")
    return " ".join(parts)


def moderator_section(store: Store, protocol: Protocol, effects: list[EffectRow]) -> ModeratorSection | None:
    """The meta-regression and subgroup tables [analysis] asks for; None when it asks for neither."""
    a = protocol.analysis
    if not a.moderators and not a.subgroups:
        return None
    data = effects_table(effects, study_fields(store))
    _check_fields(protocol, data)
    yi, vi, study, es = data.yi, data.vi, data.study_id, data.es_id
    rve = a.rve if a.rve != "none" else "CR2"
    notes: list[str] = []
    mr = None
    if a.moderators:
        try:
            mr = metareg(yi, vi, study, es, data, a.moderators, method=a.method, rve=rve)
        except AnalysisError as exc:
            notes.append(f"the meta-regression could not be fitted: {exc}")
    tables = []
    for variable in a.subgroups:
        try:
            tables.append(subgroups(yi, vi, study, es, data[variable].tolist(), variable=variable, method=a.method,
                                    rve=a.rve, test="knha" if a.test == "knha" else "z"))
        except AnalysisError as exc:
            notes.append(f"subgroups by {variable} could not be estimated: {exc}")
    labels = {"outcome": {o.id: o.label or o.id for o in protocol.outcomes}}
    return ModeratorSection(metareg=mr, subgroups=tables, labels=labels, methods=_methods(protocol, mr),
                            notes=notes)


ROB_LEVELS = {"low": "Low risk", "some_concerns": "Some concerns", "high": "High risk"}
ROB_VARIABLE = "rob_overall"  # a field name, so the test of differences can enter it as a moderator


def rob_subgroups(rob: dict[int, dict[str, Any]], effects: list[EffectRow], protocol: Protocol) -> dict[str, Any] | None:
    """Results by overall RoB 2 judgement: a model per level (``analysis.metareg.subgroups``, as the subgroup
    tables) and the robust test of their differences; None without overall judgements for these studies."""
    levels = [getattr(rob.get(e.record_id, {}).get("overall"), "judgement", None) for e in effects]
    if not any(levels):
        return None
    a = protocol.analysis
    try:
        table = subgroups([e.yi for e in effects], [e.vi for e in effects], [e.study_id for e in effects],
                          [e.es_id for e in effects], levels, variable=ROB_VARIABLE, method=a.method, rve=a.rve,
                          test="knha" if a.test == "knha" else "z")
    except AnalysisError as exc:
        return {"variable": ROB_VARIABLE, "rows": [], "test": None, "test_model": None, "omitted": 0,
                "warnings": [f"results by risk of bias could not be estimated: {exc}"]}
    d = table.to_dict()
    for r in d["rows"]:
        r["label"] = ROB_LEVELS.get(r["level"], r["level"])
        r["p_text"] = p_text(r["p"])
    if d["test"] is not None:
        d["test"]["p_text"] = p_text(d["test"]["p"])
    return d
