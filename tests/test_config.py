"""review.toml: the shipped example validates; errors name the key path."""

from __future__ import annotations

import pytest

from metasift.config import example_protocol_text, parse_protocol
from metasift.errors import ConfigError


def test_example_protocol_encodes_the_reference_review() -> None:
    protocol = parse_protocol(example_protocol_text())
    ids = {c.id: c for c in protocol.criteria}
    assert ids["published_after_2005"].rule == "year > 2005"
    assert ids["n_per_arm"].stage == "full_text" and "30" in ids["n_per_arm"].rule
    assert "0.15" in ids["differential_attrition"].rule
    assert "0.25" in ids["baseline_balance"].rule
    assert protocol.screening.humans_per_record == 2
    assert [c.id for c in protocol.criteria_for("title_abstract")][:2] == ["design_rct", "social_media"]


@pytest.mark.parametrize("mutation, path", [
    (("stage = \"title_abstract\"", "stage = \"abstract\"", 1), "criteria.0.stage"),
    (("humans_per_record = 2", "humans_per_record = 3", 1), "screening.humans_per_record"),
    (("temperature = 0.0", "temperature = \"cold\"", 1), "llm.temperature"),
    (("[routing]", "[routing]\nsurprise = 1", 1), "routing.surprise"),
    (("rule = \"year > 2005\"", "rule = \"year >\"", 1), "criteria.4.rule"),
])
def test_errors_name_the_key_path(mutation: tuple[str, str, int], path: str) -> None:
    text = example_protocol_text().replace(*mutation)
    with pytest.raises(ConfigError) as err:
        parse_protocol(text, "review.toml")
    assert str(err.value).startswith(f"review.toml: {path}:")


def test_duplicate_criterion_ids_rejected() -> None:
    text = example_protocol_text().replace('id = "social_media"', 'id = "design_rct"')
    with pytest.raises(ConfigError, match="used twice"):
        parse_protocol(text)


def test_toml_syntax_error_names_file() -> None:
    with pytest.raises(ConfigError, match=r"^review.toml: "):
        parse_protocol("[review\n", "review.toml")


def test_the_ranker_setting_names_exactly_the_registered_rankers() -> None:
    from typing import get_args

    from metasift.config import RankerName, ScreeningSettings
    from metasift.screener.ranker import RANKERS
    from metasift.screener.ranker_names import RANKER_LABELS

    assert set(get_args(RankerName)) == set(RANKERS) == set(RANKER_LABELS)
    from metasift.config import example_protocol_text, parse_protocol
    from metasift.screener.ranker import DEFAULT_RANKER

    assert ScreeningSettings().ranker == "svm" == DEFAULT_RANKER
    assert parse_protocol(example_protocol_text()).screening.ranker == DEFAULT_RANKER  # what `init` writes
    with pytest.raises(ValueError):
        ScreeningSettings(ranker="bert")
