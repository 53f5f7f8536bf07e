"""metasift: systematic reviews in the terminal.

Shared parts live here: the CLI (`metasift.cli`), the review protocol (`metasift.config`),
the project store (`metasift.store`), importers (`metasift.importers`) and deduplication
(`metasift.dedup`). Stage packages (`screener`, `extractor`, `analysis`) sit beside it.
"""

__version__ = "0.1.0"
