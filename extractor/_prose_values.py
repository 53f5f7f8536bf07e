"""Baseline means and SDs stated in a sentence, one per arm, when no table prints them: "The mean and standard
deviation of the state anxiety scores of children in experimental and control groups before intervention were
35.52±6.99 and 34.98±6.78, after intervention 31.44±5.87 and 38.31±7.44 respectively."

Read only where the sentence names the baseline ("before intervention", "at baseline", "pre-test") before its
values, names as many of the paper's arms as it gives values (the arms in the order the sentence names them, or
each after its value: "109.09 ± 59.46 ml in the treatment arm and 104.7 ± 62.66 ml in the control arm"),
and prints each value with its SD ("35.52±6.99", "35.52 (6.99)"). The values stop at the first later time point
("after", "post", "follow-up", "at week 8"). The measure is what the sentence says before the baseline cue, so
an outcome is matched against its words. A reader confirms every such value: which number belongs to which arm
rests on the sentence's word order (``doubt``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from metasift.extractor._text import ALIASES, is_table_text, name_key, same_arm, sentences

_CUE = re.compile(r"\b(?:at\s+baseline|baseline|before\s+(?:the\s+)?(?:intervention|treatment|training|study|"
                  r"program(?:me)?|therapy)|pre-?(?:test|intervention|treatment)|at\s+(?:study\s+)?entry|"
                  r"at\s+the\s+(?:beginning|start)\s+of\s+the\s+(?:study|trial|intervention)|at\s+T0|"
                  r"at\s+(?:the\s+time\s+of\s+)?(?:randomi[sz]ation|enrol+ment))\b", re.IGNORECASE)
_LATER = re.compile(r"\b(?:after|post|follow-?up|at\s+(?:week|month|day)|end\s+of)\b", re.IGNORECASE)
# "35.52±6.99", "35.5 (6.9)", "35.5 (SD = 6.9)"; not a count's percentage "12 (40%)"
_VALUE = re.compile(r"(?<![\d.])(-?\d+(?:\.\d+)?)\s*(?:±|\+/-|\(\s*(?:SD\s*[=:]?\s*)?)\s*"
                    r"(\d+(?:\.\d+)?)(?!\s*%|\d|\.\d)\s*\)?", re.IGNORECASE)  # (a full stop may end the sentence)
# "in the experimental group": where a measure's name ends before the arm a sentence names
_ARM_PHRASE = re.compile(r"\s+(?:in|for|of)\s+(?:the\s+)?(?:[\w-]+\s+){0,3}?(?:group|arm)\b", re.IGNORECASE)
# A change from a value to a value: "from 1.42 ± 0.48 to 1.31 ± 0.45 cm", "from 15.2 (4.1) to 9.3 (3.2)"
_FROM_TO = re.compile(rf"\bfrom\s+{_VALUE.pattern}\s*(?:[a-zA-Z/%]+\s+)?to\s+{_VALUE.pattern}", re.IGNORECASE)
DOUBT = "read from a sentence: confirm which value belongs to which arm and that it is this measure's baseline"


@dataclass(frozen=True)
class ProseBaseline:
    arm: str  # one of the arm names it was given
    measure: str  # what the sentence says before its baseline cue
    mean: float
    sd: float
    page: int
    quote: str  # the sentence


def _named_arms(text: str, arms: list[str]) -> list[str]:
    """The arms ``text`` names, in the order it names them: an arm's own words, or one kind word ("control",
    "experimental") that fits that arm alone."""
    low = text.lower()
    found: dict[str, int] = {}
    for arm in arms:
        # ("Treatment arm", all filler words for name_key: the name without its "arm" / "group")
        bare = re.sub(r"\s+(?:arm|group)s?$", "", arm.lower().strip())
        words = [name_key(arm)] if name_key(arm) else [bare] if bare else []
        kin = [w for group in ALIASES.values() if any(g in name_key(arm).split() for g in group) for w in group]
        others = [a for a in arms if a != arm]
        for w in words + [k for k in kin if not any(k in name_key(o).split() for o in others)]:
            m = re.search(rf"\b{re.escape(w)}\b", low)
            if m and (arm not in found or m.start() < found[arm]):
                found[arm] = m.start()
    return sorted(found, key=found.__getitem__)


def _one_arm_each(segments: list[str], arms: list[str]) -> list[str] | None:
    """The arm each piece of a sentence names, when each names exactly one and no two the same; else None."""
    named = [_named_arms(seg, arms) for seg in segments]
    ok = all(len(a) == 1 for a in named) and len({a[0] for a in named}) == len(named)
    return [a[0] for a in named] if ok else None


def baseline_sentences(pages: list, arms: list[str]) -> list[ProseBaseline]:  # pages: list[extractor.pdf.Page]
    """Every sentence that states each named arm's baseline mean and SD (see the module's docstring)."""
    out: list[ProseBaseline] = []
    if len(arms) < 2 or any(same_arm(a, b) for i, a in enumerate(arms) for b in arms[i + 1:]):
        return out
    for page in pages:
        for s in sentences(page.text):
            cue = _CUE.search(s)
            if is_table_text(s):
                continue
            if cue is None:
                out += _changes(s, arms, page.number)
                continue
            found: list[re.Match[str]] = []
            for m in _VALUE.finditer(s, cue.end()):
                if _LATER.search(s, found[-1].end() if found else cue.end(), m.start()):
                    break  # "..., after intervention 31.44±5.87 and ...": the baseline values have ended
                found.append(m)
            named = _named_arms(s[:found[0].start()], arms) if found else []
            measure = s[:cue.start()].strip(" ,;:")
            if found and not named:
                # "Mean baseline volume of pneumocephalus was 109.09 ± 59.46 ml in patients in the treatment arm and
                # 104.7 ± 62.66 ml in patients in the control arm": each value's arm is named after it
                ends = [m.start() for m in found[1:]] + [len(s)]
                after = _one_arm_each([s[m.end():end] for m, end in zip(found, ends, strict=True)], arms)
                if after:
                    named = after
                    measure = re.sub(r"\s+(?:was|were|is|are)$", "", s[:found[0].start()].strip(" ,;:"))
            if found and len(named) != len(found):
                # "At T0, mean FPS scores in the experimental group were 41.1 ± 12.8 and in control group were 37.8 ±
                # 13.4": each value's arm is named between it and the value before
                segments = [s[(found[k - 1].end() if k else cue.end()):m.start()] for k, m in enumerate(found)]
                before = _one_arm_each(segments, arms)
                if before:
                    named = before
                    measure = measure or re.sub(r"^mean\s+", "", _ARM_PHRASE.split(segments[0])[0].strip(" ,;:"),
                                                flags=re.IGNORECASE)
            values = [(float(m.group(1)), float(m.group(2))) for m in found]
            if not 2 <= len(values) == len(named) or any(sd <= 0 for _, sd in values):
                continue
            out += [ProseBaseline(arm, measure, mean, sd, page.number, s)
                    for arm, (mean, sd) in zip(named, values, strict=True)]
    return out


def _changes(s: str, arms: list[str], page: int) -> list[ProseBaseline]:
    """Each arm's value a change starts from, as its baseline, in a sentence with no baseline cue: "Right rectus
    femoris (EMS group: from 1.42 ± 0.48 to 1.31 ± 0.45 cm, P = 0.001; control group: from 1.59 ± 0.53 to ...)",
    "... decreased from 15.2 (4.1) to 9.3 (3.2) in the intervention group and from 14.8 (4.5) to ... in the control
    group". Each change's arm is named between it and the change before, or else after it."""
    found = list(_FROM_TO.finditer(s))
    if len(found) > len(arms) and len(found) % len(arms) == 0:  # "Right rectus femoris (...) and right vastus
        found = found[:len(arms)]  # intermedius CSD (...)": the first measure's changes
    if not 2 <= len(found) <= len(arms):
        return []
    before = [s[(found[k - 1].end() if k else 0):m.start()] for k, m in enumerate(found)]
    ends = [m.start() for m in found[1:]] + [len(s)]
    named = _one_arm_each(before, arms) or _one_arm_each([s[m.end():e] for m, e in zip(found, ends, strict=True)], arms)
    values = [(float(m.group(1)), float(m.group(2))) for m in found]
    if named is None or any(sd <= 0 for _, sd in values):
        return []
    measure = re.split(r"[(:;,]|\s+(?:in|for|of|was|were|decreased|increased|improved|changed|fell|rose)\s",
                       s[:found[0].start()])[0].strip()
    return [ProseBaseline(arm, measure, mean, sd, page, s) for arm, (mean, sd) in zip(named, values, strict=True)]
