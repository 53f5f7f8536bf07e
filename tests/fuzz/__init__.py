"""The fuzz suite (issue #18): mutants of the shared exports and PDFs run through the real CLI path.

``mutators`` (the operators), ``seeds`` (sources, seed base, sample sizes), ``worker`` (a long-lived
process running CLI calls in-process), ``harness`` (the worker pool, mutant runs and their verdicts),
``corpus`` (failing cases kept in ``corpus/`` and replayed by ``tests/test_fuzz.py``).
"""
