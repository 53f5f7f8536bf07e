"""The review protocol: ``review.toml`` loaded and validated with pydantic.

A project directory holds ``review.toml`` (the protocol, edited by people) and ``metasift.db``
(the store, written by metasift). Validation errors name the key path, e.g.
``review.toml: criteria.2.stage: Input should be 'title_abstract' or 'full_text'``.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from metasift.errors import AnalysisError, ConfigError
from metasift.moderators import is_field_name, parse_moderator
from metasift.rules import check_rule

CONFIG_NAME = "review.toml"
STORE_NAME = "metasift.db"

Stage = Literal["title_abstract", "full_text"]  # metasift.kinds.Stage's values (a test keeps them equal)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReviewInfo(_Strict):
    title: str
    question: str
    keywords_include: list[str] = Field(default_factory=list)  # highlighted in the review TUI
    keywords_exclude: list[str] = Field(default_factory=list)
    # how keywords are highlighted: "prefix" (a stem: "depress" marks "depression") or "word" (whole words)
    keyword_match: Literal["prefix", "word"] = "prefix"
    # True in the starter protocol `init` writes: nothing is excluded automatically (rules and model
    # exclusions go to a human) until `metasift confirm` records who confirmed the protocol and sets it false.
    draft: bool = False


class Criterion(_Strict):
    """One eligibility criterion. ``rule`` (optional) is a deterministic expression over record or
    extracted fields, e.g. ``year > 2005``; it states when the criterion is *met*."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text: str
    stage: Stage
    rule: str | None = None

    @field_validator("rule")
    @classmethod
    def _rule_can_fire(cls, rule: str | None, info: ValidationInfo) -> str | None:
        """A rule must read fields its stage has, compare like with like and name values that exist."""
        if rule is not None and "stage" in info.data:
            try:
                check_rule(rule, info.data.get("id", ""), info.data["stage"])
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return rule


class OutcomeSpec(_Strict):
    """An outcome the review pools, e.g. depression, with the instruments that measure it.

    ``instruments`` are names as papers print them (``PHQ-9``, ``BDI-II``, ``DASS-21 depression``); the
    extractor, the LLM prompt, the eligibility gates and ``effects`` match measures against them
    (case-insensitive, punctuation and spacing ignored). The first outcome listed is the primary one.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = ""
    instruments: list[str] = Field(default_factory=list)


class Reviewer(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    role: Literal["reviewer", "arbiter"] = "reviewer"


RankerName = Literal["logistic", "naive_bayes", "svm"]  # screener.ranker.RANKERS (a test keeps them equal)


class ScreeningSettings(_Strict):
    humans_per_record: int = Field(1, ge=1, le=2)
    model_counts_as_reviewer: bool = False
    show_model_draft: bool = False
    ranker: RankerName = "svm"  # the active-learning model that orders the human queue
    # the buscar stopping test (status, report): H0 "recall < stop_target_recall" rejected at this confidence
    stop_target_recall: float = Field(0.95, gt=0, lt=1)
    stop_confidence: float = Field(0.95, gt=0, lt=1)
    # `metasift review` retrains the ranker while a reviewer screens: after the first `retrain_every[0]`
    # decisions, the gap then doubling up to `retrain_every[-1]` ([10, 50]: after 10, 20, 40, then every 50
    # decisions); one number keeps the gap fixed; [] turns it off
    retrain_every: list[int] = Field(default_factory=lambda: [10, 50])

    @field_validator("retrain_every")
    @classmethod
    def _retrain_gaps(cls, value: list[int]) -> list[int]:
        if len(value) > 2:
            raise ValueError("give at most two numbers: [first gap, largest gap], e.g. [10, 50]")
        if any(n < 1 for n in value):
            raise ValueError("gaps are counts of decisions: each must be at least 1 ([] turns retraining off)")
        if len(value) == 2 and value[0] > value[1]:
            raise ValueError(f"the first gap ({value[0]}) is larger than the largest ({value[1]})")
        return value


class LLMConfig(_Strict):
    model: str = "gpt-4o-mini"
    base_url: str | None = None  # None: the OpenAI API; any OpenAI-compatible endpoint otherwise
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.0
    max_tokens: int = 1024
    timeout: float = 60.0
    max_retries: int = 4
    concurrency: int = Field(4, ge=1, le=64)
    structured_method: Literal["auto", "json_schema", "json_object", "tools", "text"] = "auto"
    # "openai" (any OpenAI-compatible endpoint; Azure OpenAI by its URL), "azure", or "langchain:<model_provider>"
    # such as "langchain:anthropic" (needs the metasift[langchain] extra); see metasift.llm.provider
    provider: str = "openai"
    api_version: str | None = None  # Azure OpenAI's api-version (default: a current GA version)
    max_cost: float | None = None  # in the price table's currency; None: no budget
    prices: dict[str, dict[str, float]] = Field(default_factory=dict)  # model -> {input, output} per 1M tokens

    @model_validator(mode="before")
    @classmethod
    def _retired_transport(cls, data: object) -> object:
        """``[llm] transport`` chose among three HTTP stacks; there is one now (the openai SDK). An old
        review.toml that still sets it loads, with a warning saying the line can go."""
        import warnings  # here, not at the top: this validator is all of config.py that warns

        if isinstance(data, dict) and "transport" in data:
            warnings.warn(f"review.toml: [llm] transport = {data['transport']!r} is ignored (requests always go "
                          "through the openai SDK now); remove the line", FutureWarning, stacklevel=2)
            data = {k: v for k, v in data.items() if k != "transport"}
        return data


class RoutingConfig(_Strict):
    """When the model may exclude without a human (recall-first: both signals must agree)."""

    llm_exclude_confidence: float = Field(0.9, ge=0, le=1)
    ranker_exclude_probability: float = Field(0.05, ge=0, le=1)
    target_recall: float = Field(0.98, gt=0, le=1)
    auto_exclude: bool = True
    # Share (0..1) of automated exclusions (rule or model) sent to a human anyway, chosen at random but
    # stably per record, to estimate the false-exclusion rate; 0 turns the audit off.
    audit_sample: float = Field(0.0, ge=0, le=1)


class StoreConfig(_Strict):
    url: str | None = None  # default: sqlite:///<project>/metasift.db; a postgresql:// URL also works


class AnalysisConfig(_Strict):
    """``[analysis]``: the report's models. When a study gives several effect sizes the primary model is the
    three-level model (``multilevel``) with ``rve`` robust variance, and the random-effects model on one effect
    per study, aggregated with the assumed within-study correlation ``rho``, is the sensitivity check (repeated
    for every value of ``rho_sensitivity``). ``test`` is that of the random-effects models (knha: Knapp–Hartung)."""

    measure: str = "SMD"
    method: str = "REML"
    test: Literal["z", "knha"] = "knha"
    multilevel: bool = True
    rve: Literal["CR2", "CR1", "none"] = "CR2"
    rho: float = Field(default=0.6, ge=0.0, lt=1.0)
    rho_sensitivity: list[float] = Field(default_factory=lambda: [0.2, 0.4, 0.6, 0.8])
    # Meta-regression (report): each a field of the effect sizes (outcome, year...) or of the studies
    # (`metasift studies import`), optionally compared with a value: "female_pct > 70" is a 0/1 indicator.
    moderators: list[str] = Field(default_factory=list)
    # Subgroup tables (report): a field whose values split the effect sizes, e.g. "outcome".
    subgroups: list[str] = Field(default_factory=list)
    # Forest plots: what lies left and right of zero, printed under the axis as "favours <left>" and
    # "favours <right>"; for lower-is-better outcomes (symptom scores) ["intervention", "control"].
    favours: list[str] | None = None

    @field_validator("favours")
    @classmethod
    def _favours_two_sides(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        names = [v.strip() for v in value]
        if len(names) != 2 or not all(names):
            raise ValueError('expected two labels, left and right of zero: ["control", "intervention"]')
        if names[0].lower() == names[1].lower():
            raise ValueError(f"both sides of zero are labelled {names[0]!r}")
        return names

    @field_validator("moderators")
    @classmethod
    def _moderators_parse(cls, value: list[str]) -> list[str]:
        texts = []
        for text in value:
            try:
                texts.append(parse_moderator(text).text)
            except AnalysisError as exc:
                raise ValueError(str(exc)) from None
        if len(set(texts)) != len(texts):
            raise ValueError("a moderator is listed twice")
        return value

    @field_validator("subgroups")
    @classmethod
    def _subgroups_are_fields(cls, value: list[str]) -> list[str]:
        for text in value:
            if not is_field_name(text):
                raise ValueError(f"subgroup {text!r}: expected a field name such as 'outcome'")
        if len(set(value)) != len(value):
            raise ValueError("a subgroup variable is listed twice")
        return value

    @field_validator("rho_sensitivity")
    @classmethod
    def _rhos_in_range(cls, value: list[float]) -> list[float]:
        bad = [r for r in value if not 0.0 <= r < 1.0]
        if bad:
            raise ValueError(f"every rho must be in [0, 1), not {bad}")
        return value


class Protocol(_Strict):
    """The whole of ``review.toml``."""

    review: ReviewInfo
    criteria: list[Criterion] = Field(min_length=1)
    outcomes: list[OutcomeSpec] = Field(default_factory=list)
    reviewers: list[Reviewer] = Field(default_factory=list)
    screening: ScreeningSettings = Field(default_factory=ScreeningSettings)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)

    @model_validator(mode="after")
    def _unique_ids(self) -> Protocol:
        seen: set[str] = set()
        for crit in self.criteria:
            if crit.id in seen:
                raise ValueError(f"criterion id {crit.id!r} is used twice")
            seen.add(crit.id)
        outcome_ids = [o.id for o in self.outcomes]
        if len(set(outcome_ids)) != len(outcome_ids):
            raise ValueError("outcome ids must be unique")
        return self

    def criteria_for(self, stage: Stage) -> list[Criterion]:
        return [c for c in self.criteria if c.stage == stage]


def _format_error(path: Path, exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    msg = first["msg"].removeprefix("Value error, ")
    return f"{path}: {loc}: {msg}{more}"


def parse_protocol(text: str, path: Path | str = CONFIG_NAME) -> Protocol:
    """Parse and validate protocol TOML text; errors name the file and key path."""
    path = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(path, exc)) from None


def load_protocol(project: Path) -> Protocol:
    """Read ``project/review.toml``."""
    path = project / CONFIG_NAME
    if not path.exists():
        raise ConfigError(f"{path}: not found — run `metasift init {project}` first")
    return parse_protocol(path.read_text(encoding="utf-8"), path)


def write_protocol_values(project: Path, table: str, values: dict[str, float | bool | str]) -> Path:
    """Set existing keys of one ``[table]`` in ``project/review.toml``, keeping comments and layout (tomlkit).

    Refuses (``ConfigError``, nothing written) when the table or any key is not in the file, so a caller
    never reports writing a value that was not written; the edited text must still be a valid protocol."""
    import tomlkit

    path = project / CONFIG_NAME
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    section = doc.get(table)
    missing = [k for k in values if section is None or k not in section]
    if missing:
        raise ConfigError(f"{path}: [{table}] has no {', '.join(missing)} to write; add "
                          f"{' and '.join(f'{k} = ...' for k in missing)} under [{table}] and re-run")
    for key, value in values.items():
        section[key] = value
    text = tomlkit.dumps(doc)
    parse_protocol(text, path)
    path.write_text(text, encoding="utf-8")
    return path


def example_protocol_text() -> str:
    """The bundled example protocol (social-media mental-health RCTs)."""
    return resources.files("metasift").joinpath("data/example_review.toml").read_text(encoding="utf-8")
