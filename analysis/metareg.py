"""Meta-regression and subgroup analysis on (possibly dependent) effect sizes, with robust inference.

- ``metareg(yi, vi, study, es_id, data, moderators)``: the three-level model (effect sizes within studies,
  metafor ``rma.mv(yi, vi, mods, random = ~ 1 | study/es)``) when a study gives several effect sizes, else the
  random-effects model (``rma(yi, vi, mods)``), with moderators that are numeric (a slope), categorical
  (dummies against the first level in sorted order, as R's ``factor``) or indicators (``female_pct > 70``);
  coefficients with CR2 cluster-robust SEs and Satterthwaite df (clubSandwich ``coef_test``), and a robust
  Wald test (HTZ, ``Wald_test(test = "HTZ")``) of each moderator, so a categorical one is tested as a whole.
- ``subgroups(yi, vi, study, es_id, group)``: a separate model per level (three-level with CR2 where a study
  gives several effect sizes of that level, else random-effects), each with k studies, the number of effect
  sizes, estimate, CI and p, and the test of subgroup differences: the robust Wald test of the grouping as a
  moderator of one model over all levels.

Reference values: tests/reference/metareg.R (metafor 3.8-1, clubSandwich 0.5.8).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from metasift.analysis._rma import rma
from metasift.analysis.multilevel import _num, rma_mv
from metasift.analysis.rve import RobustFit, robust
from metasift.errors import AnalysisError
from metasift.moderators import Moderator, parse_moderator

TermKind = Literal["numeric", "categorical", "indicator"]


@dataclass(frozen=True)
class Term:
    """One moderator as it entered the model: its coefficients and, when categorical, its levels."""

    moderator: str                  # the expression, e.g. "guidance" or "female_pct > 70"
    kind: TermKind
    columns: list[str]              # its coefficient names
    reference: str | None = None    # the level the dummies are compared with (categorical)
    levels: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Coefficient:
    """A coefficient with its robust (CR2) standard error, Satterthwaite df, t-test and CI."""

    name: str
    moderator: str | None           # the term it belongs to (None for the intercept)
    estimate: float
    se: float
    t: float
    df: float
    p: float
    ci_lb: float
    ci_ub: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "moderator": self.moderator, "estimate": _num(self.estimate),
                "se": _num(self.se), "t": _num(self.t), "df": _num(self.df), "p": _num(self.p),
                "ci_lb": _num(self.ci_lb), "ci_ub": _num(self.ci_ub)}


@dataclass(frozen=True)
class WaldTest:
    """Robust Wald test (HTZ) that every coefficient of a moderator is zero."""

    moderator: str
    F: float
    df_num: float
    df_denom: float
    p: float

    def to_dict(self) -> dict[str, Any]:
        return {"moderator": self.moderator, "F": _num(self.F), "df_num": _num(self.df_num),
                "df_denom": _num(self.df_denom), "p": _num(self.p)}

    def text(self) -> str:
        """``F(2, 6.23) = 1.877, p = 0.230``."""
        return f"F({self.df_num:g}, {self.df_denom:.2f}) = {self.F:.3f}, p = {self.p:.3f}"


def _model_name(dependent: bool) -> str:
    return "three-level" if dependent else "random-effects"


@dataclass(frozen=True)
class MetaRegression:
    """A fitted meta-regression: the working model, robust coefficients and one Wald test per moderator."""

    model: str                      # "three-level" or "random-effects"
    method: str
    rve: str                        # CR2 or CR1
    level: float                    # percent
    k: int
    n_studies: int
    terms: list[Term]
    coefficients: list[Coefficient]
    tests: list[WaldTest]
    sigma2: list[float] | None      # [between studies, within studies] (three-level)
    tau2: float | None              # random-effects
    omitted: list[str]              # studies (or rows) left out for a missing moderator value
    robust: RobustFit = field(repr=False)
    warnings: list[str] = field(default_factory=list)

    def test(self, moderator: str) -> WaldTest:
        """The Wald test of one moderator, by its expression."""
        for t in self.tests:
            if t.moderator == moderator:
                return t
        raise KeyError(moderator)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "method": self.method, "rve": self.rve, "k": self.k,
                "n_studies": self.n_studies,
                "terms": [{"moderator": t.moderator, "kind": t.kind, "columns": t.columns, "reference": t.reference,
                           "levels": t.levels} for t in self.terms],
                "coefficients": [c.to_dict() for c in self.coefficients],
                "tests": [t.to_dict() for t in self.tests],
                "sigma2": None if self.sigma2 is None else [_num(s) for s in self.sigma2],
                "tau2": _num(self.tau2), "omitted": list(self.omitted), "warnings": list(self.warnings)}

    def summary(self) -> str:
        """Text: the model, the coefficient table, the moderator tests."""
        het = (f"sigma² between studies = {self.sigma2[0]:.4f}, within studies = {self.sigma2[1]:.4f}"
               if self.sigma2 is not None else f"tau² = {self.tau2:.4f}")
        lines = [f"Meta-regression: {self.model} model ({self.method}), k = {self.k} effect sizes in "
                 f"{self.n_studies} studies; {self.rve} robust SEs, Satterthwaite df", het, ""]
        width = max(len(c.name) for c in self.coefficients)
        lines.append(f"{'':{width}} {'estimate':>9}{'se':>9}{'t':>9}{'df':>8}{'p':>9}{'ci.lb':>9}{'ci.ub':>9}")
        for c in self.coefficients:
            lines.append(f"{c.name:{width}} {c.estimate:9.4f}{c.se:9.4f}{c.t:9.4f}{c.df:8.2f}{c.p:9.4f}"
                         f"{c.ci_lb:9.4f}{c.ci_ub:9.4f}")
        lines += ["", "Moderator tests (robust Wald, HTZ):"] + [f"  {t.moderator}: {t.text()}" for t in self.tests]
        if self.warnings:
            lines += [""] + [f"Warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and np.isnan(x)) or (isinstance(x, str) and not x.strip())


def _column(data: pd.DataFrame, mod: Moderator) -> pd.Series:
    if mod.field not in data.columns:
        known = ", ".join(sorted(str(c) for c in data.columns))
        raise AnalysisError(f"moderator {mod.text!r}: no field {mod.field!r} in the effect sizes or the study "
                            f"fields (known: {known}); import study fields with 'metasift studies import'")
    return data[mod.field].map(lambda x: None if _missing(x) else x)


def _as_numbers(col: pd.Series) -> pd.Series | None:
    """The column as floats (NaN where missing) when every present value reads as a number, else None."""
    present = col.dropna()
    nums = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
    if len(present) and nums.notna().all():
        out = pd.Series(np.nan, index=col.index, dtype=float)
        out[present.index] = nums.astype(float)
        return out
    return None


def design(data: pd.DataFrame, moderators: Sequence[str | Moderator]) -> tuple[pd.DataFrame, list[Term]]:
    """Moderator columns (floats, NaN where the value is missing) and the terms they form.

    Categorical levels are those of the rows with every moderator present, so no dummy is all zero."""
    mods = [m if isinstance(m, Moderator) else parse_moderator(m) for m in moderators]
    if not mods:
        raise AnalysisError("name at least one moderator")
    if len({m.text for m in mods}) != len(mods):
        raise AnalysisError("a moderator is named twice")
    raw = {m.text: _column(data, m) for m in mods}
    complete = np.logical_and.reduce([c.notna().to_numpy() for c in raw.values()])
    out: dict[str, np.ndarray] = {}
    terms: list[Term] = []
    for m in mods:
        col = raw[m.text]
        if m.is_indicator:
            held = col.map(lambda x, m=m: m.holds(x))
            if held[col.notna()].isna().any():
                bad = col[col.notna() & held.isna()].iloc[0]
                raise AnalysisError(f"moderator {m.text!r}: value {bad!r} of {m.field!r} cannot be compared "
                                    f"with {m.value!r}")
            out[m.text] = held.map(lambda h: np.nan if h is None else float(h)).to_numpy(dtype=float)
            terms.append(Term(m.text, "indicator", [m.text]))
            continue
        nums = _as_numbers(col)
        if nums is not None:
            out[m.text] = nums.to_numpy(dtype=float)
            terms.append(Term(m.text, "numeric", [m.text]))
            continue
        text = col.map(lambda x: None if x is None else str(x).strip())
        levels = sorted(set(text[complete].dropna()))
        if len(levels) < 2:
            raise AnalysisError(f"moderator {m.text!r} has {'only one level' if levels else 'no values'}"
                                f"{' (' + levels[0] + ')' if levels else ''}; it needs at least two")
        names = []
        for lv in levels[1:]:
            name = f"{m.text} = {lv}"
            out[name] = np.where(text.isna(), np.nan, (text == lv).astype(float))
            names.append(name)
        terms.append(Term(m.text, "categorical", names, reference=levels[0], levels=levels))
    return pd.DataFrame(out), terms


def _fit(y: np.ndarray, v: np.ndarray, study: np.ndarray, es: np.ndarray, mods: pd.DataFrame | None,
         method: str, rve: str, level: float) -> tuple[Any, RobustFit, bool]:
    """The working model (three-level when a study gives several effect sizes) and its robust inference."""
    dependent = bool(pd.Series(study).duplicated().any())
    if dependent:
        fit = rma_mv(y, v, study, es, mods, method=method, level=level)
    else:
        fit = rma(y, v, mods, method=method, level=level, labels=list(study))
    rob = robust(fit, study, type=rve)
    return fit, rob, dependent


def _arrays(yi: Any, vi: Any, study: Any, es_id: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    st = np.asarray([str(s) for s in study], dtype=object)
    es = np.asarray([str(e) for e in es_id], dtype=object)
    if not len(y) == len(v) == len(st) == len(es):
        raise AnalysisError("yi, vi, study and es_id must have the same length")
    if not (np.isfinite(y).all() and np.isfinite(v).all()):
        raise AnalysisError("every effect size needs a finite yi and vi")
    return y, v, st, es


def metareg(yi: Any, vi: Any, study: Sequence[Any], es_id: Sequence[Any], data: pd.DataFrame,
            moderators: Sequence[str | Moderator], *, method: str = "REML", rve: str = "CR2",
            level: float = 95.0) -> MetaRegression:
    """Mixed-effects meta-regression with cluster-robust (CR2) inference, clustered by study.

    ``data`` holds one row per effect size (the fields the moderators name, e.g. outcome or study fields)."""
    y, v, st, es = _arrays(yi, vi, study, es_id)
    if len(data) != len(y):
        raise AnalysisError(f"the moderator data has {len(data)} rows but there are {len(y)} effect sizes")
    rve = rve.upper()
    if rve not in ("CR1", "CR2"):
        raise AnalysisError(f"robust variance must be CR1 or CR2, not {rve!r}")
    mods, terms = design(data.reset_index(drop=True), moderators)
    keep = ~mods.isna().any(axis=1).to_numpy()
    warnings: list[str] = []
    omitted = sorted(set(st[~keep]) - set(st[keep])) + [f"{s} (some effect sizes)" for s in
                                                        sorted(set(st[~keep]) & set(st[keep]))]
    if not keep.all():
        fields = ", ".join(t.moderator for t in terms)
        warnings.append(f"{int((~keep).sum())} effect sizes without a value for {fields} left out: "
                        + ", ".join(omitted))
    y, v, st, es = y[keep], v[keep], st[keep], es[keep]
    mods = mods[keep].reset_index(drop=True)
    n_studies = len(set(st))
    p = 1 + mods.shape[1]
    if n_studies <= p:
        raise AnalysisError(f"{n_studies} studies with the moderators' values are too few for {p} coefficients "
                            f"({', '.join(t.moderator for t in terms)})")
    fit, rob, dependent = _fit(y, v, st, es, mods, method, rve, level)
    warnings += [w for w in getattr(fit, "warnings", []) if not w.startswith("rows with missing")]
    warnings += [w for w in rob.warnings if not w.startswith("every cluster holds a single")]
    owner = {c: t.moderator for t in terms for c in t.columns}
    coefs = [Coefficient(n, owner.get(n), float(b), float(s), float(t), float(d), float(pv), float(lo), float(hi))
             for n, b, s, t, d, pv, lo, hi in zip(rob.coef_names, rob.beta, rob.se, rob.stat, rob.df, rob.pval,
                                                  rob.ci_lb, rob.ci_ub)]
    tests = []
    for t in terms:
        cols = [c for c in t.columns if c in rob.coef_names]
        if not cols:
            continue
        htz = rob.wald_test(cols)["HTZ"]
        tests.append(WaldTest(t.moderator, float(htz["Fstat"]), float(htz["df_num"]), float(htz["df_denom"]),
                              float(htz["p_val"])))
    return MetaRegression(
        model=_model_name(dependent), method=fit.method, rve=rve, level=rob.level, k=len(y), n_studies=n_studies,
        terms=terms, coefficients=coefs, tests=tests, sigma2=list(fit.sigma2) if dependent else None,
        tau2=None if dependent else float(fit.tau2), omitted=omitted, robust=rob, warnings=warnings)


@dataclass(frozen=True)
class SubgroupRow:
    """One level of a subgroup variable: its own model's pooled estimate."""

    level: str
    n_studies: int
    k: int                          # effect sizes
    model: str | None               # how it was pooled, None when it was not
    estimate: float | None = None
    se: float | None = None
    df: float | None = None
    ci_lb: float | None = None
    ci_ub: float | None = None
    p: float | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "n_studies": self.n_studies, "k": self.k, "model": self.model,
                "estimate": _num(self.estimate), "se": _num(self.se), "df": _num(self.df),
                "ci_lb": _num(self.ci_lb), "ci_ub": _num(self.ci_ub), "p": _num(self.p), "note": self.note}


@dataclass(frozen=True)
class SubgroupTable:
    """Per-level estimates of one subgroup variable and the robust test of their differences."""

    variable: str
    rows: list[SubgroupRow]
    test: WaldTest | None           # HTZ test of the variable as a moderator of one model over all levels
    test_model: str | None
    omitted: int                    # effect sizes without a value of the variable
    warnings: list[str] = field(default_factory=list)

    def row(self, level: str) -> SubgroupRow:
        return next(r for r in self.rows if r.level == level)

    def to_dict(self) -> dict[str, Any]:
        return {"variable": self.variable, "rows": [r.to_dict() for r in self.rows],
                "test": None if self.test is None else self.test.to_dict(), "test_model": self.test_model,
                "omitted": self.omitted, "warnings": list(self.warnings)}

    def summary(self) -> str:
        lines = [f"Subgroups by {self.variable}", "",
                 f"{'level':<20}{'studies':>8}{'k':>5}{'estimate':>10}{'ci.lb':>9}{'ci.ub':>9}{'p':>9}  model"]
        for r in self.rows:
            if r.estimate is None:
                lines.append(f"{r.level:<20}{r.n_studies:>8}{r.k:>5}  {r.note}")
            else:
                lines.append(f"{r.level:<20}{r.n_studies:>8}{r.k:>5}{r.estimate:10.4f}{r.ci_lb:9.4f}{r.ci_ub:9.4f}"
                             f"{r.p:9.4f}  {r.model}")
        if self.test is not None:
            lines += ["", f"Test of subgroup differences (robust Wald, HTZ; {self.test_model}): {self.test.text()}"]
        if self.warnings:
            lines += [""] + [f"Warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _one_level(level: str, y: np.ndarray, v: np.ndarray, st: np.ndarray, es: np.ndarray, *, method: str,
               rve: str, test: str, level_pct: float) -> SubgroupRow:
    """A level's own model: three-level (+ robust variance with 3 or more studies) when a study gives several
    effect sizes, else the random-effects model with ``test`` (knha: Knapp-Hartung)."""
    n = len(set(st))
    base = {"level": level, "n_studies": n, "k": len(y)}
    if n < 2:
        return SubgroupRow(**base, model=None, note="one study: not pooled")
    if pd.Series(st).duplicated().any():
        fit = rma_mv(y, v, st, es, method=method, level=level_pct)
        if rve != "NONE" and n >= 3:
            r = robust(fit, st, type=rve)
            return SubgroupRow(**base, model=f"three-level, {rve}", estimate=float(r.beta[0]), se=float(r.se[0]),
                               df=float(r.df[0]), ci_lb=float(r.ci_lb[0]), ci_ub=float(r.ci_ub[0]),
                               p=float(r.pval[0]))
        return SubgroupRow(**base, model="three-level", estimate=float(fit.beta[0]), se=float(fit.se[0]),
                           ci_lb=float(fit.ci_lb[0]), ci_ub=float(fit.ci_ub[0]), p=float(fit.pval[0]))
    fit = rma(y, v, method=method, test=test, level=level_pct, labels=list(st))
    return SubgroupRow(**base, model=f"random-effects{', Knapp-Hartung' if test == 'knha' else ''}",
                       estimate=float(fit.beta[0]), se=float(fit.se[0]),
                       df=float(fit.k - 1) if test == "knha" else None, ci_lb=float(fit.ci_lb[0]),
                       ci_ub=float(fit.ci_ub[0]), p=float(fit.pval[0]))


def subgroups(yi: Any, vi: Any, study: Sequence[Any], es_id: Sequence[Any], group: Sequence[Any], *,
              variable: str = "group", method: str = "REML", rve: str = "CR2", test: str = "knha",
              level: float = 95.0) -> SubgroupTable:
    """A separate model per level of ``group`` and the robust Wald test of the differences between levels."""
    y, v, st, es = _arrays(yi, vi, study, es_id)
    g = pd.Series([None if _missing(x) else str(x).strip() for x in group], dtype=object)
    if len(g) != len(y):
        raise AnalysisError(f"{variable!r} has {len(g)} values but there are {len(y)} effect sizes")
    rve = rve.upper()
    if rve not in ("CR1", "CR2", "NONE"):
        raise AnalysisError(f"robust variance must be CR1, CR2 or none, not {rve!r}")
    keep = g.notna().to_numpy()
    warnings: list[str] = []
    if not keep.all():
        warnings.append(f"{int((~keep).sum())} effect sizes without a value of {variable!r} left out")
    levels = sorted(set(g[keep]))
    if not levels:
        raise AnalysisError(f"no effect size has a value of {variable!r}")
    rows = []
    for lv in levels:
        idx = np.flatnonzero(g.to_numpy() == lv)
        try:
            rows.append(_one_level(lv, y[idx], v[idx], st[idx], es[idx], method=method, rve=rve, test=test,
                                   level_pct=level))
        except AnalysisError as exc:
            rows.append(SubgroupRow(lv, len(set(st[idx])), len(idx), None, note=f"not pooled: {exc}"))
    found: WaldTest | None = None
    test_model: str | None = None
    if len(levels) < 2:
        warnings.append(f"only one level of {variable!r} ({levels[0]}): no test of subgroup differences")
    else:
        try:
            mr = metareg(y[keep], v[keep], st[keep], es[keep], pd.DataFrame({variable: g[keep].to_list()}),
                         [variable], method=method, rve="CR2" if rve == "NONE" else rve, level=level)
            found, test_model = mr.tests[0], f"{mr.model} model with {variable} as moderator, {mr.rve}"
        except AnalysisError as exc:
            warnings.append(f"no test of subgroup differences: {exc}")
    return SubgroupTable(variable=variable, rows=rows, test=found, test_model=test_model,
                         omitted=int((~keep).sum()), warnings=warnings)


@dataclass(frozen=True)
class OmittedStudy:
    """The pooled estimate with one study (all its effect sizes) left out."""

    study: str
    label: str
    pooled: SubgroupRow             # the same model as the full data's, on the other studies

    def to_dict(self) -> dict[str, Any]:
        return {"study": self.study, "label": self.label, **self.pooled.to_dict()}


@dataclass(frozen=True)
class LeaveOneStudyOut:
    """Leave-one-study-out: the primary model refitted without each study in turn (not each effect size,
    which would leave the study's other, correlated effect sizes in)."""

    full: SubgroupRow
    rows: list[OmittedStudy]

    # the attributes analysis.plots' leave-one-out figure reads
    @property
    def estimate(self) -> np.ndarray:
        return np.array([np.nan if r.pooled.estimate is None else r.pooled.estimate for r in self.rows])

    @property
    def ci_lb(self) -> np.ndarray:
        return np.array([np.nan if r.pooled.ci_lb is None else r.pooled.ci_lb for r in self.rows])

    @property
    def ci_ub(self) -> np.ndarray:
        return np.array([np.nan if r.pooled.ci_ub is None else r.pooled.ci_ub for r in self.rows])

    def to_dict(self) -> dict[str, Any]:
        return {"full": self.full.to_dict(), "rows": [r.to_dict() for r in self.rows]}


def leave_one_study_out(yi: Any, vi: Any, study: Sequence[Any], es_id: Sequence[Any], *, method: str = "REML",
                        rve: str = "CR2", test: str = "knha", level: float = 95.0,
                        labels: dict[str, str] | None = None) -> LeaveOneStudyOut:
    """Refit the pooled model (three-level + robust variance when studies give several effect sizes, else
    random-effects) without each study in turn; a refit that fails is a row with its reason."""
    y, v, st, es = _arrays(yi, vi, study, es_id)
    rve = rve.upper()
    studies = list(dict.fromkeys(st))  # first-appearance order, as the data lists them
    if len(studies) < 3:
        raise AnalysisError(f"leave-one-study-out needs at least 3 studies; got {len(studies)}")
    names = labels or {}
    full = _one_level("all studies", y, v, st, es, method=method, rve=rve, test=test, level_pct=level)
    rows = []
    for s in studies:
        keep = st != s
        try:
            pooled = _one_level(s, y[keep], v[keep], st[keep], es[keep], method=method, rve=rve, test=test,
                                level_pct=level)
        except AnalysisError as exc:
            pooled = SubgroupRow(s, len(set(st[keep])), int(keep.sum()), None, note=f"refit failed: {exc}")
        rows.append(OmittedStudy(study=s, label=names.get(s, s), pooled=pooled))
    return LeaveOneStudyOut(full=full, rows=rows)
