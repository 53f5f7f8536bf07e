"""Feature extractors for the rankers: text -> matrix, chosen by name from ``FEATURES``.

An extractor is fitted on the whole corpus being screened (unsupervised, as ASReview does: every title and
abstract is known before screening starts), then turns any texts into rows. ``tfidf`` is built in;
``embedding`` wraps a callable the user supplies (``texts -> matrix``); nothing is ever downloaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

Matrix = Any  # a numpy array or a scipy sparse matrix, one row per text


def record_text(title: object, abstract: object) -> str:
    """One text per record for the rankers: title and abstract joined (either may be missing)."""
    parts = [str(p).strip() for p in (title, abstract)
             if p is not None and not (isinstance(p, float) and np.isnan(p)) and str(p).strip()]
    return ". ".join(parts)


class TfidfFeatures:
    """TF-IDF over word 1-2-grams with sublinear tf and English stop words, rows L2-normalised."""

    name = "tfidf"

    def __init__(self, ngram_max: int = 2, min_df: int = 2, max_df: float = 0.95,
                 stop_words: str | None = "english") -> None:
        self.ngram_max, self.min_df, self.max_df, self.stop_words = ngram_max, min_df, max_df, stop_words

    def fit(self, corpus: Sequence[str]) -> TfidfFeatures:
        """Learn the vocabulary and idf from ``corpus`` (min_df applies only from 20 documents on)."""
        corpus = list(corpus)
        small = len(corpus) < 20
        self.vectorizer_ = TfidfVectorizer(
            ngram_range=(1, self.ngram_max), sublinear_tf=True, stop_words=self.stop_words,
            min_df=1 if small else self.min_df, max_df=1.0 if small else self.max_df,
            dtype=np.float32, token_pattern=r"(?u)\b\w\w+\b")
        try:
            matrix = self.vectorizer_.fit_transform(corpus)
        except ValueError:  # every text empty or stop words only: keep a one-term vocabulary
            self.vectorizer_ = TfidfVectorizer(token_pattern=r"\S+", dtype=np.float32)
            self.vectorizer_.fit([*corpus, "<empty>"])
            matrix = self.vectorizer_.transform(corpus)
        self._corpus = (corpus, _sorted(matrix))  # transform(corpus) right after fit costs nothing
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Rows of L2-normalised TF-IDF weights."""
        if not hasattr(self, "vectorizer_"):
            raise NotFittedError("these tfidf features are not fitted yet: call fit(corpus) first")
        texts = list(texts)
        if texts == self._corpus[0]:
            return self._corpus[1].copy()
        return _sorted(self.vectorizer_.transform(texts))


def _sorted(matrix: sp.spmatrix) -> sp.csr_matrix:
    """CSR with each row's column indices sorted. The vectoriser leaves them unsorted, and every fit of a
    liblinear model (the svm and logistic rankers) sorted its training rows again: ~40 % of a refit's CPU
    in a simulation, where the ranker is refitted after every record. Rows taken from a sorted matrix stay
    sorted. The values are the same; a dot product may differ in the last bits (summation order)."""
    csr = matrix.tocsr()
    csr.sort_indices()
    return csr


class EmbeddingFeatures:
    """Rows from a user-supplied encoder ``texts -> matrix`` (e.g. a local sentence-embedding model).

    metasift ships no embedding model and downloads none: pass ``encoder=`` yourself. Rows are
    L2-normalised so that dot products are cosine similarities.
    """

    name = "embedding"

    def __init__(self, encoder: Callable[[list[str]], Matrix] | None = None) -> None:
        self.encoder = encoder

    def fit(self, corpus: Sequence[str]) -> EmbeddingFeatures:
        """Nothing to learn; checks that an encoder was given."""
        if self.encoder is None:
            raise ValueError("the 'embedding' features need an encoder: pass feature_params={'encoder': f} "
                             "where f(texts) returns one vector per text (no model is downloaded)")
        self.fitted_ = True
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """The encoder's vectors, L2-normalised."""
        if not getattr(self, "fitted_", False):
            raise NotFittedError("these embedding features are not fitted yet: call fit(corpus) first")
        texts = list(texts)
        matrix = np.asarray(self.encoder(texts), dtype=np.float64)  # type: ignore[misc]
        if matrix.ndim != 2 or matrix.shape[0] != len(texts):
            raise ValueError(f"the encoder returned shape {matrix.shape} for {len(texts)} texts; "
                             "it must return one row per text")
        return normalize(matrix)


FEATURES: dict[str, type] = {TfidfFeatures.name: TfidfFeatures, EmbeddingFeatures.name: EmbeddingFeatures}


def get_features(name: str, **params: Any) -> TfidfFeatures | EmbeddingFeatures:
    """A new, unfitted feature extractor by registry name."""
    try:
        cls = FEATURES[name]
    except KeyError:
        raise ValueError(f"unknown features {name!r}; choose one of {sorted(FEATURES)}") from None
    return cls(**params)


def cosine_to(matrix: Matrix, vector: Matrix) -> np.ndarray:
    """Cosine similarity of every (L2-normalised) row of ``matrix`` to one vector (normalised here)."""
    v = vector.toarray().ravel() if sp.issparse(vector) else np.asarray(vector, dtype=np.float64).ravel()
    norm = float(np.linalg.norm(v))
    if norm == 0.0:
        return np.zeros(matrix.shape[0])
    sims = matrix @ (v / norm)
    return np.asarray(sims, dtype=np.float64).ravel()
