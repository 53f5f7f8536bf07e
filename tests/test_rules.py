"""Criterion rules decide only on evidence; unsafe expressions are refused."""

from __future__ import annotations

import pytest

from metasift.errors import ConfigError
from screener.rules import Rule, classify_publication_type


@pytest.mark.parametrize("expr, fields, verdict", [
    ("year > 2005", {"year": 2006}, "met"),
    ("year > 2005", {"year": 2005}, "not_met"),
    ("year > 2005", {"year": None}, "unclear"),
    ("publication_type not in ['protocol', 'erratum']", {"publication_type": "Protocol"}, "not_met"),
    ("publication_type not in ['protocol', 'erratum']", {"publication_type": "article"}, "met"),
    ("language in ('en', 'eng', 'english')", {"language": "ENG"}, "met"),
    ("min_arm_n >= 30", {"min_arm_n": 29}, "not_met"),
    ("differential_attrition < 0.15 and baseline_diff_sd < 0.25",
     {"differential_attrition": 0.05, "baseline_diff_sd": 0.3}, "not_met"),
    ("differential_attrition < 0.15 and baseline_diff_sd < 0.25", {"differential_attrition": 0.05}, "unclear"),
    ("abs(n1 - n2) / (n1 + n2) < 0.1", {"n1": 50, "n2": 52}, "met"),
])
def test_rule_verdicts(expr: str, fields: dict, verdict: str) -> None:
    assert Rule(expr).evaluate(fields) == verdict


@pytest.mark.parametrize("expr", ["__import__('os').system('true')", "year.__class__", "[x for x in y]",
                                  "open('f')", "lambda: 1"])
def test_unsafe_rules_are_refused(expr: str) -> None:
    with pytest.raises(ConfigError):
        Rule(expr, "c1")


def test_rule_fields() -> None:
    assert Rule("year > 2005 and lower(language) == 'en'").fields == {"year", "language"}


@pytest.mark.parametrize("title, kind", [
    ("Study protocol for a randomized trial of X", "protocol"),
    ("Erratum: Facebook peer support", "erratum"),
    ("Social media and depression: a systematic review and meta-analysis", "review"),
    ("Re: A WhatsApp intervention", "comment"),
    ("A WhatsApp intervention for stress: RCT", "article"),
])
def test_publication_type(title: str, kind: str) -> None:
    assert classify_publication_type(title, None) == kind
