"""The failing-case corpus: every failure the fuzzer finds is kept in ``corpus/`` and replayed each run.

An export mutant is kept as the (minimised) file itself, named ``{source stem}-{seed}{suffix}``, when it is
under ``MAX_BYTES``: it then replays without ``../shared``. A PDF mutant, or an export that stays too big, is
kept as a recipe ``{source stem}-{seed}{suffix}.recipe.json`` (source, seed, operators and the mutant's
sha256): a few hundred bytes instead of a copy of a shared file, replayed when ``../shared`` is present.
``index.json`` says where each case came from and how it failed when it was found.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from tests.fuzz.mutators import mutate
from tests.fuzz.seeds import SHARED_DATA, Case, case_from_label

if TYPE_CHECKING:
    from tests.fuzz.harness import Outcome, Runner

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
INDEX = CORPUS_DIR / "index.json"
MAX_BYTES = 20_000
RECIPE = ".recipe.json"
_NOT_CASES = {"README.md", "index.json"}


class SharedMissing(Exception):
    """A recipe needs ``../shared/data``, which is absent here."""


def corpus_files() -> list[Path]:
    """Every case in the corpus, sorted by name."""
    if not CORPUS_DIR.is_dir():
        return []
    return sorted(p for p in CORPUS_DIR.iterdir() if p.is_file() and p.name not in _NOT_CASES)


def materialise(path: Path) -> tuple[str, bytes]:
    """The file name to run a case as, and its bytes (a recipe is regenerated and checked against its sha256)."""
    if not path.name.endswith(RECIPE):
        return path.name, path.read_bytes()
    recipe = json.loads(path.read_text(encoding="utf-8"))
    case = case_from_label(recipe["case"])
    if not case.source.is_file():
        raise SharedMissing(f"{path.name} needs {case.source}, which is absent")
    data, _ = mutate(case.source.read_bytes(), case.source.name, case.seed, recipe["ops"])
    if hashlib.sha256(data).hexdigest() != recipe["sha256"]:
        raise AssertionError(f"{path.name}: the mutators or {case.source.name} changed, the recipe no longer "
                             f"makes the same mutant; re-run `make fuzz` and replace the recipe")
    return case.source.name, data


def minimise(runner: Runner, name: str, data: bytes, signature: str, budget: int = 120) -> bytes:
    """Delete runs of lines (ddmin), then shorten the longest line, while the mutant still fails the same way.

    Candidates of one round run in parallel through the runner's pool; the budget bounds the runs.
    """
    def fails(candidates: list[bytes]) -> int | None:
        items = [(str(i), name, c, []) for i, c in enumerate(candidates)]
        hits = {int(o.label) for o in runner.run_files(items) if o.signature == signature}
        return min(hits) if hits else None

    lines, n, tries = data.splitlines(keepends=True), 2, 0
    while len(lines) >= 2 and tries < budget:
        size = math.ceil(len(lines) / n)
        candidates = [lines[:i] + lines[i + size:] for i in range(0, len(lines), size)]
        tries += len(candidates)
        hit = fails([b"".join(c) for c in candidates])
        if hit is not None:
            lines, n = candidates[hit], max(n - 1, 2)
        elif n >= len(lines):
            break
        else:
            n = min(len(lines), n * 2)
    while tries < budget and lines:
        longest = max(range(len(lines)), key=lambda i: len(lines[i]))
        line = lines[longest]
        if len(line) < 200:
            break
        shorter = lines[:longest] + [line[: len(line) // 2] + line[-1:]] + lines[longest + 1:]
        tries += 1
        if fails([b"".join(shorter)]) is None:
            break
        lines = shorter
    return b"".join(lines)


def _index() -> dict[str, dict]:
    return json.loads(INDEX.read_text(encoding="utf-8")) if INDEX.exists() else {}


def save(runner: Runner, case: Case, outcome: Outcome) -> Path:
    """Keep a failing case in the corpus (minimised when it is an export and fails fast); return its path."""
    data, ops = mutate(case.source.read_bytes(), case.source.name, case.seed)
    stem = f"{case.source.stem}-{case.seed}{case.source.suffix}"
    if not case.is_pdf and outcome.category not in ("hang", "memory", "crash"):
        data = minimise(runner, case.source.name, data, outcome.signature)
    if case.is_pdf or len(data) > MAX_BYTES:
        path = CORPUS_DIR / (stem + RECIPE)
        full, _ = mutate(case.source.read_bytes(), case.source.name, case.seed)
        recipe = {"case": case.label, "ops": ops, "sha256": hashlib.sha256(full).hexdigest()}
        path.write_text(json.dumps(recipe, indent=1) + "\n", encoding="utf-8")
    else:
        path = CORPUS_DIR / stem
        path.write_bytes(data)
    index = _index()
    index[path.name] = {"case": case.label, "ops": ops, "found": outcome.signature, "bytes": len(data),
                        "error": (outcome.error or outcome.stderr.strip()[-300:])[:300],
                        "source_sha256": hashlib.sha256(case.source.read_bytes()).hexdigest()}
    INDEX.write_text(json.dumps(dict(sorted(index.items())), indent=1) + "\n", encoding="utf-8")
    return path


def source_label(path: Path) -> str:
    """The case a corpus file came from (``exports/x.ris@18004``), or its own name when not indexed."""
    return _index().get(path.name, {}).get("case", path.name)


__all__ = ["CORPUS_DIR", "SHARED_DATA", "SharedMissing", "corpus_files", "materialise", "minimise", "save",
           "source_label"]
