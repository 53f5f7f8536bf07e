"""The end-to-end demo behind ``make demo``: offline, no API key, checks itself.

Takes the bundled example review (``examples/social_media``, built by ``make_example.py`` and
``make_pdfs.py`` from a table of known numbers) through the whole path as a user would run it:
import → dedup → screening (rules + ranker; simulated reviewers answer from the example's labels in the
real review sessions) → full texts (attach, extract, verify doubtful values from recorded answers,
eligibility rules) → effect sizes → pooled analysis (the three-level model with robust variance, subgroups by
outcome domain, moderators, dependence-aware bias tests) → report. At the end the pooled estimates are compared
with those computed directly from the known numbers (and with metafor's, from tests/reference/example.json):
the demo fails if they differ.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
EXAMPLE = REPO / "examples" / "social_media"
OUT = REPO / "demo-output"
PROJECT = OUT / "review"
METASIFT = [sys.executable, "-m", "metasift"]


def run(*args: str, quiet: bool = False, project: bool = True) -> str:
    """Run one metasift command as a user would, echo it, stop the demo if it fails."""
    print(f"\n$ metasift {' '.join(args)}", flush=True)
    start = time.perf_counter()
    argv = [*METASIFT, *args, *(["--project", str(PROJECT)] if project else [])]
    proc = subprocess.run(argv, cwd=REPO, text=True, capture_output=True)
    if not quiet:
        sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        sys.exit(f"demo step failed (exit {proc.returncode}): metasift {' '.join(args)}")
    print(f"  ({time.perf_counter() - start:.2f} s)", flush=True)
    return proc.stdout


def step(title: str) -> None:
    print(f"\n{'=' * 8} {title} {'=' * (60 - len(title))}", flush=True)


def known_effects() -> tuple[Any, Any, list[str], list[str]]:
    """Hedges' g (yi, vi) of every outcome of the trials that meet every rule, with each one's trial and
    outcome, straight from the example's table of known numbers."""
    import numpy as np

    from metasift.analysis.effect_sizes import smd

    with open(EXAMPLE / "trials.csv", encoding="utf-8") as fh:
        eligible = {t["trial_id"] for t in csv.DictReader(fh) if not t["fails_rule"]}
    with open(EXAMPLE / "outcomes.csv", encoding="utf-8") as fh:
        rows = [o for o in csv.DictReader(fh) if o["trial_id"] in eligible]
    es = smd(*(([float(o[c]) for o in rows]) for c in ("post_mean_1", "post_sd_1", "n_1", "post_mean_2",
                                                          "post_sd_2", "n_2")))
    return np.asarray(es.yi), np.asarray(es.vi), [o["trial_id"] for o in rows], [o["outcome"] for o in rows]


def expected_pooled() -> tuple[float, float]:
    """The REML estimate (every effect size as if independent) straight from the known numbers of the trials
    that meet every rule."""
    from metasift.analysis import rma

    yi, vi, _, _ = known_effects()
    fit = rma(yi, vi, method="REML")
    return float(fit.beta[0]), float(fit.se[0])


def expected_primary() -> tuple[float, float, float]:
    """The report's primary model straight from the known numbers: three-level (effect sizes within trials,
    REML) with CR2 robust variance and Satterthwaite df, clustered by trial: (estimate, robust se, df)."""
    from metasift.analysis.multilevel import rma_mv
    from metasift.analysis.rve import robust

    yi, vi, trial, _ = known_effects()
    es_id = [str(i) for i in range(len(yi))]
    rob = robust(rma_mv(yi, vi, trial, es_id, method="REML"), trial, type="CR2")
    return float(rob.beta[0]), float(rob.se[0]), float(rob.df[0])


def join_studies(effects: Path, studies: Path, out: Path) -> Path:
    """effects.csv with each study's fields from the study CSV (joined on "Family Year"), as a reviewer would
    join them in a spreadsheet to run `metasift meta --mods` on study-level moderators."""
    with open(studies, encoding="utf-8") as fh:
        fields = {row.pop("study"): row for row in csv.DictReader(fh)}
    with open(effects, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    names = list(next(iter(fields.values())))
    with open(out, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*rows[0], *names], lineterminator="\n")
        writer.writeheader()
        writer.writerows({**row, **fields.get(row["study"], {})} for row in rows)
    return out


def r_reference() -> dict[str, Any] | None:
    """metafor + clubSandwich's figures for the same known numbers (tests/reference/example.R), when present."""
    path = REPO / "tests" / "reference" / "example.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def main() -> None:
    from examples.demo_reviewers import answer_verifications, screen_stage

    start = time.perf_counter()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    search = EXAMPLE / "search"

    step("1. Identification")
    run("init", str(PROJECT), project=False)
    run("confirm", "--as", "alice")  # the starter protocol is this review's: its rules may now exclude
    run("import", str(search / "pubmed.nbib"), str(search / "scopus.csv"), str(search / "psycinfo.ris"))
    run("import", str(search / "pubmed.nbib"))  # the same file again: skipped by its hash
    run("dedup")

    step("2. Title/abstract screening")
    run("screen")  # no endpoint configured: rules + ranker, and it says so
    print("\nsimulated reviewers alice and bob screen in the ranked queue; carol resolves conflicts")
    print(json.dumps(screen_stage(PROJECT, "title_abstract")))
    run("agreement", "--a", "human:alice", "--b", "human:bob")

    step("3. Full texts")
    run("fulltext", "attach", str(EXAMPLE / "pdfs"))
    run("extract")
    print(f"\nrecorded answers settle the doubtful values: {answer_verifications(PROJECT)} verified")
    run("eligibility", quiet=True)
    print(json.dumps(screen_stage(PROJECT, "full_text")))

    step("4. Analysis")
    effects = OUT / "effects.csv"
    run("effects", "--out", str(effects))
    meta = json.loads(run("meta", str(effects), "--yi", "yi", "--vi", "vi", "--method", "REML", "--json",
                          quiet=True, project=False))
    # several effect sizes per study: the three-level model with CR2 robust variance, clustered by study
    run("meta", str(effects), "--yi", "yi", "--vi", "vi", "--multilevel", "study_id/es_id", "--cluster", "study_id",
        project=False)
    primary = json.loads(run("meta", str(effects), "--yi", "yi", "--vi", "vi", "--multilevel", "study_id/es_id",
                             "--cluster", "study_id", "--json", quiet=True, project=False))
    run("subgroup", str(effects), "--yi", "yi", "--vi", "vi", "--by", "outcome", "--multilevel", "study_id/es_id",
        "--test", "knha", project=False)
    run("bias", str(effects), "--yi", "yi", "--vi", "vi", "--multilevel", "study_id/es_id", project=False)
    run("forest", str(effects), "--yi", "yi", "--vi", "vi", "--slab", "study", "--subgroup", "outcome",
        "--multilevel", "study_id/es_id", "--favours", "intervention,control", "--out", str(OUT / "forest.png"),
        project=False)

    step("5. Report")
    run("rob", "import", str(EXAMPLE / "rob2.csv"), "--assessor", "alice")
    run("studies", "import", str(EXAMPLE / "studies.csv"), "--by", "alice")
    moderators = '["female_pct > 70", "guidance", "control_type"]'
    protocol = PROJECT / "review.toml"  # the moderators the review names, as the seed review's
    protocol.write_text(protocol.read_text(encoding="utf-8").replace("moderators = []", f"moderators = {moderators}"),
                        encoding="utf-8")
    print(f'\nreview.toml [analysis] moderators = {moderators}; subgroups = ["outcome"] (the starter\'s)')
    run("status")
    run("report", "--out", str(OUT / "report"))
    # the same meta-regression from the command line, on the effect sizes joined with the study CSV
    joined = join_studies(effects, EXAMPLE / "studies.csv", OUT / "effects_with_studies.csv")
    mods = json.loads(run("meta", str(joined), "--yi", "yi", "--vi", "vi", "--mods",
                          "female_pct > 70,guidance,control_type", "--multilevel", "study_id/es_id", "--cluster",
                          "study_id", "--json", quiet=True, project=False))
    run("meta", str(joined), "--yi", "yi", "--vi", "vi", "--mods", "female_pct > 70,guidance,control_type",
        "--multilevel", "study_id/es_id", "--cluster", "study_id", project=False)

    step("Self-check")
    failed = False
    est, se = expected_pooled()
    got, got_se = meta["coefficients"][0]["estimate"], meta["coefficients"][0]["se"]
    print(f"as if independent (REML, k = {meta['k']}): pooled g from the store {got:.6f} (se {got_se:.6f}); "
          f"from the known numbers {est:.6f} (se {se:.6f})")
    failed |= abs(got - est) > 1e-9 or abs(got_se - se) > 1e-9
    p_est, p_se, p_df = expected_primary()
    c = primary["coefficients"][0]
    print(f"primary (three-level, CR2, {primary['rve']['n_clusters']} studies, {primary['k']} effect sizes): pooled g "
          f"from the store {c['estimate']:.6f} (robust se {c['se']:.6f}, df {c['df']:.2f}); from the known numbers "
          f"{p_est:.6f} (se {p_se:.6f}, df {p_df:.2f})")
    failed |= abs(c["estimate"] - p_est) > 1e-9 or abs(c["se"] - p_se) > 1e-9 or abs(c["df"] - p_df) > 1e-6
    ref = r_reference()
    if ref is not None:
        r = ref["primary"]
        print(f"metafor rma.mv + clubSandwich coef_test on the known numbers: {r['estimate']:.6f} "
              f"(se {r['se']:.6f}, df {r['df']:.2f})")
        failed |= abs(c["estimate"] - r["estimate"]) > 1e-6 or abs(c["se"] - r["se"]) > 1e-6
    shown = json.loads((OUT / "report" / "report.json").read_text(encoding="utf-8"))["moderators"]["metareg"]
    cli_f = {t["moderator"]: t["F"] for t in mods["moderator_tests"]}
    report_f = {t["moderator"]: t["F"] for t in shown["tests"]}
    print("moderator tests (HTZ F), report vs `meta --mods`: " + ", ".join(
        f"{name} {report_f[name]:.4f} vs {cli_f.get(name, float('nan')):.4f}" for name in report_f))
    failed |= set(cli_f) != set(report_f) or any(abs(cli_f[n] - report_f[n]) > 1e-9 for n in report_f)
    if failed:
        sys.exit("demo self-check FAILED: the pipeline's pooled estimate differs from the known numbers")
    print(f"\ndemo finished in {time.perf_counter() - start:.1f} s; report: {OUT / 'report' / 'report.html'}")


if __name__ == "__main__":
    main()
