"""The normalised bibliographic record every importer produces and dedup consumes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # the store imports this module: its row type is named for annotations only
    from metasift.store.rows import RecordRow


class Record(BaseModel):
    """One bibliographic record, normalised across export formats.

    Strings are stripped, empty values are ``None``; ``authors`` are "Family, Given" strings in
    source order; ``doi`` is bare and lower-case (no ``https://doi.org/``); ``year`` is an int.
    ``raw`` keeps the record exactly as parsed (tag -> value(s)) so nothing the exporter wrote is lost;
    ``line`` is the 1-based line in the source file where the record starts (for error messages).
    """

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    abstract: str | None = None
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    journal: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmid: str | None = None
    issn: str | None = None
    keywords: list[str] = Field(default_factory=list)
    publication_type: str | None = None
    language: str | None = None
    url: str | None = None
    label: int | None = None  # a screening label carried by the export (ASReview, Rayyan...), if any
    raw: dict[str, Any] = Field(default_factory=dict)
    line: int | None = None

    @property
    def first_author(self) -> str | None:
        return self.authors[0] if self.authors else None

    def completeness(self) -> int:
        """How many bibliographic fields are filled: dedup keeps the most complete as primary."""
        fields = (self.title, self.abstract, self.year, self.journal, self.volume, self.issue,
                  self.pages, self.doi, self.pmid, self.issn)
        return sum(1 for f in fields if f) + (1 if self.authors else 0)


def study_label(record: RecordRow) -> str:
    """"Family Year" from a stored record, the way forest plots and RoB tables name studies."""
    first = (record.authors or ["Anon"])[0]
    return f"{first.split(',')[0].strip()} {record.year or ''}".strip()
