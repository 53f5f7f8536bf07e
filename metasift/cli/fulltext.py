"""Full texts: ``extract-pdf`` (any PDF, no project needed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table
from rich.text import Text

from metasift.cli._common import (
    JsonOption,
    ProjectOption,
    console,
    emit_json,
    err_console,
    info,
    printable,
    project_dir,
    shown,
    warn,
)
from metasift.csvsafe import LINE_END, safe_row
from metasift.errors import ProjectError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from metasift.config import OutcomeSpec
    from metasift.extractor.by_hand import StudyGaps
    from metasift.extractor.effects import LeftOut
    from metasift.extractor.gaps import Gap
    from metasift.extractor.pipeline import AttachReport
    from metasift.extractor.suggest import Suggestion
    from metasift.llm import LLMSettings


ModelOption = typer.Option(None, "--model", help="With --llm: the model name (default: [llm] model of "
                                                 "review.toml for extract, gpt-4o-mini for extract-pdf).")
BaseUrlOption = typer.Option(None, "--base-url", envvar="OPENAI_BASE_URL",
                             help="With --llm: an OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 "
                                  "(default: the OpenAI API, which needs OPENAI_API_KEY).")


def _require_endpoint(settings) -> None:
    from metasift.errors import LLMError
    from metasift.screener.endpoint import endpoint_configured

    if not endpoint_configured(settings):
        raise LLMError(f"--llm needs an endpoint: pass --base-url URL (or set OPENAI_BASE_URL) for a local or "
                       f"other OpenAI-compatible server, or set {settings.api_key_env} for the OpenAI API")


def _llm_check(doc, rule, model: str | None, base_url: str | None, outcomes):
    """Ask the model about one PDF and cross-check its answer with the rule extractor's."""
    from metasift.extractor.llm_extract import extract_many, merge_with_rules
    from metasift.llm import LLMSettings

    settings = LLMSettings.model_validate({k: v for k, v in (("model", model), ("base_url", base_url)) if v})
    _require_endpoint(settings)
    with err_console.status(f"asking {settings.model} to read {Path(doc.path).name}..."):
        answers, run = extract_many([(None, doc)], settings, outcomes=outcomes)
    model_result, outcome = answers[0]
    if not outcome.ok:
        warn(f"the model's answer could not be used ({outcome.error}): showing the rule extractor's values")
    check = merge_with_rules(doc, model_result, outcome, rule=rule, outcomes=outcomes)
    about = {"model": settings.model, "model_served": outcome.model_served, "prompt_hash": run.prompt_hash,
             "method": outcome.method, "cached": outcome.cached, "cost": run.cost, "error": outcome.error}
    return check, about


def extract_pdf(
    pdf: Path = typer.Argument(..., exists=True, dir_okay=False, help="A trial report as PDF."),
    llm: bool = typer.Option(False, "--llm", help="Also ask an LLM and cross-check it with the rules: values both "
                                                  "agree on are auto-verified, the rest are flagged."),
    outcome: list[str] = typer.Option(None, "--outcome", "-o", metavar="NAME",
                                      help="The outcome to report each arm's baseline for, as the paper may name "
                                           "it (e.g. 'BDI-II', 'PHQ-9', 'NT-proBNP'); repeat for several, the "
                                           "first found wins. Default: the paper's stated primary outcome."),
    model: str = ModelOption,
    base_url: str = BaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Extract arms, n randomised/analysed/dropout, baseline and outcome means and SDs from a PDF.

    Every value comes with the page and the line it was read from. Works outside any project.
    Each arm's `baseline` is that of --outcome, else of the outcome the paper calls primary, else null
    (never the first row of the baseline table); `baselines` lists every measure found at baseline.
    With --llm the model's reading is merged with the rules' value by value; `warnings` lists every
    disagreement and `values` gives each value's status (auto_verified / needs_human) and why.
    The endpoint comes from --base-url / OPENAI_BASE_URL, or the OpenAI API with OPENAI_API_KEY.
    """
    from metasift.config import OutcomeSpec
    from metasift.extractor.pdf import read_pdf
    from metasift.extractor.rules import extract

    specs = [OutcomeSpec(id=f"outcome{i}", label=name, instruments=[name]) for i, name in enumerate(outcome or [], 1)]
    doc = read_pdf(pdf)
    result = extract(doc, specs)
    check = None
    if llm:
        check, about = _llm_check(doc, result, model, base_url, specs)
        result = check.result
    if json_out:
        data = result.model_dump()
        if check is not None:
            data["values"] = [v.model_dump() for v in check.values]
            data["llm"] = about
        emit_json(data)
        return
    arms = Table(title=f"Arms — {pdf.name}", header_style="bold")
    for col in ("arm", "randomised", "analysed", "dropout", "baseline measure", "mean", "SD"):
        arms.add_column(col)
    for a in result.arms:
        arms.add_row(a.name, *(str(v) if v is not None else "—" for v in (
            a.n_randomised, a.n_analysed, a.n_dropout, *((a.baseline.measure, a.baseline.mean, a.baseline.sd)
                                                         if a.baseline else (None, None, None)))))
    console.print(arms)
    if result.design is not None:
        d = result.design
        info(f"design: {d.kind}, {d.n_arms} arms" + (f", allocation {d.allocation}" if d.allocation else "")
             + (f", {d.clusters} clusters" if d.clusters else ""))
    if result.primary_outcome is not None:
        info(f"primary outcome (page {result.primary_outcome.page}): {shown(result.primary_outcome.text)}")
    if result.target is not None:
        info(f"baseline: {shown(result.target.measure)} ({shown(result.target.why)})")
    outs = Table(title="Outcomes", header_style="bold")
    for col in ("arm", "measure", "timepoint", "mean", "SD", "n"):
        outs.add_column(col)
    for o in result.outcomes:
        outs.add_row(o.arm, o.measure, o.timepoint, *(str(v) if v is not None else "—" for v in (o.mean, o.sd, o.n)))
    console.print(outs)
    if check is not None:
        _print_doubts(check)
    for w in result.warnings:
        warn(w)


def _print_doubts(check) -> None:
    """The merged values a human should look at, with each source's reading."""
    counts = check.counts()
    info(f"rule and model: {counts['agree']} agree, {counts['disagree']} disagree, {counts['rule_only']} rule "
         f"only, {counts['model_only']} model only; {counts['needs_human']} need a human")
    doubts = [v for v in check.values if v.status == "needs_human"]
    if not doubts:
        return
    table = Table(title="Values for a human", header_style="bold")
    for col in ("value", "arm", "measure", "rule", "model", "why"):
        table.add_column(col)
    for v in doubts:
        said = {c.source: f"{c.value:g} (p. {c.page})" if c.page else f"{c.value:g}" for c in v.candidates}
        where = " ".join(x for x in (v.measure, v.timepoint) if x)
        table.add_row(v.name, v.arm or "", where, said.get("rule", "—"), said.get("model", "—"), v.reason or "")
    console.print(table)


def attach(
    target: Path = typer.Argument(..., help="A folder of PDFs (*.pdf, any case), or one PDF file."),
    record: int = typer.Option(None, "--record", help="With one PDF file: attach it to this record id "
                                                      "instead of matching by DOI or title."),
    all_records: bool = typer.Option(False, "--all", help="Match against every record, not only those "
                                                          "included at title/abstract."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Match PDFs to included records (DOI in the text or metadata, else fuzzy title) and list the rest.

    Each PDF is copied into the project (fulltext/, named by its sha256), so the project folder can be
    moved; attaching the same content again does nothing. Entries named *.pdf that are no PDF file (a
    folder, a FIFO, a broken symlink) are listed and skipped. `attach FILE.pdf --record ID` attaches one
    file by hand, even one that cannot be read (it is kept, marked for a human).
    """
    from metasift.extractor.pipeline import attach_paths
    from metasift.kinds import Label, Stage
    from metasift.store import Store

    store = Store.open(project_dir(project))
    included = [rid for rid, label in store.final_labels(Stage.TITLE_ABSTRACT).items() if label == Label.INCLUDE]
    if (all_records or not included) and record is None:
        if not all_records:
            warn("no records are included at title/abstract yet; matching against all records")
        included = [r.id for r in store.records_table(primary_only=True)]
    try:
        with err_console.status("reading PDFs..."):
            report = attach_paths(store, target, included, record_id=record)
    finally:
        store.close()
    if json_out:
        emit_json(vars(report))
    _fail_single_file(target, report)
    if not json_out:
        _print_attach(target, report)


def _print_attach(target: Path, report: AttachReport) -> None:
    """One table of attached PDFs, then one line for every file that was not attached and why."""
    table = Table(title=f"Full texts from {target}", header_style="bold")
    for col in ("record", "file", "stored as", "matched by"):
        table.add_column(col)
    for a in report.attached:
        how = "by hand" if a["matched_by"] == "manual" else f"{a['matched_by']} ({a['score']:.0f})"
        table.add_row(str(a["record_id"]), Path(a["path"]).name, a["stored"], how)
    if report.attached:
        console.print(table)
    for path in report.unmatched:
        warn(f"{path}: no matching record (check the record's DOI/title, or attach it by hand: "
             f"metasift fulltext attach {path} --record ID)")
    for bad in report.unreadable:
        warn(f"{bad['message']} — not attached; attach it by hand with --record ID to keep it for a human")
    for odd in report.skipped:
        warn(f"{odd['path']}: {odd['why']}; skipped")
    for old in report.outside:
        warn(f"full text {old['fulltext_id']} ({old['path']}): {old['why']}; not copied into the project")
    if report.copied_in:
        info(f"copied {len(report.copied_in)} earlier full text(s) into the project's fulltext/ folder")
    if report.already:
        info(f"{len(report.already)} PDF(s) were attached before")


def _fail_single_file(target: Path, report: AttachReport) -> None:
    """A single PDF named on the command line that was not attached makes the run fail, with why."""
    from metasift.errors import MetasiftError

    if target.is_dir() or report.attached or report.already:
        return
    if report.unreadable:
        raise MetasiftError(f"{report.unreadable[0]['message']}; pass --record ID to attach it for a human")
    if report.unmatched:
        raise MetasiftError(f"{target}: no record has its DOI or title; pass --record ID to attach it by hand")


def _extract_settings(root: Path, model: str | None, base_url: str | None) -> LLMSettings:
    """``[llm]`` of review.toml with the command line's model and endpoint; refuses when no endpoint is set."""
    from metasift.config import load_protocol
    from metasift.llm import LLMSettings

    settings = LLMSettings.from_config(load_protocol(root).llm, model=model, base_url=base_url,
                                       cache_dir=root / ".metasift" / "cache")
    _require_endpoint(settings)
    return settings


def extract_cmd(
    llm: bool = typer.Option(False, "--llm", help="Also ask the [llm] endpoint of review.toml and cross-check: "
                                                  "values both agree on are auto-verified, the rest wait for a "
                                                  "human."),
    model: str = ModelOption,
    base_url: str = BaseUrlOption,
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Extract arms, Ns, baseline and outcome values from every attached PDF into the store.

    Values whose quote is on its page and whose arithmetic holds are auto-verified; the rest wait for
    `metasift verify`. Values a human verified are never overwritten. With --llm the model's values are
    stored too (source "model", with the prompt's hash): a disagreement keeps both, for a human to pick;
    a value only the model found always waits for a human. Every exchange is logged in llm_calls.
    """
    from rich.progress import Progress

    from metasift.config import load_protocol
    from metasift.extractor.by_hand import study_gaps
    from metasift.extractor.pipeline import extract_project, ready_fulltexts
    from metasift.store import Store

    root = project_dir(project)
    protocol = load_protocol(root)
    outcomes = protocol.outcomes
    store = Store.open(root)
    try:
        settings = _extract_settings(root, model, base_url) if llm else None
        texts = ready_fulltexts(store)
        with Progress(console=err_console, transient=True) as progress:
            task = progress.add_task(f"reading with {settings.model}" if settings else "extracting", total=len(texts))
            summaries, run = extract_project(store, texts, settings, outcomes=outcomes,
                                             on_progress=lambda done, total: progress.update(task, completed=done))
        missing = [sum(g.certain for g in s.gaps) for s in study_gaps(
            store, outcomes, humans_needed=protocol.screening.humans_per_record)]
    finally:
        store.close()
    if sum(missing) and not json_out:
        info(f"{sum(missing)} values the rules and effect sizes need are missing in {sum(map(bool, missing))} "
             "studies: metasift gaps lists them (--suggest: with the numbers they likely are), metasift verify "
             "shows each beside a page to enter it from")
    if run:
        info(f"model {run.model}: {run.sent - run.errors} answered, {run.errors} failed"
             + (f", cost {run.cost:.4f}" if run.cost else ""))
        if run.stopped:
            warn(f"stopped early: {run.stopped}")
    if run and run.failed:  # the rule values are stored; the endpoint's failure still makes the run fail
        if json_out:
            emit_json({"fulltexts": summaries, "missing": sum(missing), "llm": run.model_dump()})
        from metasift.llm.client import EndpointError

        raise EndpointError(f"{run.failed} (rule values of every paper are saved; re-run to ask the model again)")
    if json_out:
        emit_json({"fulltexts": summaries, "missing": sum(missing), **({"llm": run.model_dump()} if run else {})})
        return
    table = Table(title="Extraction", header_style="bold")
    cols = ["full text", "status", "values", "need a human"] + (["agree", "disagree", "model only", "model error"]
                                                                 if llm else [])
    for col in cols:
        table.add_column(col)
    for s in summaries:
        cells = [str(s["fulltext_id"]), s["status"], str(s["values"]), str(s.get("needs_human", "—"))]
        if llm:
            m = s.get("model") or {}
            cells += [str(m.get("agree", "—")), str(m.get("disagree", "—")), str(m.get("model_only", "—")),
                      m.get("error") or ""]
        table.add_row(*cells)
    console.print(table)


def effects(
    out: Path = typer.Option(..., "--out", "-o", help="CSV to write (one row per outcome x timepoint)."),
    include_unverified: bool = typer.Option(False, "--include-unverified",
                                            help="Also use values still waiting for a human."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Compute effect sizes (Hedges' g, intervention minus control) from verified outcome values.

    Uses the studies included at full text and, when review.toml lists [[outcomes]], only their measures
    (the `outcome` column names which). Every other study that reached full text is listed as left out,
    with why (excluded at full text on which criterion, not yet decided, no data for the protocol's
    outcomes, an SD missing...). Writes study_id and es_id columns for multilevel models
    (`metasift meta --multilevel study_id/es_id`). Refuses values a human has not verified unless
    --include-unverified. No effect size at all is an error that names every study and why.
    """
    import csv

    from metasift.config import load_protocol
    from metasift.errors import MetasiftError
    from metasift.extractor.effects import EffectRow, collect_effects

    root = project_dir(project)
    protocol = load_protocol(root)
    from metasift.store import Store

    store = Store.open(root)
    found = collect_effects(store, protocol.outcomes, include_unverified=include_unverified,
                            humans_needed=protocol.screening.humans_per_record)
    store.close()
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(EffectRow.model_fields), lineterminator=LINE_END)
        writer.writeheader()
        writer.writerows(safe_row(r.model_dump()) for r in found.rows)  # no live formulas from record text
    if json_out:
        by_outcome: dict[str, int] = {}
        for r in found.rows:
            by_outcome[r.outcome] = by_outcome.get(r.outcome, 0) + 1
        emit_json({"path": str(out), "effects": len(found.rows), "studies": found.studies,
                   "by_outcome": by_outcome, "left_out": [x.model_dump() for x in found.left_out],
                   "skipped": [x.model_dump() for x in found.skipped]})
    else:
        _print_left_out(found.left_out)
        for x in found.skipped:
            warn(x.line())
        info(f"wrote {len(found.rows)} effect sizes from {found.studies} studies to {out}"
             + (f"; {len(found.left_out)} studies left out" if found.left_out else ""))
    if not found.rows:
        raise MetasiftError(found.why_none())


def _print_left_out(left_out: list[LeftOut]) -> None:
    """The studies that give no effect size, with why."""
    if not left_out:
        return
    table = Table(title="Studies left out", header_style="bold", show_lines=True)
    for col in ("record", "study", "why"):
        table.add_column(col)
    for x in left_out:
        table.add_row(str(x.record_id), f"{x.study}\n{x.title}", x.reason)
    console.print(table)


def _register_fulltext(app: typer.Typer) -> None:
    group = typer.Typer(help="Attach PDFs to records.", no_args_is_help=True)
    group.command("attach")(attach)
    app.add_typer(group, name="fulltext")
    app.command("extract")(extract_cmd)
    app.command()(effects)
    app.command()(verify)
    app.command()(eligibility)
    app.command()(gaps)
    app.command()(enter)


def register(app: typer.Typer) -> None:
    app.command("extract-pdf")(extract_pdf)
    _register_fulltext(app)


def verify(
    reviewer: str = typer.Option(..., "--reviewer", envvar="METASIFT_REVIEWER", help="Your name (recorded)."),
    all_values: bool = typer.Option(False, "--all", help="Also review values the checks auto-verified."),
    no_gaps: bool = typer.Option(False, "--no-gaps", help="Only the extracted values, not the missing ones."),
    project: Path = ProjectOption,
) -> None:
    """Verify doubtful extracted values beside their page (table layout kept, quote highlighted), then enter
    the values each study lacks.

    Keys: a accept, e edit, r reject, u undo the last decision, n/p move, [/] turn the PDF's page, g go to
    a page, q quit; Esc cancels a prompt. After the doubtful values come the values each study still lacks
    (`metasift gaps`), each beside the page it is likely printed on: e enters one from the page shown (the
    line that prints it is kept as its quote; when several do, pick one), r says the paper does not report
    it, and 1, 2, 3 show one of its three likely values (as `gaps --suggest` lists them) marked on its
    page, the same key again entering it. / marks the first line that holds some words (a table's row; on
    the page shown, else on the pages after it, turning to it), and w fills from the marked line that value
    of every arm still missing it (a count, or a mean and SD at baseline or follow-up), after you say which
    of its numbers are whose (proposed when the row prints one per arm); on a doubtful value, w verifies
    every arm's doubtful value of that row as the marked line prints it, correcting those that differ. An
    edit keeps a quote that prints the new value in the same way. The status line shows "k of N".
    Every change (an undo too) is saved at once with who and when."""
    from metasift.config import load_protocol
    from metasift.store import Store
    from metasift.tui.verify_app import VerifyApp, missing_items

    root = project_dir(project)
    protocol = load_protocol(root)
    store = Store.open(root)
    missing = [] if no_gaps else missing_items(store, protocol.outcomes, protocol.screening.humans_per_record)
    VerifyApp(store, reviewer, include_auto=all_values, missing=missing, outcomes=protocol.outcomes).run()
    store.close()


def gaps(
    record: int = typer.Option(None, "--record", help="One record's gaps only."),
    suggest: bool = typer.Option(False, "--suggest", help="Read each study's PDF and list under each gap the "
                                 "three numbers its pages print that it most likely is, with their page."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """List the values each study with a full text still lacks: each arm's n randomised, analysed and lost,
    and for each [[outcomes]] of review.toml every arm's baseline mean and SD and a follow-up mean, SD and n.

    These are what the full-text rules and `metasift effects` read. The extractor finds about a third of
    them in a report it was not tuned on, so enter the rest from the PDF with `metasift enter`. Values
    waiting in `metasift verify` are not gaps; rejected ones are. Studies excluded at full text are left
    out.

    With --suggest, each count and baseline value lists the three numbers its PDF prints that a model
    fitted on other trial reports ranks first. On the values the extractor missed in reports nobody tuned
    it to, the first was the value 5-32% of the time and one of the three 34-58% (docs/extraction.md): a
    suggestion says where to look, it is not stored, and only the value the page bears out is entered.
    """
    from metasift.config import load_protocol
    from metasift.extractor.by_hand import study_gaps
    from metasift.extractor.suggest import entered
    from metasift.store import Store

    root = project_dir(project)
    protocol = load_protocol(root)
    store = Store.open(root)
    try:
        studies = study_gaps(store, protocol.outcomes, humans_needed=protocol.screening.humans_per_record,
                             record_id=record)
        paths = {f.id: f.path for f in store.fulltexts()} if suggest else {}
    finally:
        store.close()
    suggested = _suggestions(studies, paths, protocol.outcomes) if suggest else {}
    total = sum(g.certain for s in studies for g in s.gaps)
    if json_out:
        emit_json({"missing": total, "studies": [
            {"record_id": s.record_id, "study": s.study, "fulltext_id": s.fulltext_id, "unreadable": s.unreadable,
             "gaps": [{"field": g.field, "arm": g.arm, "outcome": g.outcome, "measure": g.measure,
                       "timepoint": g.timepoint, "hint": g.hint, "certain": g.certain}
                      | ({"suggestions": [x.to_json() for x in suggested.get((s.record_id, g), [])]} if suggest else {})
                      for g in s.gaps]}
            for s in studies]})
        return
    if record is not None and not studies:
        raise ProjectError(f"record {record} has no full text attached, or is excluded at full text")
    table = Table(title="Values still missing", header_style="bold", show_lines=True)
    for col in ("record", "study", "missing"):
        table.add_column(col)
    for s in studies:
        lines = []
        for g in s.gaps:
            line = Text(printable(g.describe())) if g.certain else \
                Text(f"maybe: {printable(g.describe())}", style="dim")
            if suggested.get((s.record_id, g)):
                line.append("\n  likely: " + ", ".join(f"{entered(x.value)} (p. {x.page})"
                                                       for x in suggested[(s.record_id, g)]), style="cyan")
            lines.append(line)
        cell = Text("\n").join(lines or [Text("nothing")])
        if s.unreadable:
            cell = Text(f"full text unreadable ({printable(s.unreadable)})\n", style="red") + cell
        table.add_row(str(s.record_id), Text(printable(s.study)), cell)
    console.print(table)
    info(f"{total} values missing in {sum(any(g.certain for g in s.gaps) for s in studies)} of {len(studies)} "
         "studies (\"maybe\": an outcome the paper may not measure); enter one "
         "with: metasift enter RECORD FIELD VALUE --arm ARM --page P [--measure M --timepoint T]")


def _suggestions(studies: list[StudyGaps], paths: dict[int, str], outcomes: Sequence[OutcomeSpec]
                 ) -> dict[tuple[int, Gap], list[Suggestion]]:
    """Per (record, gap), the likeliest printed values, each readable study's PDF read once (with progress)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from metasift.extractor.by_hand import suggestions
    from metasift.extractor.pdf import PdfError, read_pdf
    from metasift.extractor.pipeline import page_texts
    from metasift.extractor.suggest import page_candidates

    out: dict[tuple[int, Gap], list[Suggestion]] = {}
    readable = [s for s in studies if not s.unreadable and any(g.certain for g in s.gaps) and paths.get(s.fulltext_id)]
    with Progress(TextColumn("reading PDFs for suggestions"), BarColumn(), MofNCompleteColumn(),
                  console=err_console, transient=True) as progress:
        task = progress.add_task("", total=len(readable))
        for study in readable:
            try:
                candidates = page_candidates(page_texts(read_pdf(paths[study.fulltext_id])))
            except PdfError as exc:
                warn(f"record {study.record_id}: {exc}")
            else:
                out |= {(study.record_id, gap): got for gap, got in suggestions(study, outcomes, candidates).items()}
            progress.advance(task)
    return out


def enter(
    record: int = typer.Argument(None, help="The record the value belongs to."),
    field: str = typer.Argument(None, help="n_total, n_randomised, n_analysed, n_dropout, baseline_mean, "
                                           "baseline_sd, baseline_n, outcome_mean, outcome_sd or outcome_n."),
    value: str = typer.Argument(None, help="The number as the paper prints it."),
    page: int = typer.Option(None, "--page", help="The PDF page (1-based) that prints the value."),
    arm: str = typer.Option(None, "--arm", help="The arm, as the study's other values name it."),
    measure: str = typer.Option(None, "--measure", help="For baseline_* and outcome_*: the scale (\"PHQ-9\")."),
    timepoint: str = typer.Option(None, "--timepoint", help="For outcome_*: when (\"post\", \"12 weeks\")."),
    quote: str = typer.Option(None, "--quote", help="The words around the value on the page (default: the "
                                                    "page's line that prints it)."),
    line: int = typer.Option(None, "--line", metavar="K", help="The page prints the value on several lines (the "
                                                               "error lists them): the K-th."),
    how: str = typer.Option(None, "--how", help="For a value the page's text does not print: where it is or how "
                                                "it was computed (\"Figure 1, an image: Analysed n = 45\", "
                                                "\"randomised 50 - analysed 45\")."),
    not_reported: str = typer.Option(None, "--not-reported", metavar="WHY", help="The paper reports no such "
                                     "value (no VALUE): say why, and the gap is closed."),
    new_arm: bool = typer.Option(False, "--new-arm", help="The arm is not among the study's arms yet: add it."),
    row: str = typer.Option(None, "--row", metavar="WORDS", help="Instead of VALUE: every arm's value from one row of "
                            "--page, the first line holding these words (a count, or a mean and SD for "
                            "baseline_*/outcome_*), the arms in the study's order."),
    places: str = typer.Option(None, "--places", help="With --row: which of the row's numbers are each arm's, in "
                               "the study's order of arms (\"1 2 4 5\"; default: one pair or count per arm)."),
    undo: int = typer.Option(None, "--undo", metavar="ID", help="Withdraw the value entered as ID (the values "
                                                                "it replaced come back)."),
    from_file: Path = typer.Option(None, "--from", metavar="CSV", help="Enter every row of a CSV whose header names "
                                   "record, field and any of value, arm, measure, timepoint, page, quote, line, how, "
                                   "not_reported, new_arm (yes to add an arm), row and places (every arm's value "
                                   "from one printed row, as --row and --places): all rows or none (FILE:LINE "
                                   "names the first that does not check out)."),
    reviewer: str = typer.Option(..., "--reviewer", envvar="METASIFT_REVIEWER", help="Your name (recorded)."),
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Enter a value the extractor missed or got wrong, from the attached PDF, with its page and quote.

    The page must print the number: the quote stored is the page's line that prints it (or --quote, if it
    is on the page). A value the page's text does not print (in a figure without a text layer, or
    computed) needs --how; a value the paper does not report at all, --not-reported WHY. The value is stored
    as verified, with who and when; any other value held for the same arm, field, measure and time point is
    rejected as replaced. Nothing is stored when the entry does not check out (exit 8). `metasift gaps` lists
    what is missing; --undo ID takes an entry back; --from CSV enters a sheet of values, all or none; --row
    WORDS enters every arm's value from one row of --page (--places says which of its numbers are whose).
    """
    from metasift.extractor.by_hand import enter_file, enter_row, enter_value
    from metasift.extractor.gaps import parse_places
    from metasift.store import Store

    if undo is None and from_file is None and (None in (record, field) or (value is None and not_reported is None
                                                                          and row is None)):
        raise typer.BadParameter("give RECORD FIELD VALUE, RECORD FIELD --row WORDS --page P, RECORD FIELD "
                                 "--not-reported WHY, --from CSV or --undo ID")
    store = Store.open(project_dir(project))
    try:
        if row is not None:
            if value is not None or page is None:
                raise typer.BadParameter("--row takes every arm's value from a line of --page: give no VALUE")
            batch = enter_row(store, record_id=record, field_name=field, page=page, words=row, actor=reviewer,
                              places=parse_places(places), measure=measure, timepoint=timepoint)
            if json_out:
                emit_json({"entered": [e.to_json() for e in batch]})
            else:
                info(f"entered {len(batch)} values from page {page}'s line {batch[0].entry.quote[:60]!r}: "
                     + " · ".join(f"{e.entry.arm} {e.entry.field} {e.entry.value:g}" for e in batch))
            return
        if from_file is not None:
            if record is not None or undo is not None:
                raise typer.BadParameter("--from CSV enters the file's rows: give no RECORD FIELD VALUE or --undo")
            batch = enter_file(store, from_file, actor=reviewer)
            if json_out:
                emit_json({"entered": [e.to_json() for e in batch]})
            else:
                info(f"entered {len(batch)} values from {shown(from_file)}"
                     + (f"; replaced {sum(len(e.replaced) for e in batch)}" if any(e.replaced for e in batch) else ""))
            return
        if undo is not None:
            restored = store.withdraw_extraction(undo, actor=reviewer)
            if json_out:
                emit_json({"withdrawn": undo, "restored": restored})
            else:
                info(f"withdrew value {undo}" + (f"; restored {len(restored)} value(s) it had replaced"
                                                 if restored else ""))
            return
        entered = enter_value(store, record_id=record, field_name=field, value=value, actor=reviewer, page=page,
                              arm=arm, measure=measure, timepoint=timepoint, quote=quote, how=how, new_arm=new_arm,
                              not_reported=not_reported, line=line)
    finally:
        store.close()
    if json_out:
        emit_json(entered.to_json())
        return
    info(f"entered {shown(entered.describe())} as id {entered.id}"
         + (f"; replaced {len(entered.replaced)} value(s)" if entered.replaced else ""))


VERDICT_SHOWN = {"exclude": "exclude", "flag": "would exclude (draft protocol): a human decides",
                 "unsure": "needs a human", "pass": "pass"}


def eligibility(
    project: Path = ProjectOption,
    json_out: bool = JsonOption,
) -> None:
    """Apply the full-text rules of review.toml (n per arm, differential attrition, baseline balance,
    items per measure) to each study's extracted values, showing the numbers behind every verdict.

    Baseline balance and item counts read only the measures of the protocol's [[outcomes]]. A rule that
    cannot be evaluated (e.g. the baseline of the outcome was not found) excludes nothing: the study
    "needs a human". A reviewer overrides a verdict by deciding the record at full text
    (`metasift review --stage full_text`).
    """
    from metasift.config import load_protocol
    from metasift.extractor.eligibility_stage import apply_fulltext_rules

    root = project_dir(project)
    from metasift.store import Store

    store = Store.open(root)
    results = apply_fulltext_rules(store, load_protocol(root))
    titles = {r.id: r.title for r in store.records_table()}
    store.close()
    if json_out:
        emit_json({"studies": [r.model_dump() for r in results]})
        return
    table = Table(title="Full-text rules", header_style="bold", show_lines=True)
    for col in ("record", "verdict", "criteria"):
        table.add_column(col)
    for r in results:
        lines = "\n".join(f"{c['id']}: {c['verdict']} — {c['reason']}" for c in r.criteria)
        table.add_row(f"{r.record_id} {str(titles.get(r.record_id))[:40]}", VERDICT_SHOWN[r.label], lines)
    console.print(table)
    counts = {label: sum(r.label == label for r in results) for label in VERDICT_SHOWN}
    info(f"{counts['pass']} pass, {counts['exclude']} excluded, {counts['unsure'] + counts['flag']} need a human "
         "(metasift review --stage full_text)")
