"""One error tree for everything a user should see as a single red line.

    MetasiftError            base: "show this to the user", never a bug
    ├── ConfigError          review.toml missing or invalid (message carries the key path)
    ├── ProjectError         no project here / already initialised / store too new, damaged or missing
    │   (AlreadyImported, store._records: the same file imported by another process meanwhile)
    ├── ImportFormatError    a file we cannot parse (message is ``FILE:LINE: what``)
    ├── AnalysisError        input a statistical method cannot use (k too small, vi <= 0 ...)
    ├── PdfError             a full text that is not a readable PDF (extractor.pdf; exit 7)
    ├── EntryError           a value entered by hand that its page does not bear out, or a bad field (exit 8)
    │   ├── NotPrinted       the page's text does not print the value: where is it, or how was it computed
    │   └── AmbiguousEntry   the page prints the value on several lines: which one (``lines``)
    └── LLMError             the configured endpoint failed or answered garbage
        ├── EndpointError    gave up on the endpoint: calls in a row failed on every attempt (llm.client)
        ├── BudgetExceeded   max_cost would be passed (llm.cost)
        └── MissingPrice     also a ConfigError (exit 2): an unpriced remote model with max_cost (llm.cost)

The CLI catches ``MetasiftError``, prints its message on one line and exits with
``exit_code``; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class MetasiftError(Exception):
    """An error the user can act on; ``str(err)`` is the whole message."""

    exit_code = 1


class ConfigError(MetasiftError):
    exit_code = 2


class ProjectError(MetasiftError):
    exit_code = 3


class ImportFormatError(MetasiftError):
    """A file we could not read. Built from the file, the 1-based line and what is wrong."""

    exit_code = 4

    def __init__(self, path: str, line: int | None, what: str) -> None:
        self.path, self.line, self.what = str(path), line, what
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {what}")


class AnalysisError(MetasiftError):
    exit_code = 5


class EntryError(MetasiftError):
    """A value a reviewer entered by hand that cannot be stored as given (``metasift enter``): a field, arm or
    number that does not fit, or a page that does not print it. Nothing is stored."""

    exit_code = 8


class NotPrinted(EntryError):
    """The page's text does not print the entered value (or the reviewer's quote): where is it, or how was it
    computed?"""


class AmbiguousEntry(EntryError):
    """The page prints the entered value on several lines (``lines``): the reviewer says which one."""

    def __init__(self, message: str, lines: list[str]) -> None:
        super().__init__(message)
        self.lines = lines


class LLMError(MetasiftError):
    exit_code = 6
