"""Criterion rules decide only on evidence; unsafe expressions are refused."""

from __future__ import annotations

import pytest

from metasift.errors import ConfigError
from metasift.screener.rules import Rule, classify_publication_type


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


@pytest.mark.parametrize("rule, complaint", [
    ("yeer > 2005", "'yeer' is not a field rules can read here (did you mean year?)"),
    ("year > '2005'", "compares year (number) with '2005' (text)"),
    ("title > 5", "compares title (text) with 5 (number)"),
    ("title < 'm'", "'<'/'>' compare numbers"),
    ("year in 2005", "'in' needs a list"),
    ("year in [2005, '2006']", "a list mixes numbers and text"),
    ("publication_type not in ['reveiw']", "publication_type is never 'reveiw'"),
    ("len(year) > 1", "len() cannot take number"),
    ("min_arm_n >= 30", "'min_arm_n' is not a field rules can read here"),  # a full-text field at title/abstract
])
def test_a_rule_that_could_never_fire_is_a_protocol_error_naming_its_criterion(rule: str, complaint: str) -> None:
    from metasift.config import example_protocol_text, parse_protocol

    text = example_protocol_text().replace('rule = "year > 2005"', f'rule = "{rule}"')
    with pytest.raises(ConfigError) as err:
        parse_protocol(text)
    assert "published_after_2005" in str(err.value) and complaint in str(err.value)


def test_text_in_a_rule_compares_case_insensitively() -> None:
    assert Rule("language == 'English'", "c", "title_abstract").evaluate({"language": "english"}) == "met"
    assert Rule("journal in ['BMJ']", "c", "title_abstract").evaluate({"journal": "bmj"}) == "met"


def test_rules_know_every_publication_type_the_classifier_gives() -> None:
    from typing import get_args

    from metasift.rules import PUBLICATION_TYPES
    from metasift.screener.pubtype import Kind

    assert set(get_args(Kind)) == set(PUBLICATION_TYPES)


def test_every_name_the_screener_package_lists_can_be_imported() -> None:
    import metasift.screener as screener

    assert "SVMRanker" in screener.__all__
    for name in screener.__all__:
        assert getattr(screener, name) is not None, name
