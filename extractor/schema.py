"""What an extraction produces: arms, outcomes and the evidence (page + quote) behind every value.

These models cross boundaries (CLI JSON, LLM answers, the store), so they are pydantic. The JSON of
``ExtractionResult`` is the ``metasift extract-pdf --json`` contract.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Evidence(BaseModel):
    field: str  # e.g. "arms[0].n_randomised", "outcomes[2].sd"
    value: float | int | str | None
    page: int | None
    quote: str
    source: str = "rule"  # rule | model | human


class Baseline(BaseModel):
    measure: str | None = None
    mean: float | None = None
    sd: float | None = None
    n: int | None = None


class Arm(BaseModel):
    name: str
    n_randomised: int | None = None
    n_analysed: int | None = None
    n_dropout: int | None = None
    baseline: Baseline = Field(default_factory=Baseline)  # the first outcome measure at baseline
    baselines: list[Baseline] = Field(default_factory=list)  # every measure found at baseline


class Outcome(BaseModel):
    arm: str
    measure: str
    timepoint: str
    mean: float | None = None
    sd: float | None = None
    n: int | None = None


class ExtractionResult(BaseModel):
    path: str | None = None
    arms: list[Arm] = Field(default_factory=list)
    outcomes: list[Outcome] = Field(default_factory=list)
    n_total: int | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    def arm(self, name: str) -> Arm | None:
        return next((a for a in self.arms if a.name == name), None)
