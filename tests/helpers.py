"""Small builders shared by tests: a project's review.toml edited, records put in the store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from metasift.records import Record
from metasift.store import Store


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
