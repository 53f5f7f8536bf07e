"""``metasift report``: one self-contained HTML page (or Markdown) built from the store.

Everything is recomputed from the store on each run (PRISMA counts, agreement, effect sizes, models,
plots), so the report cannot disagree with the data. The numbers also go to ``report.json`` beside it.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from metasift.config import Protocol
from metasift.kinds import Stage
from metasift.records import study_label
from metasift.report.agreement_section import agreement_rows
from metasift.report.analysis_section import (
    analysis_plots,
    bias_tests,
    grouped_forest_plot,
    leave_one_study_out_primary,
    leave_one_study_out_rows,
    pooled_models,
)
from metasift.report.data import evidence_rows, screening_paths, versions
from metasift.report.moderators_section import moderator_section, rob_subgroups, subgroup_forests
from metasift.report.prisma import draw_prisma, prisma_counts
from metasift.report.rob import summary_plot, traffic_light_plot
from metasift.store import Store
from metasift.store import review_queue as rq


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def gather(store: Store, protocol: Protocol, out_dir: Path) -> dict[str, Any]:
    """Compute every section; write the images into ``out_dir``."""
    from metasift.eval.exclusion_audit import exclusion_audit, summary_line
    from metasift.extractor.effects import collect_effects

    humans = protocol.screening.humans_per_record
    counts = prisma_counts(store, humans_needed=humans)
    draw_prisma(counts, out_dir / "prisma.png")
    draw_prisma(counts, out_dir / "prisma.svg")
    ta = store.final_labels(Stage.TITLE_ABSTRACT, humans_needed=humans)
    ft = store.final_labels(Stage.FULL_TEXT, humans_needed=humans)
    studies, evidence = evidence_rows(store, {rid: ft.get(rid, lab) for rid, lab in ta.items()})
    found = collect_effects(store, protocol.outcomes, humans_needed=humans)
    effects, left_out = found.rows, [x.model_dump() for x in [*found.left_out, *found.skipped]]
    audit = exclusion_audit(store, rq.Counting.of(protocol))
    effects_dicts = [e.model_dump() for e in effects]
    models, bias, plots, loso = [], {}, {}, None
    moderators = moderator_section(store, protocol, effects) if len(effects) >= 2 else None
    if len(effects) >= 2:
        models = pooled_models(effects_dicts, protocol.analysis)
        fit = models[0].pop("fit")
        bias = bias_tests(fit, effects_dicts, protocol.analysis)
        loso = leave_one_study_out_primary(effects_dicts, protocol.analysis)
        if loso is not None:
            for m in models:
                if m["role"] == "primary" and m.get("methods"):
                    m["methods"] += (" Sensitivity to single studies: the primary model was refitted without each "
                                     "study in turn, all of its effect sizes together (leave-one-study-out).")
        plots = analysis_plots(fit, out_dir, loso, favours=protocol.analysis.favours)
        by_study = grouped_forest_plot(effects_dicts, models, out_dir, protocol.analysis)
        if by_study is not None:  # dependent effect sizes: every one of them, and the primary model's diamond
            per_study = {"Forest plot": "Forest plot: one aggregated effect per study",
                         "Funnel plot": "Funnel plot: one aggregated effect per study"}
            plots = {"Forest plot: every effect size by study, primary model": by_study,
                     **{per_study.get(k, k): v for k, v in plots.items()}}
        if moderators is not None:
            plots.update(subgroup_forests(store, protocol, effects, out_dir))
    rob = store.rob()
    labels = {r.id: study_label(r) for r in store.records_table()}
    rob_images = []
    by_rob = rob_subgroups(rob, effects, protocol) if rob and len(effects) >= 2 else None
    if rob:
        rob_images = [traffic_light_plot(rob, labels, out_dir / "rob_traffic_light.png"),
                      summary_plot(rob, out_dir / "rob_summary.png")]
    return {"title": protocol.review.title, "question": protocol.review.question,
            "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "project": str(store.project), "prisma": counts.model_dump(),
            "protocol_draft": protocol.review.draft,
            "screening": {"paths": screening_paths(store), "calibration": _latest_calibration(store),
                          "exclusion_audit": summary_line(audit), "exclusion_audit_figures": audit.model_dump(
                              exclude={"exclusions"}), "stopping": _stopping(store, protocol)},
            "agreement": agreement_rows(store, protocol), "studies": studies, "evidence": evidence, "effects": effects_dicts,
            "effects_left_out": left_out, "models": [{k: v for k, v in m.items()} for m in models],
            "moderators": moderators.to_dict() if moderators is not None else None,
            "leave_one_study_out": leave_one_study_out_rows(loso) if loso is not None else None,
            "bias": bias, "rob_subgroups": by_rob, "versions": versions(store),
            "_images": {"prisma": out_dir / "prisma.png", "analysis": plots, "rob": rob_images}}


def _stopping(store: Store, protocol: Protocol) -> dict[str, Any] | None:
    """The methods text on stopping: the buscar test on the humans' title/abstract decisions in the order
    they were made, at ``[screening] stop_target_recall`` (shared with the automation: ``stopping.project_shared_target``)
    and ``stop_confidence``; None before any."""
    from metasift.screener.stopping import methods_summary, project_stopping

    found = project_stopping(store, protocol)
    return None if found is None else methods_summary(found[0], **found[1], shared=found[2])


def _latest_calibration(store: Store) -> dict[str, Any] | None:
    from sqlalchemy import select

    from metasift.store import schema as t

    with store.read() as conn:
        row = conn.execute(select(t.events.c.payload).where(t.events.c.action == "calibrate")
                           .order_by(t.events.c.id.desc()).limit(1)).first()
    return row.payload if row else None


def write_report(store: Store, protocol: Protocol, out_dir: Path, fmt: str = "html") -> Path:
    """Write report.html (self-contained) or report.md (+ PNGs), and report.json; return the report path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with store.frozen():  # the report only reads: let its sections share one read of the decisions
        data = gather(store, protocol, out_dir)
    images = data.pop("_images")
    (out_dir / "report.json").write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    env = Environment(loader=PackageLoader("metasift.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    if fmt == "md":
        rel = {"prisma": images["prisma"].name, "analysis": {k: Path(v).name for k, v in images["analysis"].items()},
               "rob": [Path(p).name for p in images["rob"]]}
        text = env.get_template("report.md.j2").render(**data, images=rel)
        path = out_dir / "report.md"
    else:
        uris = {"prisma": _data_uri(images["prisma"]),
                "analysis": {k: _data_uri(v) for k, v in images["analysis"].items()},
                "rob": [_data_uri(p) for p in images["rob"]]}
        text = env.get_template("report.html.j2").render(**data, images=uris)
        path = out_dir / "report.html"
    path.write_text(text, encoding="utf-8")
    return path
