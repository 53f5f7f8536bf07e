"""Text from records and PDFs goes into prompts as data: it must not be able to end its data block or the turn.

``visible_text`` makes text what a model reads (NFKC, so full-width "＜／ｒｅｃｏｒｄ＞" is "</record>";
zero-width and other invisible characters removed, so "</rec\u200bord>" is too). ``delimiter_guard(tag)``
then replaces the brackets of the tag's look-alikes (any spelling, closed or not, HTML entities too) and of
chat-template tokens ("<|im_end|>", "<s>", "[INST]"...) with ‹ › ⟦ ⟧; everything else stays ("p < 0.05").
The screening prompt guards ``<record>``, the extraction prompt ``<page>``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

# Invisible characters that are not of category Cf (format): the combining grapheme joiner, Hangul fillers,
# variation selectors. With the Cf ones (zero-width space/joiners, word joiner, BOM, soft hyphen, bidi
# controls, tag characters) they can hide a word such as "record" from a pattern while a model still reads it.
_INVISIBLE_EXTRA = frozenset("\u034f\u115f\u1160\u180b\u180c\u180d\u180f\u3164\uffa0")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")

_OPEN = r"(?:<|&lt;|&#0*60;|&#x0*3c;)"
_CLOSE = r"(?:>|&gt;|&#0*62;|&#x0*3e;)"
_SPECIAL_WORDS = ("s", "bos", "eos", "pad", "unk", "start_of_turn", "end_of_turn", "think", "tool_call",
                  "tool_response", "system", "user", "assistant")
_SQUARE_WORDS = ("INST", "SYSTEM_PROMPT", "AVAILABLE_TOOLS", "TOOL_CALLS", "TOOL_RESULTS", "TOOL_CONTENT")
_TOKENS = (
    # chat-template tokens: "<|im_end|>", "<|eot_id|>", "<|endoftext|>"... any "<|...|>"
    rf"{_OPEN}\s*\|[^<>|\n]{{0,64}}\|\s*{_CLOSE}"
    rf"|{_OPEN}{{2}}\s*/?\s*SYS\s*{_CLOSE}{{2}}"  # Llama 2's "<<SYS>>", "<</SYS>>"
    rf"|{_OPEN}\s*/?\s*(?:{'|'.join(_SPECIAL_WORDS)})\s*{_CLOSE}"  # "<s>", "</s>", "<start_of_turn>"...
    rf"|\[\s*/?\s*(?:{'|'.join(_SQUARE_WORDS)})\s*\]")  # "[INST]", "[/INST]", Mistral's "[TOOL_CALLS]"...
_BRACKETS = re.compile(rf"{_OPEN}|{_CLOSE}|\[|\]", re.IGNORECASE)
_OPENER = re.compile(_OPEN, re.IGNORECASE)
_REPLACEMENT = {"<": "\u2039", ">": "\u203a", "[": "\u27e6", "]": "\u27e7"}  # ‹ › ⟦ ⟧


@lru_cache(maxsize=4096)
def _invisible(char: str) -> bool:
    return (unicodedata.category(char) == "Cf" or char in _INVISIBLE_EXTRA or "\ufe00" <= char <= "\ufe0f"
            or "\U000e0100" <= char <= "\U000e01ef")


def _drop_invisible(run: re.Match[str]) -> str:
    return "".join(c for c in run.group(0) if not _invisible(c))


def visible_text(text: str) -> str:
    """``text`` in Unicode NFKC (full-width and other compatibility forms made plain) without invisible
    characters, so what a pattern or a comparison sees is what a model reads. ASCII text is returned as is."""
    if text.isascii():
        return text
    return _NON_ASCII_RUN.sub(_drop_invisible, unicodedata.normalize("NFKC", text))


def delimiter_guard(tag: str) -> Callable[[str], str]:
    """A function that makes text visible and defuses look-alikes of ``<tag>`` / ``</tag>`` (closed or not:
    "</record" alone too) and every chat-template token."""
    pattern = re.compile(rf"{_OPEN}\s*/?\s*{re.escape(tag)}\b(?:[^<>\n]*?{_CLOSE})?|{_TOKENS}", re.IGNORECASE)

    def guard(text: str) -> str:
        return pattern.sub(_defuse, visible_text(text))

    return guard


def _defuse(match: re.Match[str]) -> str:
    """One look-alike with its brackets (or their HTML entities) replaced by harmless ones."""
    return _BRACKETS.sub(_harmless, match.group(0))


def _harmless(bracket: re.Match[str]) -> str:
    """‹ for an opening angle bracket (or ``&lt;``, ``&#60;``), › for a closing one, ⟦ ⟧ for square ones."""
    token = bracket.group(0)
    if token in "[]":
        return _REPLACEMENT[token]
    return _REPLACEMENT["<"] if _OPENER.fullmatch(token) else _REPLACEMENT[">"]
