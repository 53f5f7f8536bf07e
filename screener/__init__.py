"""metasift stage package: screener."""

# The public surface is imported lazily (PEP 562) so that ``import screener.rules`` does not pay for
# scikit-learn and scipy: each name is loaded from its module on first use.
from __future__ import annotations

import importlib
from typing import Any

_SOURCES = {
    "Ranker": "ranker", "LogisticRanker": "ranker", "NaiveBayesRanker": "ranker", "SVMRanker": "ranker", "RANKERS": "ranker",
    "DEFAULT_RANKER": "ranker", "get_ranker": "ranker", "order_by_score": "ranker",
    "FEATURES": "_features", "get_features": "_features", "record_text": "_features",
    "SimulationResult": "simulate", "run_simulation": "simulate", "wss": "simulate", "rrf": "simulate",
    "retrain_batch": "simulate",
    "LabelledData": "labelled", "read_labelled_csv": "labelled",
    "StoppingEstimate": "stopping", "estimate_stopping": "stopping",
    "RoutingPolicy": "routing", "LLMSignal": "routing", "Signals": "routing", "Route": "routing",
    "route": "routing", "route_all": "routing", "route_counts": "routing",
    "CalibrationItem": "calibrate", "CalibrationResult": "calibrate", "calibrate_thresholds": "calibrate",
    "clopper_pearson_lower": "calibrate", "clopper_pearson_upper": "calibrate",
}

__all__ = [
    "DEFAULT_RANKER",
    "FEATURES",
    "RANKERS",
    "CalibrationItem",
    "CalibrationResult",
    "LLMSignal",
    "LabelledData",
    "LogisticRanker",
    "NaiveBayesRanker",
    "Ranker",
    "Route",
    "RoutingPolicy",
    "SVMRanker",
    "Signals",
    "SimulationResult",
    "StoppingEstimate",
    "calibrate_thresholds",
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "estimate_stopping",
    "get_features",
    "get_ranker",
    "order_by_score",
    "read_labelled_csv",
    "record_text",
    "retrain_batch",
    "route",
    "route_all",
    "route_counts",
    "rrf",
    "run_simulation",
    "wss",
]


def __getattr__(name: str) -> Any:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module 'screener' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
