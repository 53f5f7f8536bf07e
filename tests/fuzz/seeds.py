"""Where the fuzz suite's inputs come from and how many mutants each run makes: the shared exports and
PDFs beside the repository, the seed base, and the sample sizes of the ``make test`` and ``make fuzz`` runs.

Case ``i`` of a run mutates source ``sources[i % len(sources)]`` with seed ``SEED_BASE + i``: every source
file is covered in turn, and a case is identified by its source file's name and its seed alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
EXPORTS_DIR = SHARED_DATA / "exports"
PDF_DIRS = (SHARED_DATA / "pdfs", SHARED_DATA / "pdfs" / "dev")

SEED_BASE = 18_000  # issue #18; export mutants use SEED_BASE + i, PDF mutants PDF_SEED_BASE + i
PDF_SEED_BASE = 918_000

TEST_EXPORT_MUTANTS = 150  # the fixed sample in `make test` (under 60 s on 2 cores with the PDFs)
TEST_PDF_MUTANTS = 20
LONG_EXPORT_MUTANTS = 1_200  # `make fuzz`
LONG_PDF_MUTANTS = 220

# The `make test` sample mutates only the five quickest PDFs (8-11 pages, ~1.3 s each to read and extract;
# the 29-page one takes 4-7 s), so that 20 PDF mutants fit the 60 s budget; `make fuzz` mutates them all.
TEST_PDFS = ("kuck2016_fire_and_ice_qol.pdf", "masuda2020_volcano.pdf", "mont2014_sara.pdf",
             "schmidt2017_cardioversion_waveforms.pdf", "vamos2020_athena_prior_ablation.pdf")

TIMEOUT_S = 10.0  # per export mutant
PDF_TIMEOUT_S = 20.0  # per PDF mutant: a healthy 29-page PDF takes up to 7 s on a loaded 2-core machine
MEMORY_LIMIT_BYTES = 1_536 * 1024 * 1024  # RLIMIT_AS of each worker


@dataclass(frozen=True)
class Case:
    """One mutant to run: its source file (absolute) and seed."""

    source: Path
    seed: int

    @property
    def kind(self) -> str:
        """The source file's type for the report table: its extension (``ris``, ``csv``, ``pdf``...)."""
        return self.source.suffix.lstrip(".").lower() or "none"

    @property
    def is_pdf(self) -> bool:
        return self.kind == "pdf"

    @property
    def label(self) -> str:
        """``NAME@SEED``, the name relative to ``../shared/data``, e.g. ``exports/ovid_ris.ris@18004``."""
        return f"{self.source.relative_to(SHARED_DATA)}@{self.seed}"


def shared_available() -> bool:
    return EXPORTS_DIR.is_dir() and all(d.is_dir() for d in PDF_DIRS)


def export_sources() -> list[Path]:
    """Every export in ``../shared/data/exports`` (its README excluded), sorted by name."""
    return sorted(p for p in EXPORTS_DIR.iterdir() if p.is_file() and p.suffix.lower() != ".md")


def pdf_sources() -> list[Path]:
    """Every PDF in ``../shared/data/pdfs`` and ``pdfs/dev``, sorted by path."""
    return sorted(p for d in PDF_DIRS for p in d.iterdir() if p.suffix.lower() == ".pdf")


def plan(n_exports: int, n_pdfs: int, *, pdf_names: tuple[str, ...] | None = None, seed_base: int = SEED_BASE,
         pdf_seed_base: int = PDF_SEED_BASE) -> list[Case]:
    """The run's cases: ``n_exports`` export mutants and ``n_pdfs`` PDF mutants (of ``pdf_names`` only, when
    given), round-robin over the sources."""
    exports = export_sources()
    pdfs = [p for p in pdf_sources() if pdf_names is None or p.name in pdf_names]
    cases = [Case(exports[i % len(exports)], seed_base + i) for i in range(n_exports)]
    cases += [Case(pdfs[i % len(pdfs)], pdf_seed_base + i) for i in range(n_pdfs)]
    return cases


def case_from_label(label: str) -> Case:
    """The inverse of ``Case.label``."""
    name, _, seed = label.rpartition("@")
    return Case(SHARED_DATA / name, int(seed))
