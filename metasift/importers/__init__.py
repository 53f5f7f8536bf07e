"""Bibliographic importers: database and reference-manager exports -> normalised ``Record`` lists.

``read_file(path)`` decodes the file (UTF-8, UTF-8 BOM, UTF-16, Latin-1 fallback with a warning),
recognises its format and exporter layout, and parses every record or raises ``ImportFormatError``
(``FILE:LINE: what``). Formats: RIS, PubMed MEDLINE (.nbib), CSV/TSV (Scopus, WoS savedrecs,
Embase, PubMed, Zotero, Rayyan, Covidence, Cochrane, CINAHL, ASReview, generic), BibTeX,
Web of Science plain text and EndNote tagged (.enw).
"""

from metasift.importers.reader import FORMATS, ImportResult, detect_format, read_file

__all__ = ["FORMATS", "ImportResult", "detect_format", "read_file"]
