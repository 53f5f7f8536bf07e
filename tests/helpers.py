"""Small builders shared by tests: a project's review.toml edited, records put in the store, store rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from metasift.kinds import DeciderKind, ExtractionStatus, Label, Stage
from metasift.records import Record
from metasift.store import Store
from metasift.store.rows import DecisionRow, ExtractionRow

MODERATORS = ["female_pct > 70", "guidance", "control_type"]  # the demo's [analysis] moderators


def edit_protocol(project: Path, **replace: str) -> None:
    """Replace lines of the project's review.toml (``old=new``); each old text must be there."""
    path = project / "review.toml"
    text = path.read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def seed_store(project: Path, records: Sequence[Record], *, sha: str = "e", source: str = "Test") -> Store:
    """Open the project's store and add ``records`` as one imported file; return the store."""
    store = Store.open(project)
    store.add_import(path=project / "x.ris", sha256=sha * 64, source=source, fmt="ris", layout=None,
                     encoding="utf-8", warnings=[], records=list(records))
    return store


_WHEN = datetime(2024, 1, 1, tzinfo=UTC)


def decision_row(id: int = 1, *, record_id: int = 1, decider_kind: str = "human", decider: str = "alice",
                 label: str = "include", stage: str = "title_abstract", **fields: Any) -> DecisionRow:
    """A ``DecisionRow`` as the store returns one, for the pure rules that take decisions."""
    values: dict[str, Any] = {"criteria": None, "reasons": None, "note": None, "confidence": None, "model": None,
                              "prompt_hash": None, "settings": None, "created_at": _WHEN, "retracted_at": None}
    return DecisionRow(id=id, record_id=record_id, stage=Stage(stage), decider_kind=DeciderKind(decider_kind),
                       decider=decider, label=Label(label), **(values | fields))


def extraction_row(id: int = 1, *, field: str, value: Any, status: str = "auto_verified", record_id: int = 1,
                   **fields: Any) -> ExtractionRow:
    """An ``ExtractionRow`` as the store returns one, for the rules that take a study's extracted values."""
    values: dict[str, Any] = {"fulltext_id": None, "arm": None, "measure": None, "timepoint": None, "page": None,
                              "quote": None, "source": "rule", "extractor": None, "prompt_hash": None,
                              "reason": None, "created_at": _WHEN, "updated_by": None, "updated_at": None}
    return ExtractionRow(id=id, record_id=record_id, field=field, value=value, status=ExtractionStatus(status),
                         **(values | fields))


def whole_path(root: Path, store_url: str | None = None) -> Path:
    """Take the bundled example through the whole path at ``root`` as `make demo` does (study fields imported,
    the demo's moderators named), its store on ``store_url`` when given (a PostgreSQL server)."""
    import json

    from examples.demo import EXAMPLE
    from examples.demo_reviewers import answer_verifications, screen_stage
    from metasift.cli import main

    search = EXAMPLE / "search"

    def run(*args: object) -> None:
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            assert not exc.code, f"metasift {' '.join(map(str, args))} exited {exc.code}"

    run("init", root)
    if store_url:
        config = root / "review.toml"
        config.write_text(config.read_text(encoding="utf-8") + f'\n[store]\nurl = "{store_url}"\n', encoding="utf-8")
    p = ("--project", root)
    run("import", search / "pubmed.nbib", search / "scopus.csv", search / "psycinfo.ris", *p)
    run("dedup", *p)
    run("screen", *p)
    screen_stage(root, "title_abstract")
    run("fulltext", "attach", EXAMPLE / "pdfs", *p)
    run("extract", *p)
    assert answer_verifications(root) == 1  # the example's one misprint
    run("eligibility", *p)
    screen_stage(root, "full_text")
    run("effects", "--out", root / "effects.csv", *p)
    run("rob", "import", EXAMPLE / "rob2.csv", "--assessor", "alice", *p)
    run("studies", "import", EXAMPLE / "studies.csv", "--by", "alice", *p)  # study-level moderators, as the demo
    edit_protocol(root, **{"moderators = []": f"moderators = {json.dumps(MODERATORS)}"})
    run("report", "--out", root / "report", *p)
    return root


def printed_line(y: float, *cells: tuple[float, str], size: float = 8.0) -> list[Any]:
    """Words of one printed line for the extractor's layout code: each (x, text) is split at spaces,
    0.5 em per character."""
    from metasift.extractor.layout import Word

    words = []
    for x, text in cells:
        for part in text.split():
            words.append(Word(part, x, x + 0.5 * size * len(part), y, size))
            x += 0.5 * size * (len(part) + 1)
    return words


def calibration_sample(n: int = 3000, prevalence: float = 0.12, seed: int = 0, rule_share: float = 0.0, *,
                       plain: bool = False) -> list:
    """A labelled calibration sample whose signals are informative but imperfect (as real ones are): the
    ranker's probability, the model's verdict and confidence; 3 % failed model answers and a ``rule_share`` of
    rule exclusions among the excludes, unless ``plain`` (then neither is drawn)."""
    import numpy as np

    from metasift.screener.calibrate import CalibrationItem
    from metasift.screener.routing import LLMSignal, Signals

    rng = np.random.default_rng(seed)
    items = []
    for _ in range(n):
        inc = bool(rng.random() < prevalence)
        p = float(np.clip(rng.beta(4, 2) if inc else rng.beta(1, 12), 0, 1))
        says_exclude = rng.random() < (0.1 if inc else 0.85)
        conf = float(np.round(rng.uniform(0.6, 0.9) if inc else rng.uniform(0.7, 1.0), 2))
        llm = LLMSignal(decision="exclude" if says_exclude else "include", confidence=conf,
                        criteria={"c1": "not_met" if says_exclude else "met"})
        if plain:
            items.append(CalibrationItem(included=inc, signals=Signals(llm=llm, ranker_probability=p)))
            continue
        if rng.random() < 0.03:
            llm = LLMSignal.failed("bad json")
        rule = (not inc) and rng.random() < rule_share
        items.append(CalibrationItem(included=inc, signals=Signals(rule_exclude=rule, llm=llm,
                                                                   ranker_probability=p)))
    return items


def text_page(text: str, number: int = 1) -> Any:
    """A page of prose for the extractor's sentence readers: its text, the same as its physical lines, no words."""
    from types import SimpleNamespace

    return SimpleNamespace(number=number, text=text, lines=text, rows=[])
