"""Candidate pairs for fuzzy matching, by blocking on title keys (never all n² pairs).

A pair becomes a candidate when the two titles share one of these keys (content tokens only,
stopwords dropped):

* the whole title, or the main title before a subtitle (catches case/punctuation/entity variants
  and titles whose subtitle one database cut off);
* the first four and the last four tokens of the title, and the last four of its main title (a
  change late or early in the title, also when the subtitle was cut);
* any two of the three rarest tokens in this collection of the title or of its main title (a
  changed word anywhere);
* for titles of two to four tokens, any one of them (these short titles only block with each other).

Blocks larger than ``max_block`` (generic titles such as "Reply") are compared only within a
window of neighbours in title order, so the work stays near-linear.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import repeat

import numpy as np

EDGE_TOKENS = 4
RARE_TOKENS = 3


def title_keys(tokens: list[str], main_tokens: list[str], rank: dict[str, int] | None = None) -> set[tuple]:
    """The blocking keys of one title's content tokens (and its main title's, if it has a subtitle).

    ``rank`` orders tokens from rarest to commonest in the collection (for the rare-pair keys).
    """
    if not tokens:
        return set()
    keys: set[tuple] = {("t", *tokens)}
    if 2 <= len(tokens) <= EDGE_TOKENS:  # short titles: any shared word ("Qualty of life", "Quality of life")
        keys.update(("w", t) for t in tokens)
    if len(tokens) > EDGE_TOKENS:
        keys.add(("p", *tokens[:EDGE_TOKENS]))
        keys.add(("s", *tokens[-EDGE_TOKENS:]))
    if main_tokens:
        if len(main_tokens) >= 2:
            keys.add(("t", *main_tokens))
        if len(main_tokens) > EDGE_TOKENS:  # a cut subtitle and a changed word early in the title
            keys.add(("s", *main_tokens[-EDGE_TOKENS:]))
    if rank is not None:
        _add_rare_pairs(keys, tokens, rank)
        if main_tokens:
            _add_rare_pairs(keys, main_tokens, rank)
    return keys


def _add_rare_pairs(keys: set[tuple], tokens: list[str], rank: dict[str, int]) -> None:
    """Keys for each pair among the title's rarest tokens (a changed word leaves one pair intact)."""
    if len(tokens) < 3:
        return
    rare = sorted(sorted(set(tokens), key=rank.__getitem__)[:RARE_TOKENS])
    if len(rare) == 3:
        keys.update((("r", rare[0], rare[1]), ("r", rare[0], rare[2]), ("r", rare[1], rare[2])))
    elif len(rare) == 2:
        keys.add(("r", rare[0], rare[1]))


def token_ranks(tokens: Sequence[list[str]]) -> dict[str, int]:
    """Rank of every token by document frequency (rarest first, ties alphabetical)."""
    df: Counter[str] = Counter()
    for toks in tokens:
        df.update(set(toks))
    return {t: k for k, t in enumerate(sorted(df, key=lambda t: (df[t], t)))}


def candidate_pairs(tokens: Sequence[list[str]], main_tokens: Sequence[list[str]], full: Sequence[str], *,
                    max_block: int = 200, window: int = 25) -> np.ndarray:
    """Unique candidate pairs (i < j) as an (m, 2) int64 array, from the titles' content tokens.

    Keys are grouped as 64-bit hashes with numpy (a rare hash collision only adds a candidate the
    scorer then rejects). ``full`` (the normalised titles) orders the members of oversized blocks.
    """
    n = len(tokens)
    rank = token_ranks(tokens)
    hashes: list[int] = []
    owners: list[int] = []
    for i in range(n):
        keys = title_keys(tokens[i], main_tokens[i], rank)
        hashes.extend(map(hash, keys))
        owners.extend(repeat(i, len(keys)))
    if not hashes:
        return np.empty((0, 2), dtype=np.int64)
    key = np.fromiter(hashes, dtype=np.int64, count=len(hashes))
    owner = np.fromiter(owners, dtype=np.int64, count=len(owners))
    order = np.lexsort((owner, key))
    key, owner = key[order], owner[order]
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    sizes = np.diff(np.append(starts, len(key)))
    chunks: list[np.ndarray] = []
    for size in np.unique(sizes[(sizes >= 2) & (sizes <= max_block)]).tolist():
        first = starts[sizes == size]
        matrix = owner[first[:, None] + np.arange(size)]
        iu, ju = np.triu_indices(size, 1)
        chunks.append(np.stack([matrix[:, iu].ravel(), matrix[:, ju].ravel()], axis=1))
    for first, size in zip(starts[sizes > max_block].tolist(), sizes[sizes > max_block].tolist()):
        members = sorted(owner[first:first + size].tolist(), key=lambda i: (full[i], i))
        chunks.append(_window_pairs(members, window))
    if not chunks:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.concatenate(chunks)
    lo, hi = np.minimum(pairs[:, 0], pairs[:, 1]), np.maximum(pairs[:, 0], pairs[:, 1])
    codes = np.sort(lo * n + hi)  # sort + neighbour test: faster than np.unique's hashing here
    codes = codes[np.concatenate(([True], codes[1:] != codes[:-1]))]
    return np.stack([codes // n, codes % n], axis=1)


def _window_pairs(ordered: list[int], window: int) -> np.ndarray:
    """Pairs of each member with its next ``window`` neighbours in the given order."""
    arr = np.asarray(ordered, dtype=np.int64)
    parts = [np.stack([arr[:-k], arr[k:]], axis=1) for k in range(1, min(window, len(arr) - 1) + 1)]
    return np.concatenate(parts) if parts else np.empty((0, 2), dtype=np.int64)
