"""A simulated screening model of known quality: verdicts drawn from the true labels at stated error rates.

No real model can be judged on a machine without one, so the screening *mechanism* (routing, calibration,
the human queue, the stop) is proven with a model whose quality is set by hand instead:

- **verdicts**: an include is called include with probability ``sensitivity``, an exclude is called exclude
  with probability ``specificity``, independently per record (seeded);
- **confidence**, one per verdict, ``good`` (calibrated) or ``overconfident``:

  - ``good``: among the model's verdicts of one kind (include or exclude) with confidence ``c``, a share ``c``
    is right. With ``π`` the share of that kind of verdict that is right (its precision on this data, from the
    error rates and the prevalence), the confidences of the kind follow ``Beta(κπ, κ(1-π))``; a right verdict
    draws from ``Beta(κπ + 1, κ(1-π))`` and a wrong one from ``Beta(κπ, κ(1-π) + 1)``, which is exactly that
    mixture split by Bayes' rule (``P(right | c) = c``). ``κ`` (``CONCENTRATION``) sets how spread the
    confidences are.
  - ``overconfident``: every verdict comes with a high confidence (``Beta(18, 1)``, mean 0.95) whatever its
    correctness: the confidence says nothing about which verdicts are wrong, and claims more than the
    model's precision whenever that is below 0.95 — the worst case for a routing rule that trusts it.

An exclude verdict names one criterion ``not_met`` (its quote found in the record); an include names it
``met``. The verdicts come back as ``routing.LLMSignal``: what the real routing policy reads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from metasift.errors import MetasiftError
from metasift.kinds import Label
from metasift.screener.routing import LLMSignal

Calibration = Literal["good", "overconfident"]
CONCENTRATION = 8.0  # κ of the calibrated confidences' Beta distribution
OVERCONFIDENT = (18.0, 1.0)  # Beta parameters of the overconfident model's confidence (mean 0.95)
CRITERION = "topic"  # the one criterion the simulated model judges


class OracleQuality(BaseModel):
    """How good the simulated model is."""

    sensitivity: float = Field(ge=0, le=1)
    specificity: float = Field(ge=0, le=1)
    calibration: Calibration = "good"

    @classmethod
    def parse(cls, text: str, calibration: str = "good") -> OracleQuality:
        """From ``"sens=0.90,spec=0.80"`` (``--llm-oracle``); the keys may also be spelled out."""
        values: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            m = re.fullmatch(r"(sens|sensitivity|spec|specificity)\s*=\s*([0-9]*\.?[0-9]+)", part)
            if not m:
                raise MetasiftError(f"--llm-oracle {text!r}: expected sens=0.90,spec=0.80")
            values["sensitivity" if m[1].startswith("sens") else "specificity"] = float(m[2])
        if set(values) != {"sensitivity", "specificity"}:
            raise MetasiftError(f"--llm-oracle {text!r}: give both sens= and spec=")
        if not all(0 <= v <= 1 for v in values.values()):
            raise MetasiftError(f"--llm-oracle {text!r}: rates lie between 0 and 1")
        if calibration not in ("good", "overconfident"):
            raise MetasiftError(f"unknown --confidence-calibration {calibration!r}: use good or overconfident")
        return cls(**values, calibration=calibration)  # type: ignore[arg-type]

    def short(self) -> str:
        return f"sens {self.sensitivity:.2f} spec {self.specificity:.2f} {self.calibration}"


class OracleVerdicts(BaseModel):
    """The simulated model's verdict and confidence per record (index-aligned with the labels)."""

    include: list[bool]  # the model's verdict: True include, False exclude
    confidence: list[float]

    def signal(self, i: int) -> LLMSignal:
        """Record ``i``'s verdict as the routing policy reads a stored model decision."""
        inc = self.include[i]
        return LLMSignal(decision=Label.INCLUDE if inc else Label.EXCLUDE, confidence=self.confidence[i],
                         criteria={CRITERION: "met" if inc else "not_met"})


def draw_verdicts(labels: Sequence[int], quality: OracleQuality, seed: int = 0) -> OracleVerdicts:
    """Seeded verdicts and confidences for records with true ``labels`` (1 include, 0 exclude)."""
    y = np.asarray(labels, dtype=int)
    rng = np.random.default_rng([seed, 0x0AC1E])  # its own stream: the model never shifts the other draws
    right = np.where(y == 1, rng.random(y.size) < quality.sensitivity, rng.random(y.size) < quality.specificity)
    include = np.where(right, y == 1, y == 0)
    if quality.calibration == "overconfident":
        conf = rng.beta(*OVERCONFIDENT, size=y.size)
    else:
        conf = np.empty(y.size)
        for verdict in (True, False):
            kind = include == verdict
            precision = float(right[kind].mean()) if kind.any() else 1.0
            a, b = _beta(precision)
            conf[kind & right] = rng.beta(a + 1.0, b, size=int((kind & right).sum()))
            conf[kind & ~right] = rng.beta(a, b + 1.0, size=int((kind & ~right).sum()))
    conf = np.clip(conf, 0.0, 1.0)
    return OracleVerdicts(include=include.tolist(), confidence=conf.tolist())


def _beta(precision: float) -> tuple[float, float]:
    """Beta(κπ, κ(1-π)) parameters, kept positive at π = 0 or 1."""
    p = min(max(precision, 1e-6), 1 - 1e-6)
    return CONCENTRATION * p, CONCENTRATION * (1.0 - p)
