"""The fuzz suite (issue #18): mutated search exports and PDFs must end in records or one clean error line.

A fixed sample of mutants of the shared exports and PDFs (``tests/fuzz/seeds.py``), and every case of the
failing-case corpus (``tests/fuzz/corpus/``), run through the real CLI path — ``metasift import FILE
--project P`` on a fresh project, ``metasift extract-pdf FILE --json`` — in long-lived worker processes
under a time and a memory limit. Each must exit 0 with records, or print one "error:" line and exit with a
MetasiftError code; never a traceback, a hang, a MemoryError or a crash, and a failed import leaves the
store byte-identical. ``make fuzz`` runs the longer sample and prints the table.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz.corpus import SharedMissing, corpus_files, materialise, source_label
from tests.fuzz.harness import Outcome, Runner, judge, reproduction
from tests.fuzz.mutators import EXPORT_OPERATORS, PDF_OPERATORS, mutate
from tests.fuzz.seeds import TEST_EXPORT_MUTANTS, TEST_PDF_MUTANTS, TEST_PDFS, Case, plan, shared_available

WORKERS = max(2, min(4, os.cpu_count() or 2))
SHARED_ABSENT = "../shared/data is absent: the fuzz sample mutates its exports and PDFs"
SAMPLE = plan(TEST_EXPORT_MUTANTS, TEST_PDF_MUTANTS, pdf_names=TEST_PDFS) if shared_available() else []
CORPUS = corpus_files()


def _params(items: list, ids: object) -> list:
    if items:
        return [pytest.param(x, id=ids(x)) for x in items]  # type: ignore[operator]
    return [pytest.param(None, id="none", marks=pytest.mark.skip(reason=SHARED_ABSENT if ids is _case_id
                                                                   else "the corpus is empty"))]


def _case_id(case: Case) -> str:
    return case.label


def _wanted(request: pytest.FixtureRequest, name: str) -> list:
    """The parameters of this module's selected tests that use fixture argument ``name`` (other modules'
    tests may have a parameter of the same name)."""
    values = []
    for item in request.session.items:
        if getattr(item, "module", None) is not request.module:
            continue
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get(name) is not None:
            values.append(callspec.params[name])
    return values


@pytest.fixture(scope="module")
def runner() -> Iterator[Runner]:
    r = Runner.start(workers=WORKERS)
    yield r
    r.close()


@pytest.fixture(scope="module")
def sample_outcomes(request: pytest.FixtureRequest, runner: Runner) -> dict[str, Outcome]:
    """Every selected sample case, run in parallel once; by label."""
    return {o.label: o for o in runner.run_cases(_wanted(request, "case"))}


@pytest.fixture(scope="module")
def corpus_outcomes(request: pytest.FixtureRequest, runner: Runner) -> dict[str, Outcome | str]:
    """Every selected corpus case, run in parallel once; by file name (a skip reason when it cannot run)."""
    results: dict[str, Outcome | str] = {}
    items = []
    for path in _wanted(request, "corpus_case"):
        try:
            name, data = materialise(path)
        except SharedMissing as exc:
            results[path.name] = str(exc)
            continue
        items.append((path.name, name, data, []))
    results.update({o.label: o for o in runner.run_files(items)})
    return results


@pytest.mark.shared
@pytest.mark.parametrize("case", _params(SAMPLE, _case_id))
def test_mutant_fails_cleanly(case: Case, sample_outcomes: dict[str, Outcome]) -> None:
    outcome = sample_outcomes[case.label]
    assert not outcome.failed, f"{outcome.summary()}\nreproduce: {reproduction(case)}\n{outcome.stderr[-2000:]}"


@pytest.mark.parametrize("corpus_case", _params(CORPUS, lambda p: p.name))
def test_corpus_case_fails_cleanly(corpus_case: Path, corpus_outcomes: dict[str, Outcome | str]) -> None:
    outcome = corpus_outcomes[corpus_case.name]
    if isinstance(outcome, str):
        pytest.skip(outcome)
    assert not outcome.failed, (f"{outcome.summary()} (found as {source_label(corpus_case)})\n"
                                f"{outcome.stderr[-2000:]}")


# ------------------------------------------------------------------ the harness itself (no processes)


@pytest.mark.parametrize("name", ["x.ris", "x.pdf"])
def test_mutants_are_reproducible_from_the_seed(name: str) -> None:
    data = b"TY  - JOUR\nTI  - A title\nER  - \n" * 50
    assert mutate(data, name, 7) == mutate(data, name, 7)
    assert len({mutate(data, name, seed)[0] for seed in range(20)}) > 15


@pytest.mark.parametrize("op", sorted(EXPORT_OPERATORS.items() | PDF_OPERATORS.items()), ids=lambda x: x[0])
def test_every_operator_changes_the_file(op: tuple) -> None:
    _, apply = op
    data = "TY  - JOUR\nTI  - Café résumé\nER  - \n".encode() * 40
    assert any(apply(data, random.Random(seed)) != data for seed in range(5))


def test_judge_tells_clean_errors_from_the_rest() -> None:
    codes = {1, 2, 3, 4, 5, 6, 7}
    ok = {"ended": "exit", "code": 4}
    assert judge("", "error: x.ris:3: no records\n", ok, pdf=False, records=0, codes=codes) == "clean_error"
    assert judge("", "warning: w\nerror: x\n", ok, pdf=False, records=0, codes=codes) == "unclean_error"
    assert judge("", "error: x\n", {"ended": "exit", "code": 9}, pdf=False, records=0, codes=codes) \
        == "unclean_error"
    tb = "Traceback (most recent call last):\n  File \"a.py\", line 1, in f\nValueError: v\n"
    assert judge("", tb, {"ended": "exit", "code": 1}, pdf=False, records=0, codes=codes) == "traceback"
    assert judge("", "", {"ended": "exit", "code": 0}, pdf=False, records=3, codes=codes) == "imported"
    assert judge("", "", {"ended": "exit", "code": 0}, pdf=False, records=0, codes=codes) == "empty_ok"
    assert judge("{}", "", {"ended": "exit", "code": 0}, pdf=True, records=0, codes=codes) == "imported"
    assert judge("", "", {"ended": "hang", "code": -1}, pdf=True, records=0, codes=codes) == "hang"


def test_a_hang_is_stopped_and_its_worker_replaced(runner: Runner, tmp_path: Path) -> None:
    """Importing a named pipe nobody writes to blocks in open(): the job's alarm must end it as a hang."""
    from tests.fuzz.harness import Job

    fifo = tmp_path / "never.ris"
    os.mkfifo(fifo)
    job = Job(["import", str(fifo), "--project", str(runner.template)], tmp_path / "out", tmp_path / "err",
              timeout=1.0)
    restarts = runner.pool.restarts
    (_, result), = list(runner.pool.run([job]))
    assert result["ended"] == "hang"
    assert runner.pool.restarts == restarts + 1
