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
    # rule | ocr (read from an image) | derived (computed where printed counts disagree; the quote gives the
    # formula) | model | human. Neither ocr nor derived values are ever auto-verified.
    source: str = "rule"
    region: list[float] | None = None  # for ocr: the image's (x0, top, x1, bottom) on the page, in PDF points
    support: int = 1  # for arm counts: how many separate statements (sentence, diagram box, table header) print it;
    # for the total N: on how many pages it is stated
    # for arm counts: the kind of printed statement the value was read from: sentence | diagram (a text-layer
    # flow diagram) | ocr (an image's flow diagram) | table (a table header's n); None for other values
    origin: str | None = None
    doubt: str | None = None  # why the rule that read it was unsure: the value goes to a human (``checks``)


class Baseline(BaseModel):
    measure: str | None = None
    mean: float | None = None
    sd: float | None = None
    n: int | None = None
    outcome: str | None = None  # the protocol (or requested) outcome this measure belongs to, if any
    # "mean (SD)", or what the paper prints instead: "median (IQR)" (mean and sd None), "mean (SE)" or
    # "mean (95% CI)" (sd None). Never converted to an SD here.
    printed_as: str = "mean (SD)"


class PrimaryOutcome(BaseModel):
    """What the paper says its primary outcome is ("The primary outcome was …"), where it says it."""

    text: str
    page: int
    quote: str


class BaselineTarget(BaseModel):
    """The measure each arm's ``baseline`` reports, and why that one (an outcome, never a position)."""

    measure: str
    outcome: str | None = None  # the outcome id it belongs to; None when chosen as the paper's primary outcome
    why: str
    # other printed measures that fit the outcome as well, or other values printed for this measure: a reader
    # confirms the choice (``checks``)
    rivals: list[str] = []
    # why the measure itself may not be the outcome (a sibling subscale: "STAI-Trait" for STAI state): a reader
    # confirms the choice
    doubt: str | None = None


class Arm(BaseModel):
    name: str
    n_randomised: int | None = None
    n_analysed: int | None = None
    n_dropout: int | None = None
    # The baseline of the outcome of interest (``ExtractionResult.target`` says which and why); None when the
    # paper prints none for it. Never a descriptor such as age because it came first.
    baseline: Baseline | None = None
    baselines: list[Baseline] = Field(default_factory=list)  # every measure found at baseline


class Outcome(BaseModel):
    arm: str
    measure: str
    timepoint: str
    mean: float | None = None
    sd: float | None = None
    n: int | None = None
    printed_as: str = "mean (SD)"  # as Baseline.printed_as


class Design(BaseModel):
    """The design the paper states (``extractor.design``), and the sentence that says so."""

    kind: str = "parallel"  # parallel | crossover | cluster | factorial
    n_arms: int = 0
    allocation: str | None = None  # "1:1", "2:1", "1:1:1" as printed
    clusters: int | None = None  # clusters randomised, where stated
    page: int | None = None
    quote: str | None = None
    # The sentence saying the paper is a secondary (post hoc, subgroup, pooled) analysis of a trial: its
    # tables may compare subgroups, so the arms are the randomised ones the text names. None for a primary report.
    secondary: str | None = None


class ExtractionResult(BaseModel):
    path: str | None = None
    arms: list[Arm] = Field(default_factory=list)
    outcomes: list[Outcome] = Field(default_factory=list)
    n_total: int | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    primary_outcome: PrimaryOutcome | None = None
    target: BaselineTarget | None = None
    design: Design | None = None

    def arm(self, name: str) -> Arm | None:
        return next((a for a in self.arms if a.name == name), None)
