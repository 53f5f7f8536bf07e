"""The trial's design as the paper states it: parallel, crossover, cluster or factorial; arms; allocation ratio.

Read from sentences that also speak of randomisation or the design, so a crossover mentioned in the
discussion of other trials does not count: "a randomised, double-blind, crossover trial", "schools were
cluster-randomised", "randomly assigned (2:1)", "16 schools were randomised", "a 2 × 2 factorial design".
Pure: pages in, a ``Design`` and warnings out. The warnings say where the two-arm effect-size hand-off
(mean, SD and n per arm, one intervention against one control) does not apply as it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from metasift.extractor._text import sentences
from metasift.extractor.schema import Design

_RANDOM = re.compile(r"randomi[sz]|randomly|allocat|assigned|\btrial\b|\bdesign\b", re.IGNORECASE)
# The trial's own design, not "therapeutic crossover" or "crossed over to ablation".
_CROSSOVER = re.compile(r"\bcross-?\s?over\s+(?:trial|design|study|rct|fashion|manner)|"
                        r"\b(?:randomi[sz]ed|double-blind(?:ed)?|blinded|placebo-controlled|two-period|"
                        r"two-way),?\s+(?:[\w-]+,?\s+){0,3}?cross-?\s?over\b", re.IGNORECASE)
_REFERENCES = re.compile(r"^\s*(?:references|bibliography|literature cited)\s*$", re.IGNORECASE | re.MULTILINE)
_CLUSTER = re.compile(r"\bcluster[- ]?(?:randomi[sz]ed|randomi[sz]ation|allocat|trial|rct)|"
                      r"(?:schools|practices|villages|clinics|wards|classes|communities|clusters)\s+(?:\w+\s+){0,3}?"
                      r"(?:were\s+)?(?:randomly\s+)?(?:randomi[sz]ed|allocated|assigned)", re.IGNORECASE)
_CLUSTERS = re.compile(r"\b(\d{1,4})\s+(?:\w+\s+){0,2}?(schools|practices|villages|clinics|wards|classes|communities|"
                       r"clusters|sites)\b(?:\s+\w+){0,4}?\s+(?:were\s+)?(?:randomly\s+)?(?:randomi[sz]ed|allocated|"
                       r"assigned)", re.IGNORECASE)
_FACTORIAL = re.compile(r"\b\d\s*[x×]\s*\d\s+factorial|\bfactorial\s+(?:design|trial)", re.IGNORECASE)
_RATIO = re.compile(r"(?<![\d.:])([1-9])\s*:\s*([1-9])(?:\s*:\s*([1-9]))?(?![\d.:])")
_RATIO_CONTEXT = re.compile(r"randomi[sz]|allocat|assigned|ratio", re.IGNORECASE)


# "a post hoc analysis of the EMPA-REG OUTCOME trial", "secondary analysis of a randomised controlled trial",
# "a prespecified subanalysis of ...": the paper reports on a trial another paper reported first.
_SECONDARY = re.compile(r"\b(?:(?:secondary|post[- ]?hoc|subgroup|exploratory|ancillary|pooled|pre-?specified|"
                        r"additional)\s+(?:analys[ie]s|sub-?stud(?:y|ies))|sub-?analys[ie]s|sub-?stud(?:y|ies))\s+"
                        r"(?:of|from|in|using)\s+(?:the\s+|a\s+|an\s+|data\s+from\s+(?:the\s+|a\s+)?)?"
                        r"(?:(?:[\w-]+[,:]?\s+){0,8}?(?:trials?|rcts?|studies|study)\b|"
                        r"(?-i:[A-Z][A-Z0-9]+(?:-[A-Z0-9]+)+\b|[A-Z]{4,}\s+(?:data|participants|patients)\b))",
                        re.IGNORECASE)
# the second branch: a trial named by its acronym alone ("a post hoc analysis of EMPA-REG OUTCOME", "of PATHWAY-2",
# "of SPRINT data"); a bare "ITT" or "BMI" is no trial


def secondary_analysis(pages: Sequence[tuple[int, str]]) -> tuple[int, str] | None:
    """Where the title or abstract (the first page) says the paper is a secondary analysis of a trial: (page,
    sentence), else None. Later pages are not read: a trial's own methods plan "secondary analyses of" outcomes."""
    for number, text in pages[:1]:
        for s in sentences(text):
            if _SECONDARY.search(s):
                return number, s[:240]
    return None


# "A placebo-controlled crossover study demonstrated the effect of ...": a finding of another study, cited
_FINDING = re.compile(r"\b(?:trial|study|design|rct)s?\s+(?:\w+\s+){0,3}?(?:demonstrated|showed|found|reported|"
                      r"revealed|suggested|indicated|confirmed)\b", re.IGNORECASE)
_OWN = re.compile(r"\b(?:we|our)\b", re.IGNORECASE)
_THIS = re.compile(r"\b(?:this|the\s+present|the\s+current)\s+(?:[\w,-]+\s+){0,4}$", re.IGNORECASE)


# "In a randomised double-blind crossover clinical trial, patients treated with amantadine had ...": some trial
_IN_A_TRIAL = re.compile(r"^\s*in\s+an?\s+(?:[\w,-]+\s+){0,6}?(?:trial|study|rct)s?\b", re.IGNORECASE)


def _of_another_study(sentence: str) -> bool:
    """Whether a sentence tells what another study found (its design is not this trial's)."""
    if _IN_A_TRIAL.search(sentence) and not _OWN.search(sentence):
        return True
    m = _FINDING.search(sentence)
    return bool(m) and not _OWN.search(sentence) and not _THIS.search(sentence[:m.start()])


def detect_design(pages: Sequence[tuple[int, str]], n_arms: int, secondary: tuple[int, str] | None = None
                  ) -> tuple[Design, list[str]]:
    """The design stated in ``(page number, text)`` pages, for a paper whose extraction found ``n_arms``
    arms, and warnings where the two-arm hand-off does not apply. ``secondary``: where the paper says it is a
    secondary analysis (``secondary_analysis``, which the caller has already read to choose the arms)."""
    design = Design(kind="parallel", n_arms=n_arms)
    for k, (number, text) in enumerate(pages):
        heading = _REFERENCES.search(text) if k >= len(pages) // 3 else None
        for s in sentences(text[:heading.start()] if heading else text):
            if not _RANDOM.search(s):
                continue
            if _of_another_study(s):
                continue
            if design.kind == "parallel" and _CROSSOVER.search(s):
                design = design.model_copy(update={"kind": "crossover", "page": number, "quote": s[:240]})
            elif design.kind in ("parallel", "factorial") and _CLUSTER.search(s):
                design = design.model_copy(update={"kind": "cluster", "page": number, "quote": s[:240]})
            elif design.kind == "parallel" and _FACTORIAL.search(s):
                design = design.model_copy(update={"kind": "factorial", "page": number, "quote": s[:240]})
            if design.allocation is None and _RATIO_CONTEXT.search(s) and (m := _RATIO.search(s)):
                design = design.model_copy(update={"allocation": ":".join(g for g in m.groups() if g)})
            if design.clusters is None and (m := _CLUSTERS.search(s)):
                design = design.model_copy(update={"clusters": int(m.group(1))})
        if heading:  # the cited papers' designs are not this trial's
            break
    if secondary is not None:
        design = design.model_copy(update={"secondary": f"page {secondary[0]}: {secondary[1]}"})
    return design, _warnings(design)


def _warnings(design: Design) -> list[str]:
    where = f" (page {design.page}: \"{design.quote[:100]}\")" if design.page else ""
    out = []
    if design.kind == "crossover":
        out.append(f"crossover design{where}: the arms are sequence groups, not treatments; a between-arm effect "
                   "size does not apply as it is (use the first period, or within-person differences, by hand)")
    elif design.kind == "cluster":
        clusters = f"{design.clusters} clusters" if design.clusters else "clusters"
        out.append(f"cluster-randomised design ({clusters}){where}: the arms' n count individuals; effect sizes "
                   "need the design effect (ICC and cluster size) before pooling")
    elif design.kind == "factorial":
        out.append(f"factorial design{where}: each arm combines two interventions; choose the comparison by hand")
    if design.secondary:
        out.append(f"secondary analysis ({design.secondary[:120]}): its tables may compare subgroups, not the "
                   "randomised arms; only values under the randomised arms' names are taken as the arms'")
    if design.n_arms >= 3:
        out.append(f"{design.n_arms} arms: the two-arm hand-off pairs one intervention with the control; choose "
                   "the comparison (or split the shared control group) by hand")
    if design.allocation and len(set(design.allocation.split(":"))) > 1:
        out.append(f"unequal allocation {design.allocation}: arms' n are expected to differ")
    return out
