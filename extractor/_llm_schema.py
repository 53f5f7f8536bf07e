"""The answer the LLM gives for one trial report, and how it becomes an ``ExtractionResult``.

Every number in the answer is an object ``{value, page, quote}``: the value as printed, the page it
is printed on and a verbatim quote from that page containing it, so each value can be checked
against the PDF exactly like a rule-extracted one. ``null`` wherever the paper does not say.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator

from metasift.extractor.crosscheck import names_nest
from metasift.extractor.outcomes import BASELINE_TIMEPOINT
from metasift.extractor.schema import Arm, Baseline, Evidence, ExtractionResult, Outcome

MODEL_SOURCE = "model"


class Number(BaseModel):
    """One number as printed, where it is printed, and the words around it copied verbatim."""

    model_config = ConfigDict(extra="forbid")

    value: float = Field(description="The number exactly as printed (no rounding, no unit).")
    page: int = Field(description="The page number, from <page n=...>, the number is printed on.")
    quote: str = Field(description="Text copied verbatim from that page that contains the number.")

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("value must be a finite number")
        return v

    @field_validator("page")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError("page numbers start at 1")
        return v


class ArmAnswer(BaseModel):
    """A randomised group and its participant counts."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="The arm's name as the paper uses it, e.g. 'Intervention' or 'Control'.")
    n_randomised: Number | None = None
    n_analysed: Number | None = None
    n_dropout: Number | None = Field(None, description="Lost to follow-up / withdrawn, as printed.")


class BaselineAnswer(BaseModel):
    """One arm's value of one measure before the intervention."""

    model_config = ConfigDict(extra="forbid")

    arm: str
    measure: str = Field(description="The measure as printed, e.g. 'PHQ-9 (depression)'.")
    mean: Number | None = None
    sd: Number | None = None
    n: Number | None = None


class OutcomeAnswer(BaseModel):
    """One arm's value of one measure at one follow-up time."""

    model_config = ConfigDict(extra="forbid")

    arm: str
    measure: str
    timepoint: str = Field(description="As printed, e.g. 'post-intervention' or '6 months'.")
    mean: Number | None = None
    sd: Number | None = None
    n: Number | None = None


class TrialAnswer(BaseModel):
    """Everything the model reads from one trial report."""

    model_config = ConfigDict(extra="forbid")

    n_total: Number | None = Field(None, description="Total number randomised, when stated.")
    arms: list[ArmAnswer] = Field(default_factory=list)
    baselines: list[BaselineAnswer] = Field(default_factory=list)
    outcomes: list[OutcomeAnswer] = Field(default_factory=list)


def _count(num: Number | None, what: str, warnings: list[str]) -> int | None:
    """A count as int; a non-whole number is dropped with a warning (never rounded silently)."""
    if num is None:
        return None
    if not float(num.value).is_integer():
        warnings.append(f"model gave {what} = {num.value:g} (page {num.page}), not a whole number: left out")
        return None
    return int(num.value)


def to_result(answer: TrialAnswer, path: str | None = None) -> ExtractionResult:
    """The model's answer as an ``ExtractionResult`` whose evidence is marked ``source="model"``."""
    result = ExtractionResult(path=path)
    warn = result.warnings

    def evidence(field: str, num: Number | None, value: float | int | None) -> None:
        if num is not None and value is not None:
            result.evidence.append(Evidence(field=field, value=value, page=num.page, quote=num.quote,
                                            source=MODEL_SOURCE))

    def arm_index(name: str) -> int:
        """The arm a baseline or outcome names: same name, else the one declared arm it nests with."""
        name = name.strip()
        for i, arm in enumerate(result.arms):
            if arm.name.casefold() == name.casefold():
                return i
        nested = [i for i, arm in enumerate(result.arms[:declared]) if names_nest(arm.name, name)]
        if len(nested) == 1:
            return nested[0]
        result.arms.append(Arm(name=name))
        return len(result.arms) - 1

    for a in answer.arms:
        if any(x.name.casefold() == a.name.strip().casefold() for x in result.arms):
            warn.append(f"model named the arm {a.name!r} twice: the second one left out")
            continue
        result.arms.append(Arm(name=a.name.strip()))
        i = len(result.arms) - 1
        for name in ("n_randomised", "n_analysed", "n_dropout"):
            num = getattr(a, name)
            value = _count(num, f"{a.name} {name}", warn)
            setattr(result.arms[i], name, value)
            evidence(f"arms[{i}].{name}", num, value)
    declared = len(result.arms)
    if answer.n_total is not None:
        result.n_total = _count(answer.n_total, "n_total", warn)
        evidence("n_total", answer.n_total, result.n_total)

    baselines = list(answer.baselines) + [
        BaselineAnswer(arm=o.arm, measure=o.measure, mean=o.mean, sd=o.sd, n=o.n)
        for o in answer.outcomes if BASELINE_TIMEPOINT.match(o.timepoint)]
    for b in baselines:
        i = arm_index(b.arm)
        arm = result.arms[i]
        n = _count(b.n, f"{b.arm} {b.measure} baseline n", warn)
        base = Baseline(measure=b.measure.strip(), mean=b.mean.value if b.mean else None,
                        sd=b.sd.value if b.sd else None, n=n)
        arm.baselines.append(base)
        prefix = f"arms[{i}].baselines[{len(arm.baselines) - 1}]"
        evidence(f"{prefix}.mean", b.mean, base.mean)
        evidence(f"{prefix}.sd", b.sd, base.sd)
        evidence(f"{prefix}.n", b.n, n)

    for o in answer.outcomes:
        if BASELINE_TIMEPOINT.match(o.timepoint):
            continue
        arm = result.arms[arm_index(o.arm)]
        n = _count(o.n, f"{o.arm} {o.measure} {o.timepoint} n", warn)
        out = Outcome(arm=arm.name, measure=o.measure.strip(), timepoint=o.timepoint.strip(),
                      mean=o.mean.value if o.mean else None, sd=o.sd.value if o.sd else None, n=n)
        result.outcomes.append(out)
        prefix = f"outcomes[{len(result.outcomes) - 1}]"
        evidence(f"{prefix}.mean", o.mean, out.mean)
        evidence(f"{prefix}.sd", o.sd, out.sd)
        evidence(f"{prefix}.n", o.n, n)
    return result
