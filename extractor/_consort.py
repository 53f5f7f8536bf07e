"""Participant flow: total N randomised, and per arm the numbers randomised, lost and analysed.

Prose is read sentence by sentence on the reading-order text ("105 were randomly assigned (52 to
empagliflozin and 53 to placebo)", "dabigatran (N = 99) or warfarin (N = 101)", "Six patients in
the empagliflozin group and three in the placebo group withdrew", "(46 in the empagliflozin group
and 50 in the placebo group)" in a sentence about the analysis). A CONSORT diagram is read column by
column from word positions, so boxes of two arms printed side by side (at slightly different
heights) are not mixed up; boxes that name both arms alike are told apart by position only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from metasift.extractor._header import caption_at
from metasift.extractor._text import COUNT, NUMBER_WORD, NUMBERS, count_value, is_table_text, norm, sentences
from metasift.extractor.layout import join_words, same_size

# Who a trial counts, as papers name them: the usual words and the ages and roles of people trials enrol. Not
# clinicians ("Eighteen physicians were assigned to the EG": in a trial of their patients they are its clusters).
PEOPLE = (r"(?:participants|(?:out|in)?patients|subjects|people|persons|individuals|students|pupils|adults|adolescents|"
          r"women|men|mothers|fathers|parents|employees|workers|caregivers|carers|children|boys|girls|youths?|"
          r"toddlers|newborns|neonates|respondents|users|volunteers|cases|dyads|families|infants|smokers|drinkers|"
          r"veterans|survivors|nurses|teachers|couples|households|residents|athletes|players|runners|musicians|"
          r"singers|dancers|soldiers|recruits|inmates|prisoners|elderly|seniors|learners|trainees|clients|donors|eyes)")
_RAND = r"(?:randomly\s+(?:assigned|allocated)|randomi[sz]ed)"
_WORDS = r"(?:[\w-]+\s+)"


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# "60 were assigned to the intervention group and 58 to the control group": 60 is an arm's, not the total.
_FIRST_ARM = r"(?!\s+to\s+(?:the\s+|an?\s+)?(?:[\w-]+\s+){0,3}?(?:group|arm|condition)\s*,?\s+and\s+(?:\d|[a-z]+\s+to\b))"
TOTAL_PATTERNS = [  # in order of trust: a sentence that says "total" first, a diagram box, then the rest
    # ("A total of 245 were screened, of which 116 were randomized": 245 were not randomised)
    _rx(rf"(?:a\s+total\s+of|in\s+total,?|overall,?|altogether,?)\s+{COUNT}\s+{_WORDS}{{0,4}}?{PEOPLE}\b"
        rf"(?:(?!\d|\bscreened\b|\bassessed\b|\bof\s+(?:whom|which|these|them)\b).){{0,160}}?\b(?:were|was)\s+"
        rf"(?:subsequently\s+|then\s+)?{_RAND}"),
    _rx(rf"\b{COUNT}\s+{_WORDS}{{0,4}}?{PEOPLE}\b(?:(?!\d).){{0,100}}?\b(?:were|was)\s+"
        rf"(?:subsequently\s+|then\s+|finally\s+)?{_RAND}{_FIRST_ARM}"),
    _rx(rf"(?:^|[,;:]\s+|\band\s+|\b(?:whom|which|these|them),?\s+){COUNT}\s+{_WORDS}{{0,5}}?(?:and\s+)?(?:were|was)\s+{_RAND}"
        rf"{_FIRST_ARM}"),
    _rx(rf"\bn\s*=\s*(\d{{2,5}})\)?\s+{_WORDS}{{0,4}}?(?:and\s+)?(?:were\s+)?{_RAND}"),
    _rx(r"\brandomi[sz]ed\s*\(\s*n\s*=\s*(\d{2,5})\s*\)"),
    # "Cancer survivors (N = 74) who completed cancer treatment ... were randomized to OLP or TAU": the sentence's
    # one "n =", and not of those screened ("Patients (n = 120) were screened; those eligible were randomized")
    _rx(rf"^(?:(?!\bn\s*=)[^;])*?{PEOPLE}\s*\(\s*n\s*=\s*(\d{{2,5}})\s*\)"
        rf"(?:(?!\bn\s*=|\bscreened\b|\bassessed\b|\bapproached\b|\beligible\b|\bof\s+(?:whom|which|these|them)\b)[^;])"
        rf"{{0,200}}?\b(?:were|was)\s+{_RAND}{_FIRST_ARM}"),
    _rx(rf"\b{COUNT}\s+{_WORDS}{{0,3}}?{PEOPLE}\s+underwent\s+(?:\d:\d\s+)?randomi[sz]ation"),
    _rx(rf"\brandomi[sz]ed\s+{_WORDS}{{0,3}}(?:trial|study)\s+(?:that\s+)?(?:involved|included|enrolled)\s+"
        rf"{COUNT}\s+{_WORDS}{{0,3}}?{PEOPLE}"),
    _rx(rf"\(?{COUNT}\s+{PEOPLE}\)?\s+(?:have\s+been|were|was)\s+(?:included|enrolled)\s+in\s+the\s+(?:trial|study)"),
    # "Of 144 randomised patients, 5 were excluded", "all 60 randomized participants"
    _rx(rf"(?:\bof\s+(?:the\s+|all\s+|these\s+)?|\ball\s+(?:the\s+)?){COUNT}\s+randomi[sz]ed\s+{PEOPLE}\b"),
    # "Of the 178 parents enrolled in the trial, ...", "The study included 56 of the 62 patients initially enrolled."
    _rx(rf"\bof\s+(?:the\s+|all\s+)?{COUNT}\s+{PEOPLE}\s+(?:(?:initially|originally)\s+)?(?:enrolled|randomi[sz]ed)"
        rf"(?:\s+in(?:to)?\s+the\s+(?:trial|study)\b|(?=\s*[.;,]))"),
    # "Thirty-five participants were assigned to the intervention or control groups", "... to one of two groups":
    # assigned among alternatives, so all of them
    _rx(rf"\b{COUNT}\s+{_WORDS}{{0,3}}?{PEOPLE}\b[^.;]{{0,40}}?\s+(?:were|was)\s+(?:randomly\s+)?(?:assigned|allocated|divided|"
        rf"selected\s+to\s+participate)\s+(?:in(?:to)?|to)\s+"
        rf"(?:(?:either\s+)?(?:the\s+|an?\s+)?(?:[\w-]+\s+){{1,4}}?or\s|one\s+of\s+(?:the\s+)?(?:two|three|four|[2-4])\s)"),
]
_NAME = r"([A-Za-z][\w\-+/]*(?:\s+[A-Za-z][\w\-+/]*){0,3}?)"
_GROUP = r"(?:\s+(?:group|arm|condition))?"
_THE = r"(?:the\s+)?"
# a figure or table cited after the last arm's name: "..., 63 to information leaflet (Figure 1)."
_CITED = r"(?:\s*\((?:see\s+)?(?:Fig(?:ure)?s?|Tables?|Supplementa\w*|Appendix)\b[^()]*\))?"
# "(standardized group n = 78, individualized group n = 72)": names with their n and no brackets of their own
_BARE_N = _rx(r"([A-Za-z][\w\-+/]*(?:\s+[A-Za-z][\w\-+/]*){0,3}?)\s+(?:group|arm)\s*[,:]?\s*n\s*=\s*(\d{1,5})\b")
# "The intervention group consisted of 50 subjects", "Group A included 688 subjects": one arm's n in its own clause
_CONSISTED = _rx(rf"\b(?:the\s+)?((?:[A-Za-z][\w\-+/]*\s+){{1,3}}?(?:group|arm)|(?:group|arm)\s+[A-D1-4])\s+"
                 rf"(?:consisted\s+of|included|comprised|was\s+composed\s+of|contained)\s+{COUNT}\s+{PEOPLE}\b")
# One arm's allocation in a clause of its own: "Thirty patients were allocated to the CBT group, and 30 patients
# were allocated to the waitlist group", "52 patients were included in the control group"
_ONE_ARM = _rx(rf"{COUNT}\s+{PEOPLE}\s+(?:were|was)\s+(?:randomly\s+)?(?:assigned|allocated|randomi[sz]ed|included|"
               rf"enrolled)\s+(?:in|to|into)\s+{_THE}{_NAME}\s+(?:group|arm|condition)\b")
# ... not "762 participants were randomly allocated to an intervention or control group" (both arms), not "888 subjects
# were included in the study from an initial group"
_NOT_ONE_ARM = _rx(r"\b(?:or|and|either|both|study|trial|from)\b|/")
# "with 100 patients in each group", "15 subjects were enrolled in each group", "with 20 randomized to each treatment
# group": every arm's n at once
_IN_EACH = _rx(rf"{COUNT}\s+(?:{PEOPLE}\s+)?(?:(?:were|being)\s+)?(?:(?:randomi[sz]ed|allocated|assigned|enrolled|"
               r"included)\s+)?(?:in|to|into)\s+each\s+(?:of\s+the\s+(?:two|three|four)\s+)?(?:treatment\s+|study\s+)?"
               r"(?:groups?|arms?)\b")
# "the primary endpoint was analyzed on the basis of 76 patients enrolled in each group": in a sentence about the
# analysis, every arm's analysed at once
_ANALYSED_EACH = _rx(rf"{COUNT}\s+(?:{PEOPLE}\s+)?(?:(?:were|being)\s+)?(?:[a-z]+\s+)?(?:in|per)\s+each\s+"
                     r"(?:of\s+the\s+(?:two|three|four)\s+)?(?:groups?|arms?)\b")
# "assigned to either the intervention or control group (both: n = 57)", "randomly allocated into 3 groups (n = 32
# per group)"
_PER_ARM = r"\s+(?:per|in\s+each|for\s+each|each)\s+(?:group|arm)"
_BOTH_N = _rx(rf"\(\s*(?:(?:both|each|each\s+group)\s*[:,]?\s*|(?=n\s*=\s*\d{{1,5}}{_PER_ARM}))n\s*=\s*(\d{{1,5}})"
              rf"(?:{_PER_ARM})?\s*\)")
# the two arms an allocation names without their n: "to either the intervention or control group", "into a study
# group and a control group"
# (an abbreviation after a name is dropped: "to either LPA or a FM education control (FME) group"; "in two equal
# case and control groups")
_ABBR = r"(?:\s*\([A-Z][\w-]*\))?"
_TWO_NAMES = _rx(rf"\b(?:(?:in)?to|in\s+two(?:\s+equal)?)\s+(?:either\s+)?(?:an?\s+|the\s+)?{_NAME}{_GROUP}{_ABBR}\s+"
                 rf"(?:or|and)\s+(?:an?\s+|the\s+)?{_NAME}{_ABBR}\s+(?:groups?|arms?|conditions?)\b")
# a sentence about what a trial planned or needed, or about its randomisation blocks, not what it did
_PLANNED = _rx(r"\b(?:plann?e?d?|target(?:ed)?|requir\w+|needed|power\w*|sample\s+size|would|will|aimed?|"
               r"blocks?)\b")
_FOLLOWED = _rx(r"follow[- ]?up|complet|remain|retain|assess")
# "(n=54, usual care and Sugarsquare)", "(IPT: n=620; CBT: n=610)", "(cinnarizine n=20; topiramate n=20)", "(Control
# Group n = 137, Yoga Group n = 146)": the bracket's tail is left for the next name
# ("a sham moxibustion group (control group) (n = 40)": another name for the arm may stand before its n)
_PAREN_N = re.compile(r"(?:[(;,]\s*([A-Za-z][\w\-+/]*(?:\s+[\w\-+/]+){0,2})(?:\s*[,;:]\s*|\s+(?=[nN]\s*=))|"
                      r"([A-Za-z][\w\-+/]*(?:\s+(?:&\s+)?[A-Za-z][\w\-+/]*){0,3}?(?:\s*\((?![nN]\s*=)[A-Za-z][^()]{0,40}\))?)\s*\(\s*)"
                      r"[nN]\s*=\s*(\d{1,5})(?=\s*(?P<tail>(?:[,;][^()]{0,60})?)\))")
# an allocation of clusters: its counts are villages or practices, not people ("These villages were ... cluster
# randomized to cognitive processing therapy (CPT; n = 7) or ...")
_CLUSTERS = _rx(r"\bcluster[- ]?randomi[sz]\w*|\b(?:villages|schools|practices|clinics|hospitals|wards|communities|"
                r"classes|classrooms|sites|centres|centers|teams|households|clusters)\s+(?:were|was)\b")
# a bracket that reports a result with its n ("(n=158; mean 22.81, SD 4.58)"): no allocation
_RESULT_IN = _rx(r"\b(?:mean|median|SD|SE|M\s*=|P\s*[<=>])")
# "(52 to empagliflozin and 53 to placebo)", "We randomized 46 participants into the LPA intervention and 38 into
# the FME group", "11 were assigned to the BT group, and 11 were assigned to the BE group", "33 were randomly
# allocated to the treatment group and 29 were randomly allocated to the control group"
_TO_PAIR = _rx(rf"{COUNT}\s+(?:{PEOPLE}\s+)?(?:were\s+)?(?:randomly\s+)?(?:assigned\s+|allocated\s+|randomi[sz]ed\s+)?"
               r"(?:in)?to\s+"
               rf"{_THE}{_NAME}{_GROUP}\s*(?:,\s*(?:and\s+)?|\s+and\s+){COUNT}\s+(?:{PEOPLE}\s+)?(?:were\s+)?(?:randomly\s+)?"
               r"(?:\w+\s+)?(?:in)?to\s+"
               rf"{_THE}{_NAME}{_GROUP}{_CITED}(?=\s*[).;,]|\s+(?:in|at|during|over)\s+(?:\w+\s+)?(?:separate\s+)?"
               r"(?:cohorts?|waves?|sites?|centres?|centers?|blocks?|phases?)\b|\s*$)")
# One item of a list of three or more: "182 to coaching, 179 to social media programme, 185 to attention control",
# "were randomized, 66 patients were treated with tape, 58 patients with a semi-rigid brace and 62 patients with a
# lace-up brace"
_TO_ITEM = _rx(rf"(?:^|[:;,(]\s*|\band\s+){COUNT}\s+(?:{PEOPLE}\s+)?(?:were\s+)?(?:randomly\s+)?"
               rf"(?:assigned\s+|allocated\s+|randomi[sz]ed\s+)?(?:to|(?:treated\s+)?with)\s+(?:an?\s+)?{_THE}{_NAME}"
               rf"{_GROUP}{_CITED}"
               r"(?=\s*(?:[).;,]|\band\b|$))")

# One item of an allocation listed after a colon, items apart by ";": "cash plus lump sum (7 clusters, n = 164
# households)" — a name of up to seven words, then a bracket whose last part is the n (with its unit).
_LIST_ITEM = re.compile(r"\s*(?:and\s+)?([A-Za-z][\w\-+/]*(?:\s+[A-Za-z][\w\-+/]*){0,6})\s*"
                        r"\(\s*[^()]*?[,;]\s*[nN]\s*=\s*(\d{1,6})(?:\s+[A-Za-z]+)?\s*\)\s*")


# "as follows: BCI-HK (7 subjects), HK (8 subjects) and SAT (7 subjects)", "randomised participants 1.33:1 to
# intervention (403) or control (300)": each arm's count alone in the bracket after its name
_PAREN_COUNT = _rx(rf"([A-Za-z][\w\-+/]*(?:\s+[A-Za-z][\w\-+/]*){{0,3}}?)\s*\(\s*(\d{{1,5}})(\s+{PEOPLE})?\s*\)")


def _counted(clause: str) -> list[tuple[str, int]]:
    """The arms of an allocation clause that prints each arm's count alone in a bracket after its name. A bare
    number ("(403)") may be a citation, so those count only where they add up to a total the clause prints."""
    items = list(_PAREN_COUNT.finditer(clause))
    named = [(_clean(m.group(1)), int(m.group(2))) for m in items]
    if len(named) < 2 or not all(n for n, _ in named):
        return []
    if all(m.group(3) for m in items):
        return named
    printed = {count_value(m.group(1)) for m in re.finditer(COUNT, clause)}
    return named if sum(v for _, v in named) in printed else []


def _first_listing(named: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The arms up to the first name listed again: "assigned to control group and yoga group (Control Group n =
    137, Yoga Group n = 146) and 182 finally completed the study (Control Group n = 98, Yoga Group n = 84)" lists
    the randomised first; the second listing counts others."""
    seen: set[str] = set()
    for k, (name, _) in enumerate(named):
        if name.lower() in seen:
            return named[:k]
        seen.add(name.lower())
    return _without_total(named)


def _without_total(named: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The listing without its first entry when that entry counts the others together: "Children with JHS and
    knee pain (n=26) ... were randomly assigned to the hypermobile (n=12) or neutral (n=14) treatment group"
    names the sample before its arms."""
    if len(named) >= 3 and named[0][1] == sum(v for _, v in named[1:]):
        return named[1:]
    return named


# A sentence about another trial ("a recent randomized controlled trial demonstrated ... in yoga group, n = 20"):
# its counts are that trial's. Not "et al.": a page's running head ("Richards et al") runs into the sentence below.
_OTHER_STUDY = _rx(r"\b(?:a|an|another|one)\s+(?:(?:recent|previous|prior|earlier|similar|large|small|pilot)\s+)?"
                   r"(?:randomi[sz]ed\s+)?(?:controlled\s+)?(?:clinical\s+)?(?:trial|study)\s+"
                   r"(?:demonstrated|showed|found|reported|observed|suggested|concluded|by)\b")


def _listed(sentence: str) -> list[tuple[str, int]]:
    """The arms and n of an allocation listed after the sentence's colon, every item "NAME (..., n = X)"."""
    if ":" not in sentence:
        return []
    items = [_LIST_ITEM.fullmatch(x) for x in sentence.split(":", 1)[1].rstrip(". ").split(";")]
    if len(items) < 2 or not all(items):
        return []
    return [(_clean(m.group(1)), int(m.group(2))) for m in items if m]


_LOSSES = r"(?:drop-?outs?|withdrawals?)"  # "eight dropouts in the exercise group and six in the control group"
_LEFT = r"(?:withdr[ae]w|dropped\s+out|discontinued|were\s+lost\s+to\s+follow[- ]?up)"
# "9 patients withdrew from the intervention group and 11 from the placebo group"
_LEFT_PAIR = _rx(rf"{COUNT}\s+(?:{PEOPLE}\s+)?{_LEFT}\s+(?:from|in)\s+{_THE}{_NAME}{_GROUP}\s*,?\s*"
                 rf"(?:and|while|whereas)\s+{COUNT}\s+(?:{PEOPLE}\s+)?(?:{_LEFT}\s+)?(?:from|in)\s+{_THE}{_NAME}{_GROUP}\b")
# "Three subjects dropped out from the exercise group", "One subject (8%) withdrew in the placebo group", "One
# subject (4.6%) from the BCI-HK group dropped out": one arm's losses. An arm named before the losses needs its
# "group" or "arm" to end the name, and the count its people ("one from the RAO group withdrew" may count
# pharmacies); "Three patients in the X group withdrew" may be those of a substudy the sentence before describes,
# and was wrong as often as right on the tuned papers, so it is not read.
_SOMEONE = rf"(?:{PEOPLE}|participant|patient|subject|person)"
_SHARE = r"(?:\(\d{1,3}(?:\.\d+)?\s*%\)\s+)?"
_LEFT_ONE = _rx(rf"{COUNT}\s+(?:{_SOMEONE}\s+)?{_SHARE}{_LEFT}\s+(?:from|in|of)\s+{_THE}{_NAME}{_GROUP}\b|"
                rf"{COUNT}\s+{_SOMEONE}\s+{_SHARE}from\s+{_THE}{_NAME}\s+(?:group|arm)\s+{_LEFT}\b")
# "a total of 16 and 10 participants completed one-month follow-up for MICT and HIIT, respectively"
_RESPECTIVELY = _rx(rf"{COUNT}\s+and\s+{COUNT}\s+(?:{PEOPLE}\s+)?(?:were\s+|had\s+)?(?P<verb>[a-z]+(?:\s+[a-z]+)?)"
                    rf"[^.;\d]{{0,60}}?\b(?:in|for|to|from)\s+{_THE}{_NAME}{_GROUP}\s+and\s+{_THE}{_NAME}{_GROUP},?\s+"
                    r"respectively")
# "23, 16 and 21 patients were randomized to placebo, pioglitazone and metformin treatment groups respectively":
# three arms in one such list
_RESPECTIVELY3 = _rx(rf"{COUNT},\s+{COUNT},?\s+and\s+{COUNT}\s+(?:{PEOPLE}\s+)?(?:were\s+|had\s+)?"
                     rf"(?P<verb>[a-z]+(?:\s+[a-z]+)?)[^.;\d]{{0,60}}?\b(?:in|for|to|from|into)\s+{_THE}"
                     rf"{_NAME},\s+{_NAME},?\s+and\s+{_NAME}"
                     r"(?:\s+(?:treatment\s+|study\s+)?(?:groups?|arms?|conditions?))?,?\s+respectively")
_VERB_FIELD = [(_rx(r"randomi[sz]ed|allocated|assigned"), "n_randomised"),
               (_rx(r"complet|analy[sz]ed|included\s+in\s+the\s+analys"), "n_analysed"),
               (_rx(r"withdr[ae]w|dropped|lost|discontinued"), "n_dropout")]


def _in_pair(part: str, end: str) -> re.Pattern[str]:
    """Two arms' counts, each ``part`` then "in [the] NAME" (or "from": "Seven people from the probiotic group and
    three people from the placebo group dropped out"), up to ``end``."""
    one = rf"{part}\s+(?:(?:{PEOPLE}|{_LOSSES})\s+)?(?:in|from)\s+{_THE}{_NAME}{_GROUP}"
    return _rx(rf"{one}\s*[,;]?\s*(?:and\s+)?{one}(?={end})")


# "(4 in X and 9 in Y)", "53 (90%) in X and 51 (86%) in Y", "n = 227 in X and n = 216 in Y", "13% [n = 2] in X and
# 20% [n = 3] in Y"
_PAIR_PART = (rf"(?:\d{{1,3}}(?:\.\d+)?\s*%\s*[(\[]\s*(?=n\s*=))?(?:\bn\s*=\s*)?{COUNT}(?:\s*[)\]](?=\s+in\b))?"
              rf"(?:\s*\(\s*\d{{1,3}}(?:\.\d+)?\s*%\s*\))?")
_IN_PAIR = _in_pair(_PAIR_PART, r"\s*[).;,]|\s+(?![A-Z\d]\b)\w|\s*$")  # (a letter or digit alone ends a name: "Arm B")
# the last name runs to a bracket, a stop or a figure cited: "... in the conventional education group (Fig 1)."
_IN_PAIR_CLOSED = _in_pair(_PAIR_PART, r"\s*[).;,]|\s*\((?:see\s+)?(?:Fig(?:ure)?s?|Tables?)\b|\s*$")
# An allocation listed with "in", the last name running to the sentence's end: "62 in intervention schools,
# 65 in control schools."
_IN_LIST = _in_pair(COUNT, r"\s*[).;,]|\s*$")
# Losses as parts of each named arm: "3 of 62 students in intervention schools and 6 of 65 in control schools
# were lost to follow-up"
_OF_IN_PAIR = _in_pair(rf"{COUNT}\s+of\s+(?:the\s+)?\d{{1,5}}", r"\s*[).;,]|\s+(?:were|was|had|did)\b|\s*$")
_OF_THE = _rx(rf"\bof\s+the\s+(\d{{1,5}})\s+{PEOPLE}\s+(?:randomly\s+assigned|randomi[sz]ed|allocated)\s+"
              rf"(?:in)?to\s+{_THE}{_NAME}{_GROUP},\s*(\d{{1,5}})\s+(?:remained|completed|were\s+"
              r"(?:included\s+in\s+the\s+analysis|analy[sz]ed)|had\s+complete)")
_GROUP_FLOW = _rx(rf"in\s+the\s+{_NAME}{_GROUP},?\s+(\d{{1,5}})\s+(?:{PEOPLE}\s+)?were\s+"
                  r"(?:lost\s+to\s+follow[- ]?up|discontinued|withdr[ae]wn?|dropped\s+out)[^.;]*?(?:and|,)\s+"
                  r"(\d{1,5})\s+were\s+analy[sz]ed")
# "In the intervention group, 3 patients were lost to follow-up", "In placebo group, there were two participants lost
# to follow-up who withdrew the informed consent": one arm's losses in a clause the arm heads
_IN_GROUP_LOST = _rx(rf"\bin\s+{_THE}{_NAME}{_GROUP}\s*,\s*(?:there\s+(?:was|were)\s+)?{COUNT}\s+"
                     rf"(?:{_SOMEONE}\s+)?{_SHARE}"
                     r"(?:(?:was|were)\s+)?(?:lost\s+to\s+follow[- ]?up|withdr[ae]wn?\b|dropped\s+out|"
                     r"discontinued\s+(?:the\s+)?(?:study|trial)|"
                     r"did\s+not\s+complete\s+(?:the\s+)?(?:study|trial|follow[- ]?up|post[- ]?(?:intervention|"
                     r"treatment|test)\s+assessment))")
_LOSS = _rx(r"excluded|lost\s+to\s+follow|withdr[ae]w|discontinu|dropped\s+out|drop-?outs?|\battrition\b|"
            r"did\s+not\s+(?:complete|receive)|removed\s+from\s+the\s+(?:study|trial)|"
            r"not\s+included\s+in\s+the\s+(?:[\w-]+\s+)?analys[ie]s")
# ("CSD could be assessed in 26 patients, 13 in the EMS group and 13 in the control group": the outcome's analysed)
# ("Twenty-eight patients in each group were available for follow-up": those the outcome was measured on)
_ANALYSIS = _rx(r"analy[sz]|analysis|included\s+in\s+the\s+(?:final|full|primary)|were\s+evaluated\b|"
                r"could\s+be\s+(?:assessed|measured|evaluated)\s+in\b|"
                r"(?:were|was)\s+available\s+for\s+(?:the\s+)?(?:\d+[- ](?:week|month|year)\s+)?(?:follow[- ]?up|"
                r"assessment|evaluation)")
_IMPUTED = _rx(r"\bimput\w*|\bmissing\s+(?:values?|data|scores?)\b")
# "completed the study", "(the questionnaire) was completed in n = 227 in X and ..."
_COMPLETED = _rx(r"completed\s+(?:the\s+)?(?:study|trial|treatment|intervention|programme|program|follow[- ]?up|post)|"
                 r"(?:was|were)\s+completed\s+(?:in|by)\b")
# "Measurements were completed by 78 IG and 67 CG patients": each arm's count before its name
_BY_PAIR = _rx(rf"\bcompleted\s+by\s+{COUNT}\s+([A-Za-z][\w\-+/]*(?:\s+[A-Za-z][\w\-+/]*){{0,2}}?)\s+and\s+{COUNT}\s+"
               rf"([A-Za-z][\w\-+/]*(?:\s+[A-Za-z][\w\-+/]*){{0,2}}?)\s+{PEOPLE}\b")
# ("245 caregivers were enrolled in the study: 149 in the experimental group and 96 in ...": enrolled by group)
# "allocated" after "the" or "their" qualifies a treatment ("received the allocated intervention") and allocates
# nobody: a per-protocol sentence's "(n=30)" was read as an arm named by its clause.
_ALLOCATION = _rx(r"randomi[sz]|assigned|(?<!\bthe\s)(?<!\btheir\s)allocat(?:ed|e)\b|divided\s+into|"
                  r"\benrolled(?:\s+in(?:to)?\s+the\s+(?:study|trial))?\s*:")
_N_BOX = r"\(\s*n\s*=\s*(\d{1,5})\s*\)"
# The name runs to the box's n, never into a later box (a crossover's second-period "Allocated to ...").
_BOX_ALLOC = _rx(rf"allocated\s+to\s+{_THE}((?:(?!allocated\b).){{0,40}}?)\s*{_N_BOX}")
# A diagram whose arm boxes say "Empagliflozin group (n=52)" instead of "Allocated to ...".
_BOX_GROUP = _rx(rf"\b([A-Za-z][\w-]*(?:\s+[A-Za-z][\w-]*){{0,2}}?)\s+(?:group|arm)\s*{_N_BOX}")
_ARM_BOX = _rx(r"allocated\s+to|\b[A-Za-z][\w-]*\s+(?:group|arm)\s*\(\s*n\s*=")
_BOX_LOST = _rx(rf"lost\s+to\s+follow[- ]?up[^()]{{0,30}}(?:\([^()]*\)\s*)?{_N_BOX}")
# "Analysed (n = 45)", "Analysed in ITT (n = 50)", "Included in the primary analysis (n = 45)"; not "Not analysed".
_BOX_ANALYSED = _rx(rf"(?<!not\s)(?:analy[sz]ed(?:\s+(?:in|for)\s+(?:the\s+)?(?:[\w-]+\s*){{1,3}}?)?|"
                    rf"included\s+in\s+(?:the\s+)?(?:primary\s+|final\s+|main\s+|itt\s+)?analys[ie]s)\s*{_N_BOX}")
# Any "label (n = X)" box line, and those that say a participant left the study (not only its intervention).
_BOX_ITEM = _rx(rf"([A-Za-z][^()]{{0,50}}?)\s*{_N_BOX}")
_LEFT_STUDY = _rx(r"^(?:discontinued|withdr[ae]w[ns]?|dropped\s+out|drop-?outs?)\b"
                  r"(?!.*\b(?:intervention|treatment|drug|medication|therapy|programme|program|app)\b)")
# Between two arms' fractions: a separator, maybe the arm named ("9/60 in the intervention group vs 6/58"), a
# bracket or a percentage ("(9/60) and 10% in the control group (6/58)"); no other count.
_BETWEEN = (r"\)?\s*(?:(?:in|for)\s+(?:the\s+)?(?:[A-Za-z][\w-]*\s+){1,3}?(?:group|arm|condition)\s*\)?\s*)?"
            r"(?:,|;|vs\.?|versus|and|or|compared\s+with)\s*(?:\d{1,3}(?:\.\d+)?\s*%\s*)?"
            r"(?:(?:in|for)\s+(?:the\s+)?(?:[A-Za-z][\w-]*\s+){1,3}?(?:group|arm|condition)\s*|"
            r"[A-Za-z][\w+-]*(?:\s+[A-Za-z][\w+-]*){0,2}\s+(?=\())?\(?\s*")  # "... or CBT (429/610"
# One arm's loss over its randomised n: "10/109", "12 of 60", with its percentage after it ("(451/613, 74%)",
# "12/60 (20%)"); the two counts are the groups "lost" and "of".
_FRACTION = r"(?P<lost>\d{1,5})\s*(?:/|\s+of\s+)\s*(?P<of>\d{1,5})(?:\s*,?\s*\(?\d{1,3}(?:\.\d+)?\s*%\)?)?"
_ONE_FRACTION = re.compile(_FRACTION.replace("?P<lost>", "").replace("?P<of>", ""))
# "lost to follow-up 10/109 vs 8/106", "dropout rates were higher for participants assigned to MoodGYM (451/613,
# 74%) compared with IPT (414/620, 67%)": per-arm losses over each arm's randomised n, in a sentence.
_LOST_FRACTIONS = _rx(r"(?:lost\s+to\s+follow[- ]?up|drop-?outs?|dropped\s+out|attrition|withdr[ae]w[n]?)"
                      r"[^.;]{0,80}?\b" + _FRACTION + r"((?:" + _BETWEEN + _ONE_FRACTION.pattern + r"){1,3})")


@dataclass
class Count:
    field: str  # n_randomised | n_analysed | n_dropout
    arm: str  # the arm as printed ("" when only its position in a diagram is known)
    value: int
    page: int
    quote: str
    source: str  # prose | diagram
    position: int | None = None  # column of a flow diagram, left to right
    sentence: str = ""  # the whole sentence a prose count was read from (its quote may be one list item)
    each: bool = False  # the count of every arm ("100 patients in each group"); ``arm`` is then ""


# "In each cohort, six participants were randomized": a count per group, not the trial's total.
_PER_GROUP = _rx(r"\b(?:in\s+each|in\s+every|per|for\s+each|each)\s+(?:\w+\s+){0,2}?(?:cohorts?|groups?|arms?|sites?|"
                 r"centres?|centers?|clusters?|schools?|parts?|periods?|doses?|levels?|strat(?:um|a))\b")


def _per_group(sentence: str, m: re.Match[str]) -> bool:
    """Whether a sentence gives its count per cohort or group: "in each cohort, six were randomized", "six were
    randomized ... in each part"; not "In each school, all pupils (744 pupils) were included"."""
    before = list(_PER_GROUP.finditer(sentence, 0, m.start()))
    if before and not re.search(r"\ball\b", sentence[before[-1].end():m.start()], re.IGNORECASE):
        return True
    return bool(_PER_GROUP.search(sentence, m.end()))


def total_candidates(pages: list) -> list[tuple[int, int, str]]:  # pages: list[extractor.pdf.Page]
    """Every (N randomised, page, quote) statement in the paper, the most trusted kind first. A count a sentence
    gives per cohort or group is not one, nor the same count on that page's physical lines."""
    texts = [(p.number, sentences(p.text), norm(p.lines)) for p in pages]
    found = []  # (value, page, quote, from the physical lines, per group)
    for pattern in TOTAL_PATTERNS:
        for number, sents, lines in texts:
            for text in sents + [lines]:
                for m in pattern.finditer(text):
                    value = count_value(m.group(1))
                    if value is not None and value >= 2:
                        per_group = text is not lines and _per_group(text, m)
                        found.append((value, number, m.group(0), text is lines, per_group))
    per_group = {(v, p) for v, p, _, _, group in found if group}
    return [(v, p, q) for v, p, q, lines, group in found if not group and not (lines and (v, p) in per_group)]


# "A total of 44 patients, 8 men and 14 women in the treatment arm and ..., were evaluated": how many the analysis
# counts, all arms together
_ANALYSED_TOTAL = _rx(rf"(?:a\s+total\s+of|in\s+total,?|overall,?)\s+{COUNT}\s+{_WORDS}{{0,3}}?{PEOPLE}\b[^.;]{{0,160}}?"
                      r"\b(?:were|was)\s+(?:evaluated|analy[sz]ed|included\s+in\s+the\s+(?:final\s+|statistical\s+)?"
                      r"analys[ie]s)\b")


def analysed_total(pages: list) -> int | None:  # pages: list[extractor.pdf.Page]
    """The number a sentence says the analysis counts, all arms together, when one sentence says so."""
    found = {count_value(m.group(1)) for p in pages for s in sentences(p.text) for m in _ANALYSED_TOTAL.finditer(s)}
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def total_n(pages: list) -> tuple[int, int, str] | None:
    """The most trusted statement of the total N randomised, if any."""
    found = total_candidates(pages)
    return found[0] if found else None


# Words that open a sentence or clause and name nothing.
_OPENERS = {"since", "however", "although", "because", "while", "whereas", "when", "after", "before", "thus",
            "therefore", "moreover", "furthermore", "finally", "also", "then", "this", "these", "there"}
_LEAD = {"either", "a", "an", "the", "or", "and", "to", "into", "were", "was", "randomly", "assigned",
         "allocated", "randomized", "randomised", "receive", "received", "in", "of", "with", "vs", "versus",
         "receiving", "given", "taking", "treated", "undergoing"}  # "II, receiving intravenous morphine (n = 120)"


_AFTER_NAME = re.compile(r"\s+(?:were|was|had|have|did|dropped|withdr[ae]w|discontinued|completed|left|remained)\b.*$",
                         re.IGNORECASE)


def _bracketed(text: str, listed_only: bool = False) -> list[tuple[str, int]]:
    """Each arm's name and n from the brackets of a text ("(IPT: n=620; CBT: n=610)", "a sham group (n = 40)"),
    no result brackets ("(n=158; mean 22.81, SD 4.58)") and no totals; ``listed_only``: only names listed inside a
    bracket with their n."""
    named = [(_clean(m.group(1) or m.group(2) or ""), int(m.group(3))) for m in _PAREN_N.finditer(text)
             if (m.group(1) or not listed_only) and not _RESULT_IN.search(m.group("tail"))]
    return [(n, v) for n, v in named if n and not re.fullmatch(r"(?i)n|total|all|overall", n)]


def _clean(name: str) -> str:
    """An arm name without the words a sentence puts before it ("were assigned to either dabigatran")."""
    # "assignment to an intervention": the name follows the last "to a/an/the/either"
    words = re.split(r"(?i)\b(?:in)?to\s+(?:an?|the|either)\s+|\binto\s+", name)[-1]
    # ("... and three in the control group dropped out.": the verb after the name, read to the stop)
    words = _AFTER_NAME.sub("", words).split()
    while words and words[0].lower() in _LEAD:
        words.pop(0)
    if len(words) == 1 and words[0].lower() in _OPENERS:
        return ""  # the next sentence, run in from the other column: "123 (11%) in" over "Since the cohort ..."
    return re.sub(r"\s+(?:group|arm|condition)s?$", "", " ".join(words), flags=re.IGNORECASE).strip()


def _in_pairs(text: str) -> list[re.Match[str]]:
    """The "N in X and M in Y" pairs of a text, each last name running to a bracket or a stop where one does
    ("(47 in Group Ropivacaine and 53 in Group Placebo)"), else to the next word ("... in IR arm were included").
    Not a pair whose first number is a denominator ("One participant out of 23 in the X group and one in Y")."""
    found = list(_IN_PAIR_CLOSED.finditer(text)) or list(_IN_PAIR.finditer(text))
    return [m for m in found if not _DENOMINATOR.search(text, 0, m.start())]


# "one participant out of 23 in ...", "2 of 23 in ...": the number after it counts the arm, not the people meant
# (not "a total of 40 in X and 38 in Y")
_DENOMINATOR = _rx(rf"(?:\bout\s+of|(?:\d|\b(?:{NUMBER_WORD}))\s+of)\s*$")


def _after_losses(sentence: str) -> str:
    """The clause after a sentence's last loss, when it tells of the analysis and of no loss ("Patients without a
    score were excluded, 228 in ER and 236 in IR were included in the efficacy analysis"); else ""."""
    ends = [m.end() for m in _LOSS.finditer(sentence)]
    if not ends:
        return ""
    cut = re.search(r"[,;:]\s+", sentence[ends[-1]:])
    tail = sentence[ends[-1] + cut.end():] if cut else ""
    return tail if _ANALYSIS.search(tail) and not _LOSS.search(tail) else ""


# "... stopped participation, leaving 152 participants in the study (72 in X and 80 in Y)": who stayed, not who left
_REMAINING = _rx(r"\b(?:leaving|remaining|remained|left\s+(?:with|in)|still\s+in)\b")


def _remaining(sentence: str, at: int) -> bool:
    """Whether the counts at ``at`` of a sentence about losses count those who stayed: a word of remaining
    stands between the last loss before them and them."""
    last_loss = max((m.end() for m in _LOSS.finditer(sentence, 0, at)), default=0)
    return _REMAINING.search(sentence, last_loss, at) is not None


def _allocation_clause(sentence: str, loss: bool) -> str:
    """The part of a sentence that allocates: all of it, or, in a sentence that also tells of losses, the clause
    of its last allocation verb when no loss follows ("15 were excluded, and the remaining 104 were randomly
    assigned to an intervention (n = 52) or placebo (n = 52) group"); "" when it does not allocate."""
    verbs = list(_ALLOCATION.finditer(sentence))
    if not verbs:
        return ""
    if not loss:
        return sentence
    start = max(sentence.rfind(",", 0, verbs[-1].start()), sentence.rfind(";", 0, verbs[-1].start())) + 1
    clause = sentence[start:]
    return "" if _LOSS.search(clause) else clause


def _text_sentences(pages: list) -> Iterator[tuple[int, str]]:
    """Each sentence of the text (not a table's line) with its page; of a table's text that runs on into the
    prose after it (no stop between the table's last line and the paragraph), that prose."""
    for page in pages:
        for s in sentences(page.text):
            if not is_table_text(s):
                yield page.number, s
            elif (tail := _prose_tail(s)) is not None:
                yield page.number, tail


# Where prose may start: a capitalised word before a word in lower case ("From the 62 children", "Chi-square test")
_PROSE_START = re.compile(r"(?<=\s)[A-Z][a-z-]+\s+[a-z]")
_SENTENCE_VERB = re.compile(r"\b(?:was|were|is|are|had|have)\b")


def _prose_tail(text: str) -> str | None:
    """The prose a table's text runs on into ("... ATEC Total Score 55.2 ± 28.7 ... * Student's t test
    Randomization and Allocation From the 62 children who were enrolled, 33 were randomly allocated ..."): the
    longest tail from a word where prose may start that holds no "±", at most four numbers and a verb."""
    for m in _PROSE_START.finditer(text):
        tail = text[m.start():]
        if "±" not in tail and len(NUMBERS.findall(tail)) <= 4 and _SENTENCE_VERB.search(tail) \
                and len(tail) >= 40:
            return tail
    return None


def _prose_sentences(pages: list) -> Iterator[tuple[int, str, bool, bool, str]]:
    """Each sentence of the text (``_text_sentences``) with its page, whether it tells of losses and of the
    analysis, and its allocation clause ("" when it allocates nothing)."""
    for number, s in _text_sentences(pages):
        loss = bool(_LOSS.search(s))
        yield number, s, loss, bool(_ANALYSIS.search(s)), _allocation_clause(s, loss)


def allocation_names(pages: list) -> list[str]:  # pages: list[extractor.pdf.Page]
    """The two arms' names an allocation sentence gives without their n ("randomized to either LPA or a FM
    education control (FME) group"): names a table header may print without its n."""
    out = []
    for _, s, _, _, allocation in _prose_sentences(pages):
        if not _PLANNED.search(s) and (pair := _TWO_NAMES.search(allocation)):
            out += [name for name in (_clean(pair.group(1)), _clean(pair.group(2))) if name]
    return out


def prose_counts(pages: list) -> list[Count]:  # pages: list[extractor.pdf.Page]
    """Per-arm numbers stated in sentences."""
    out: list[Count] = []

    def add(field: str, m: re.Match[str], name: int, value: int, page: int) -> None:
        number = count_value(m.group(value))
        if number is not None:
            out.append(Count(field, _clean(m.group(name)), number, page, m.group(0), "prose", sentence=m.string))

    def add_pair(field: str, m: re.Match[str], page: int) -> None:
        """Both arms of an "N in X and M in Y" match: counts in groups 1 and 3, names in 2 and 4."""
        add(field, m, 2, 1, page)
        add(field, m, 4, 3, page)

    for p, s, loss, analysis, allocation in _prose_sentences(pages):
        if _OTHER_STUDY.search(s):
            continue
        before = len(out)
        if allocation and not _CLUSTERS.search(allocation):
            bare = [(_clean(m.group(1)), int(m.group(2))) for m in _BARE_N.finditer(allocation)]
            named = next((found for found in (_bracketed(allocation), _listed(allocation), bare, _counted(allocation))
                          if len(found) >= 2), [])
            named = _first_listing(named)  # each name once
            if 2 <= len(named) <= 4:
                out += [Count("n_randomised", n, v, p, s, "prose") for n, v in named]
            items = list(_TO_ITEM.finditer(allocation))
            if len(items) >= 3 and len({_clean(m.group(2)).lower() for m in items}) == len(items):
                for m in items:  # three or more arms in one list
                    add("n_randomised", m, 2, 1, p)
            else:
                for m in _TO_PAIR.finditer(allocation):  # "(52 to empagliflozin and 53 to placebo)"
                    add_pair("n_randomised", m, p)
                for m in _IN_LIST.finditer(allocation):  # "enrolling 127 students: 62 in intervention schools, 65 in ..."
                    add_pair("n_randomised", m, p)
        planned = _PLANNED.search(s)
        if not loss and not analysis and not planned:
            for m in _CONSISTED.finditer(s):  # "The intervention group consisted of 50 subjects"
                add("n_randomised", m, 1, 2, p)
            # "randomly divided into a study group and a control group, with 100 patients in each group"; not
            # "16 participants in each group at 12-month follow-up"
            each = [*_IN_EACH.finditer(s), *_BOTH_N.finditer(s)] if allocation and not _FOLLOWED.search(s) else ()
            pair = _TWO_NAMES.search(allocation)
            for m in each:
                number = count_value(m.group(1))
                if number is not None and pair:  # "to either the intervention or control group (both: n = 57)"
                    out += [Count("n_randomised", _clean(pair.group(g)), number, p, s, "prose") for g in (1, 2)]
                elif number is not None:
                    out.append(Count("n_randomised", "", number, p, m.group(0), "prose", sentence=s, each=True))
            if len(out) == before and not _CLUSTERS.search(s):  # nothing else in the sentence gave a count
                for m in _ONE_ARM.finditer(s):
                    if not _NOT_ONE_ARM.search(m.group(2)):
                        add("n_randomised", m, 2, 1, p)
        for m in _ANALYSED_EACH.finditer(s) if analysis and not loss and not planned else ():
            number = count_value(m.group(1))
            if number is not None:
                out.append(Count("n_analysed", "", number, p, m.group(0), "prose", sentence=s, each=True))
        for m in _OF_THE.finditer(s):  # "Of the 52 patients randomly assigned to X, 42 remained"
            add("n_randomised", m, 2, 1, p)
            add("n_analysed", m, 2, 3, p)
        for m in _GROUP_FLOW.finditer(s):  # "in the X group 12 were lost to follow-up and 93 analysed"
            add("n_dropout", m, 1, 2, p)
            add("n_analysed", m, 1, 3, p)
        if loss:
            for m in _OF_IN_PAIR.finditer(s):  # "3 of 62 students in X and 6 of 65 in Y were lost to follow-up"
                add_pair("n_dropout", m, p)
        after = _after_losses(s) if loss and analysis else ""
        if after:  # "... were excluded, 228 patients in ER arm and 236 in IR arm were included in the analysis"
            for m in _in_pairs(after):
                add_pair("n_analysed", m, p)
        elif loss != analysis and (loss or not _IMPUTED.search(s)):
            # "(4 in X and 9 in Y)" in a sentence about losses or about the analysis; not those whose missing
            # values the analysis imputed ("We imputed missing values of two participants in X and three in Y")
            for m in _in_pairs(s):
                if not (loss and _remaining(s, m.start())):
                    add_pair("n_dropout" if loss else "n_analysed", m, p)
        elif not loss and _COMPLETED.search(s):  # "(13 in the X group and 12 in the Y group) completed the treatment"
            for m in _in_pairs(s) or list(_BY_PAIR.finditer(s)):
                add_pair("n_analysed", m, p)
        elif loss:  # "... completed the study with eight dropouts in the exercise group and six in the control"
            for m in _IN_PAIR.finditer(s):
                if re.search(_LOSSES, m.group(0), re.IGNORECASE):
                    add_pair("n_dropout", m, p)
        pairs = list(_LEFT_PAIR.finditer(s))
        for m in pairs:  # "9 patients withdrew from the intervention group and 11 from the placebo group"
            add_pair("n_dropout", m, p)
        # (not where the sentence gave its losses already: one sentence's losses are read by one pattern)
        lost = pairs or any(c.field == "n_dropout" for c in out[before:])
        for m in () if lost else _LEFT_ONE.finditer(s):  # "Three subjects dropped out from the exercise group"
            add("n_dropout", m, *((2, 1) if m.group(1) else (4, 3)), p)
        for m in () if pairs else _IN_GROUP_LOST.finditer(s):
            # not a first part of several ("one participant withdrew ... and the second relocated")
            if not re.search(rf"\d|\b(?:{NUMBER_WORD}|second|third|another|others?)\b", s[m.end():], re.IGNORECASE):
                add("n_dropout", m, 1, 2, p)
        if loss != analysis and len(out) == before and not planned and (loss or not _IMPUTED.search(s)):
            # "A total of 18 participants were lost to follow-up (intervention: n = 12; control: n = 6)": each arm's
            # n in a bracket of a sentence about losses, or about the analysis, that gave no other count (not a
            # dataset completed by imputation: "Imputing the data for missing values resulted in a dataset of 647
            # participants (control n = 275, intervention n = 372)")
            named = _bracketed(s, listed_only=True)
            if 2 <= len(named) <= 4 and len({n.lower() for n, _ in named}) == len(named):
                out += [Count("n_dropout" if loss else "n_analysed", n, v, p, s, "prose") for n, v in named]
        # "16 and 10 participants completed ... for MICT and HIIT, respectively", and three such: (name, count) groups
        for pattern, places in ((_RESPECTIVELY, ((4, 1), (5, 2))), (_RESPECTIVELY3, ((5, 1), (6, 2), (7, 3)))):
            for m in pattern.finditer(s):
                field = next((f for rx, f in _VERB_FIELD if rx.match(m.group("verb"))), None)
                for name, value in places if field else ():
                    add(field, m, name, value, p)
    return out


def diagram_counts(pages: list) -> list[Count]:
    """Allocated / lost to follow-up / analysed per column of a CONSORT diagram (two or more side by side)."""
    out: list[Count] = []
    for page in pages:
        hits = []  # (x0, row index) of each "Allocated to ... (n = X)" or "X group (n = X)" box
        captions = [i for i, words in enumerate(page.rows) if caption_at(words)]
        for i, words in enumerate(page.rows):
            if any(i - 3 <= c < i for c in captions):
                continue  # "Intervention group (N=45)  Control group (N=42)" under "Table 1 ...": a table header
            text = norm(join_words(words))
            for m in _ARM_BOX.finditer(text):
                before = len(text[:m.start()].split())
                if before < len(words):
                    hits.append((words[before].x0, i))
        xs = _column_starts([x for x, _ in hits])
        if len(xs) < 2:
            continue
        cuts = [x - 5 for x in xs[1:]]  # a column runs up to where the next column's boxes start
        first = min(i for _, i in hits)
        rows = [words for words in page.rows[first:] if not _spans_cut(words, cuts)]
        for col in range(len(xs)):
            lo = cuts[col - 1] if col else float("-inf")
            hi = cuts[col] if col < len(cuts) else float("inf")
            lines = [join_words([w for w in words if lo <= w.x0 < hi]) for words in rows]
            text = norm(" ".join(line for line in lines if line))
            # the column's first allocation box: without its n the column has no randomised count
            first_box = re.search(r"allocated\s+to\b", text, re.IGNORECASE)
            alloc = _BOX_ALLOC.match(text, first_box.start()) if first_box else _BOX_GROUP.search(text)
            if not alloc:
                continue
            name = _clean(alloc.group(1))
            quote = alloc.group(0)
            out.append(Count("n_randomised", name, int(alloc.group(2)), page.number, quote, "diagram", col))
            found = _BOX_ANALYSED.findall(text)
            if len(found) == 1:
                m = _BOX_ANALYSED.search(text)
                out.append(Count("n_analysed", name, int(m.group(1)), page.number, m.group(0), "diagram", col))
            dropout = _column_dropout(text)
            if dropout is not None:
                out.append(Count("n_dropout", name, dropout[0], page.number, dropout[1], "diagram", col))
    return out


def _column_starts(xs: list[float]) -> list[float]:
    """The left edges of a diagram's columns from the x of its arm boxes: boxes of one column start within
    60 pt of each other (a crossover's second-period boxes, a box drawn a little wider)."""
    starts: list[float] = []
    for x in sorted(xs):
        if not starts or x - starts[-1] >= 60:
            starts.append(x)
    return starts


def _spans_cut(words: list, cuts: list[float]) -> bool:
    """Whether a line runs across a column boundary as one box ("Analysed (n = 23)" centred under both arms:
    a pooled count that belongs to no one column)."""
    if not words:
        return False
    typical = sorted(w.size for w in words)[len(words) // 2]
    words = [w for w in words if w.size <= 2 * typical]  # OCR reads a box's border as one tall letter: no text
    for cut in cuts:
        left = [w for w in words if w.x0 < cut]
        right = [w for w in words if w.x0 >= cut]
        if left and right and same_size(left[-1].size, right[0].size) and \
                right[0].x0 - left[-1].x1 < 1.5 * max(left[-1].size, right[0].size, 1.0) and \
                not (left[-1].text.endswith(")") and right[0].text[:1].isupper()):  # "(n=156)" | "Allocated"
            return True
    return False


def _column_dropout(text: str) -> tuple[int, str] | None:
    """Participants of one diagram column who left the study, and the quote: its "Lost to follow-up" box plus
    sibling boxes that say they left the study ("Discontinued (n = 2)", "Withdrew (n = 1)"; not those that
    stopped only the intervention). Lines after the lost box whose counts add up to it are its reasons
    ("Consent withdrawn (n = 2)", "Unknown (n = 1)"), not more losses."""
    if len(_BOX_LOST.findall(text)) != 1:
        return None
    lost = _BOX_LOST.search(text)
    total, quotes = int(lost.group(1)), [lost.group(0)]
    items = [(m.group(1).strip(), int(m.group(2)), m.group(0)) for m in _BOX_ITEM.finditer(text, lost.end())]
    items = [it for it in items if not _BOX_ANALYSED.search(it[2])]
    if items and _BOX_ANALYSED.search(text, lost.end()):  # the follow-up section ends at the analysis box
        end = _BOX_ANALYSED.search(text, lost.end()).start()
        items = [it for it in items if text.find(it[2], lost.end()) < end]
    # A box's bullet may be read by OCR as a stray letter or sign ("e Dropout", "« Discontinued").
    items = [(re.sub(r"^(?:[^A-Za-z]+|[a-z]\s+)+", "", label), n, quote) for label, n, quote in items]
    reasons = [it for it in items if not it[0].lower().startswith("discontinu")]  # never a reason for a loss
    running = 0
    for k, (_, n, _) in enumerate(reasons):
        running += n
        if running == total:
            items = [it for it in items if it not in reasons[:k + 1]]
            break
    for label, n, quote in items:
        if _LEFT_STUDY.match(label):
            total += n
            quotes.append(quote)
    return total, "; ".join(quotes)


# "All participants completed the study", "There were no dropouts", "No patient was lost to follow-up or
# withdrew": nobody left any arm. Not when the sentence names a part of the trial or an exception.
_NONE_LEFT = _rx(rf"(?:\b(?:all|every)\s+(?:of\s+the\s+)?(?:\d+\s+)?(?:randomi[sz]ed\s+)?{PEOPLE}?\s*(?:randomi[sz]ed\s+)?"
                 r"(?:completed|finished|remained\s+in)\s+(?:the\s+)?(?:[\w-]+\s+){0,2}?(?:study|trial|follow[- ]?up|"
                 r"protocol)\b|"  # "all completed the 10-week trial"
                 rf"\bthere\s+were\s+no\s+(?:{PEOPLE}\s+|participant\s+|patient\s+)?(?:drop-?outs|withdrawals)\b|"
                 rf"\bno\s+(?:{PEOPLE}|participant|patient|subject|one)\s+(?:dropped\s+out|withdrew|"
                 r"(?:was|were)\s+(?:lost\s+to\s+follow[- ]?up\s+or\s+withdr[ae]wn?|withdrawn\s+or\s+lost\s+to\s+follow[- ]?up)"
                 r"|left\s+the\s+(?:study|trial)))")
# "There were no withdrawals due to study related adverse events": none for one reason, not none at all; "No one
# dropped out before receiving the intervention": none in one phase; "... in the aripiprazole group, in which all
# patients completed the study": none in one arm.
_EXCEPT = _rx(r"\b(?:except|but|apart\s+from|other\s+than|with\s+the\s+exception|parts?\s+\d|cohorts?\s+\d|"
              r"groups?\s+\d|if|whether|unless|should|would|expected|planned|due\s+to|because\s+of|owing\s+to|"
              r"related\s+to|as\s+a\s+result\s+of|before|prior\s+to|until|in\s+which|"
              r"the\s+(?!two\b|both\b|three\b|four\b)[\w-]+\s+(?:group|arm))\b")


def _first_saying(said: Iterable[tuple[int, str]], says: re.Pattern[str], unless: re.Pattern[str]
                  ) -> tuple[int, str] | None:
    """The first (page, sentence) that ``says`` matches and ``unless`` does not."""
    return next(((number, s) for number, s in said if says.search(s) and not unless.search(s)), None)


def no_losses(pages: list) -> tuple[int, str] | None:
    """(page, quote) of a sentence saying nobody left the trial, if the paper has one."""
    return _first_saying(((page.number, s) for page in pages for s in sentences(page.text)), _NONE_LEFT, _EXCEPT)


# "The analysis was performed on an intent-to-treat basis and included all patients who were randomized", "all
# randomized subjects are included in the analysis": every arm's analysed are its randomised. Not "modified" ITT,
# not the safety set ("all randomised patients who received at least one dose").
# Who "all" are may be said as the randomised, the enrolled or those in the study ("population comprising all the
# subjects included in the study", "performed on all enrollees"), or not at all where the sentence names the
# intention-to-treat analysis ("All women were included in the intention to treat analysis"); a qualifier between
# the people and the verb ("all participants with follow-up data were included") breaks the match.
_EVERYONE = (r"(?:(?:who\s+(?:were|had\s+been)\s+)?randomi[sz]ed|enrolled|enrollees|"
             r"included\s+in\s+the\s+(?:study|trial))")
_ALL_ANALYSED = _rx(rf"\banaly[sz]\w*\b[^.;]{{0,120}}?\b(?:includ\w*|of|on|comprised|comprising)\s+all\s+(?:the\s+)?"
                    rf"(?:\d+\s+)?(?:{PEOPLE}\s+)?{_EVERYONE}\b|"
                    rf"\ball\s+(?:the\s+)?(?:\d+\s+)?randomi[sz]ed\s+(?:{PEOPLE}\s+)?(?:were|are|was)\s+"
                    r"(?:included|analy[sz]ed)\s+(?:in\s+the\s+(?:\w+\s+){0,3}?analys[ie]s\b)?|"
                    rf"\ball\s+(?:the\s+)?(?:\d+\s+)?{PEOPLE}\s+(?:(?:who\s+were\s+)?randomi[sz]ed\s+)?(?:were|are|was)\s+"
                    r"(?:included|analy[sz]ed)\s+in\s+the\s+(?:\w+\s+){0,3}?analys[ie]s\b")
_NOT_ALL = _rx(r"\bmodified\b|\bmitt\b|\bat\s+least\s+one\b|\breceived\b|\bwho\s+(?:started|took|completed|"
               r"attended|provided|had\s+(?:at\s+least|any|a\s+baseline|baseline))|\bper[- ]protocol\b|\bsafety\b|"
               r"\bexcept\b|\bexclud|\bif\b|\bwill\b|\bwould\b|\bplanned\b")


def all_analysed(pages: list) -> tuple[int, str] | None:
    """(page, quote) of a sentence saying the analysis included everyone randomised, if the paper has one."""
    return _first_saying(_text_sentences(pages), _ALL_ANALYSED, _NOT_ALL)


def fraction_losses(pages: list) -> list[tuple[list[tuple[int, int]], int, str]]:
    """Sentences giving losses per arm as fractions of the arm ("lost to follow-up 10/109 vs 8/106"):
    ([(lost, of), ...] in the printed order, page, quote)."""
    out = []
    for page in pages:
        for s in sentences(page.text):
            for m in _LOST_FRACTIONS.finditer(s):
                pairs = [(int(m.group("lost")), int(m.group("of")))] + [
                    (int(a), int(b)) for a, b in _ONE_FRACTION.findall(m.group(3))]  # the later arms
                if all(0 <= a < b for a, b in pairs):
                    out.append((pairs, page.number, m.group(0)))
    return out
