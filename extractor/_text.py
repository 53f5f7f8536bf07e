"""Text helpers shared by the rule extractors: dash normalisation, number words, sentences, arm names."""

from __future__ import annotations

import re

NUM = r"-?\d+(?:\.\d+)?"
# Minus signs and dashes journals print for "-": unicode minus, en dash, (non-breaking) hyphens, figure dash.
_DASHES = str.maketrans({c: "-" for c in "\u2212\u2013\u2011\u2010\u2012\ufe63\uff0d"})
# "− 0.12" → "-0.12"; not "3 - 5" (a range needs a digit before the dash)
_GLUE_MINUS = re.compile(r"(^|[\s(\[;,:=])-\s+(?=\d)")
FOOTNOTE_MARKS = "*∗†‡§¶∥‖#"  # (∗: the asterisk operator some typesetters print for *)

_SMALL = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
          "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_UNITS = {w: i for i, w in enumerate(_SMALL)}
_TENS = {w: 10 * i for i, w in enumerate(("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
                                          "eighty", "ninety")) if w}
_HUNDREDS = r"(?:one|two|three|four|five|six|seven|eight|nine)[\s-]+hundred"  # "Four-hundred" too
# ("Twenty-" / "four" broken at a line's end comes out of the text layer as "Twenty- four")
_BELOW_100 = (r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:(?:-\s?|\s)(?:one|two|three|four|five|six|"
              r"seven|eight|nine))?|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
              r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)")
# "Two hundred patients" is 200, not 2: the hundreds are tried first, with or without a rest ("and five").
NUMBER_WORD = rf"(?:{_HUNDREDS}(?:(?:\s+and)?[\s-]+{_BELOW_100}\b)?|{_BELOW_100})"
# A count printed as digits or words ("Twenty-three"); not the "374" of a running head "20:374".
COUNT = rf"(?<![\d:./-])(\d{{1,5}}|{NUMBER_WORD})\b"


# Some journals' symbol fonts come out of the text layer as other glyphs: "=" as "¼" ("P ¼ 0.002") and, after
# "n", as "5" ("(n 5 98)"). A quarter sign is never a trial's number, and "n 5 98" never means n five 98.
_BAD_EQUALS = re.compile(r"\s?¼\s?|(?<=\b[nN]) 5 (?=\d)")


# The Lancet's house style (and some others') sets the decimal point as a raised dot: "70·5 (10·4)".
_MID_DOT = re.compile(r"(?<=\d)[\u00b7\u2219\u22c5](?=\d)")


# A thousands separator: "7,020 patients", "(n = 2,301)". Not "0,001" (a decimal comma), not a superscript
# citation glued to a word ("trials12,345") and not a list of small numbers ("1,2,3").
_THOUSANDS = re.compile(r"(?<![\w.,])[1-9]\d{0,2}(?:,\d{3})+(?![\d,])")


def decimal_points(text: str) -> str:
    """A raised decimal dot between digits ("70·5") as the decimal point "."; thousands separators dropped
    ("2,301" → "2301"): large trials print their arms' n so, and read digit by digit "(n = 2,301)" was n = 2."""
    return _THOUSANDS.sub(lambda m: m.group().replace(",", ""), _MID_DOT.sub(".", text))


def norm(text: str) -> str:
    """Dashes and minus signs to "-", a minus glued to its number, mis-encoded equals signs to "=", a raised
    decimal dot to ".", single spaces."""
    text = _GLUE_MINUS.sub(r"\1-", text.translate(_DASHES))
    text = decimal_points(_BAD_EQUALS.sub(" = ", text))
    return re.sub(r"[ \t\u00a0]+", " ", text)


def count_value(text: str) -> int | None:
    """``"23"`` → 23, ``"Twenty-three"`` → 23, ``"one hundred and five"`` → 105; else None."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    total, seen = 0, False
    for word in re.split(r"[\s-]+", text):
        if word == "and":
            continue
        if word == "hundred" and seen:
            total *= 100
        elif word in _UNITS:
            total += _UNITS[word]
        elif word in _TENS:
            total += _TENS[word]
        else:
            return None
        seen = True
    return total if seen else None


# A sentence that opens with a numeral ("... 60 to sequence BA. 17 participants did not complete ..."): a full stop
# after a word, a bracket or a year ("... between July 2011 and October 2014. 80 out of 88 patients were evaluated"),
# then a count and a lower-case word. Not after an abbreviation ("Fig. 2 shows").
_NUMERAL_START = re.compile(r"(?:(?<=[A-Za-z)\]]\.)|(?<=\b(?:19|20)\d\d\.))\s+(?=\d{1,5}\s+[a-z])")
_ABBREVIATION = re.compile(r"\b(?:Figs?|al|vol|[nN]o|pp?|[rR]ef|eq|vs|approx|ca)\.$")


def _numeral_starts(part: str) -> list[str]:
    """``part`` split where a sentence opens with a numeral (``_NUMERAL_START``, not after an abbreviation)."""
    out, start = [], 0
    for m in _NUMERAL_START.finditer(part):
        if not _ABBREVIATION.search(part, 0, m.start()):
            out.append(part[start:m.start()])
            start = m.end()
    return out + [part[start:]]


def sentences(text: str) -> list[str]:
    """Reading-order page text as sentences: line-break hyphenation undone, lines joined."""
    flat = re.sub(r"-\n(?=[a-z])", "", text).replace("\n", " ")
    parts: list[str] = []
    for part in re.split(r"(?<=[.;])\s+(?=[A-Z(\[]|n\s*=)", norm(flat)):
        if parts and parts[-1].endswith(";") and parts[-1].count("(") > parts[-1].count(")"):
            parts[-1] += " " + part  # "(IPT: n=620; CBT: n=610)": a semicolon inside brackets ends no sentence
        elif parts and _CAPTION_IN_TEXT.match(parts[-1]) and len(NUMBERS.findall(part)) >= 8:
            # "Table 1 Baseline characteristics (mean ± SD)." / its rows: one table's text (``is_table_text``)
            parts[-1] += " " + part
        else:
            parts.append(part)
    return [s for part in parts for s in _numeral_starts(part) if s.strip()]


# A sentence that starts by naming a table ("Table 1 describes the households at endline"), not its caption.
TABLE_VERB = re.compile(r"(?:describe|show|give|present|list|summari[sz]e|report|display|provide|contain|compare|"
                        r"detail)s", re.IGNORECASE)
# A table's number in its caption: "1", "12", "IV"
TABLE_NUMBER = r"(?:\d{1,2}|[IVX]{1,4})"
# "Table 2 Outcomes by group; ..." or "TABLE 1. Baseline ...": a caption, not "in Table 2" or "(Table 2)"
_CAPTION_IN_TEXT = re.compile(r"(?<![(\[])(?<!\bin )(?<!\bsee )(?<!\bof )(?<!\bto )(?<!\band )\b(?:Table|TABLE)\s+"
                              rf"{TABLE_NUMBER}[.:|]?\s+(?P<next>[A-Z][A-Za-z-]*)")
NUMBERS = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")


def is_table_text(sentence: str) -> bool:
    """Whether a "sentence" is a table's text run into the page's prose: a caption (not "Table 1 shows ...")
    followed by a table's numbers (eight or more). Its "(n = 54)" are column headers, read by the table reader
    with the caption's population ("completers", "randomised"), never as a sentence's counts: read as one, a
    completers table's header gave an arm's randomised n."""
    m = _CAPTION_IN_TEXT.search(sentence)
    if m is None or TABLE_VERB.fullmatch(m.group("next")):
        return False
    return len(NUMBERS.findall(sentence[m.end():])) >= 8


def strip_marks(text: str) -> str:
    """A label without footnote marks and doubled spaces: "Uric acid,‡ µmol/L" → "Uric acid, µmol/L"."""
    text = re.sub(rf"[{FOOTNOTE_MARKS}]+", "", text)
    return re.sub(r"\s+", " ", text).strip(" ,;:")


_NAME_STOP = {"the", "a", "an", "either", "or", "and", "to", "into", "group", "groups", "arm", "arms",
              "condition", "of", "in", "for", "with", "treatment", "were", "was", "randomized", "randomised",
              "assigned", "allocated", "patients", "participants"}
ALIASES = {  # words that name the same kind of arm in different places of one paper
    "control": ("control", "waitlist", "wait-list", "wl", "usual care", "placebo", "tau", "cg"),
    "intervention": ("intervention", "experimental", "treatment", "ig", "active"),
}


def name_key(name: str) -> str:
    """Comparable form of an arm name: lower case, no punctuation or filler words, no hyphens within a word
    (a line-break "self-" / "help" is joined as "selfhelp" in sentences and kept as "self-help" in a table)."""
    words = [w.replace("-", "") for w in re.findall(r"[a-z0-9][a-z0-9\-+/]*", name.lower()) if w not in _NAME_STOP]
    return " ".join(w for w in words if w)


_ADD_ON = re.compile(r"\+|\bplus\b|\bcombined\b|&", re.IGNORECASE)


def _adds(name: str) -> bool:
    """Whether an arm's name joins two treatments: "+", "plus", "combined", "&", or "and" between words that both
    name something ("exercise and manual therapy" is "General Exercise & Manual therapy")."""
    if _ADD_ON.search(name):
        return True
    parts = re.split(r"(?i)\s+and\s+", name.strip(), maxsplit=1)
    return len(parts) == 2 and all(name_key(part) for part in parts)


def same_arm(a: str, b: str) -> bool:
    """Whether two printed arm names denote the same arm (equal, or one contains the other word-wise)."""
    ka, kb = name_key(a), name_key(b)
    if not ka or not kb:  # "Treatment arm": only filler words, so only the very name denotes it (with or without
        # its "group" or "arm": "Treatment" in a table's row is the "Treatment group")
        def bare(name: str) -> str:
            return re.sub(r"\s+(?:group|arm)$", "", " ".join(name.lower().split()))
        return not ka and not kb and bool(a.strip()) and bare(a) == bare(b)
    if ka == kb:
        return True
    if _adds(a) != _adds(b):
        return False  # "NMES + Ex" and "Ex": an add-on arm and the arm it adds to are two arms
    wa, wb = set(ka.split()), set(kb.split())
    return wa <= wb or wb <= wa or _initials_of(a, b) or _initials_of(b, a)


def arm_kind(name: str) -> str | None:
    """"control" or "intervention" where an arm's name says which kind it is by a word of ``ALIASES`` (a control
    word first: "active control"); an arm that adds something else to the control ("CBT + TAU", "usual care plus
    exercise") is the intervention, not "placebo + usual care"."""
    def has(kind: str, text: str) -> bool:
        words = name_key(text).split()
        key = " ".join(words)
        return any(w in words or w == key or (" " in w and f" {w} " in f" {key} ") for w in ALIASES[kind])
    if has("control", name):
        parts = [p for p in _ADD_ON.split(name) if name_key(p)]
        return "intervention" if len(parts) > 1 and not all(has("control", p) for p in parts) else "control"
    return "intervention" if has("intervention", name) else None


def add_on_of(name: str, base: str) -> bool:
    """Whether arm ``name`` is arm ``base`` with something added: "HAART+IMOD" to "HAART"."""
    return bool(_ADD_ON.search(name)) and not _ADD_ON.search(base) and bool(name_key(base)) and \
        set(name_key(base).split()) < set(re.split(r"[\s+]+", name_key(name).replace("+", " + ")))


_ACRONYM = re.compile(r"[A-Z]{2,5}")


def _initials_of(acronym: str, name: str) -> bool:
    """Whether ``acronym`` spells the initials of ``name``'s words: "IG" the intervention group, "PG" the placebo
    group, "TAU" treatment as usual, "MICT" moderate-intensity continuous training."""
    short = acronym.strip(" .,;:*†‡()")
    words = re.findall(r"[A-Za-z]+", name)
    if not _ACRONYM.fullmatch(short) or not words:
        return False
    initials = "".join(w[0] for w in words).upper()
    return (short == initials and len(words) >= 2) or \
        (short == initials + "G" and words[-1].lower() not in ("group", "arm"))  # "PG": the placebo group


# A short form defined in brackets after its long form: "(AT+EX)", "(TAU)", "(iCBT)"; two to ten characters, a
# capital among them, no spaces.
_SHORT_FORM = re.compile(r"\(\s*([A-Za-z0-9][A-Za-z0-9+\-/&]{1,9})\s*\)")


def _long_form(short: str, before: str) -> str | None:
    """The long form ``short`` abbreviates at the end of ``before``: each letter or digit of the short form, right
    to left, found in order in the words before the bracket, its first character opening a word (the rule of
    Schwartz & Hearst, "A simple algorithm for identifying abbreviation definitions in biomedical text", 2003)."""
    words = before.split()[-min(len(short) + 5, 2 * len(short)):]
    text = " ".join(words)
    chars = [c.lower() for c in short if c.isalnum()]
    if len(chars) < 2 or not any(c.isupper() for c in short):  # "(iv)", "(control)" define nothing
        return None
    i = len(text) - 1
    for k in range(len(chars) - 1, -1, -1):
        while i >= 0 and (text[i].lower() != chars[k] or (k == 0 and i > 0 and text[i - 1].isalnum())):
            i -= 1
        if i < 0:
            return None
        i -= 1
    long = text[text.rfind(" ", 0, i + 1) + 1:].strip(" ,;:(")
    if len(long) <= len(short) or short.lower() in long.lower().split():
        return None
    return long


def abbreviations(text: str) -> dict[str, str]:
    """The short forms a paper defines and their long forms ("participants were randomised to receive active
    tDCS+exercise (AT+EX)" gives {"AT+EX": "active tDCS + exercise"}). A short form defined twice with different
    long forms is left out. A "+" is spaced in the long form, as tables print it ("Active tDCS + Exercise")."""
    found: dict[str, list[str]] = {}  # each short form's long forms, first defined first
    for m in _SHORT_FORM.finditer(text):
        long = _long_form(m.group(1), text[max(0, m.start() - 200):m.start()])
        if long:
            found.setdefault(m.group(1), []).append(" ".join(re.sub(r"\s*\+\s*", " + ", long).split()))
    return {short: longs[0] for short, longs in found.items()  # "plus" and "+" are one long form
            if len({name_key(re.sub(r"(?i)\bplus\b", "+", x)) for x in longs}) == 1}


def spelled_out(name: str, defined: dict[str, str]) -> str:
    """``name`` with a short form the paper defines spelled out ("AT+EX group" → "active tDCS + exercise group");
    ``name`` itself when it is no defined short form (or the short form and a group word)."""
    m = re.fullmatch(r"(?i:the\s+)?(\S+)(\s+(?i:group|arm|condition))?", name.strip())
    long = defined.get(m.group(1)) if m else None
    return f"{long}{m.group(2) or ''}" if long else name
