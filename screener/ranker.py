"""Active-learning rankers: order title/abstract records so humans read likely includes first.

scikit-learn manners: params-only ``__init__``, ``fit(texts, labels) -> self``, ``predict_proba(texts)``
(P(include), 1-D), ``rank(texts)`` (indices, most likely include first), learned state in attributes ending
in ``_``, ``get_params()``. Pick one by config id from ``RANKERS`` / ``get_ranker(name, **params)``.
``score_vectors`` gives the scores that order records (the SVM's margins; P(include) for the others);
``predict_proba_vectors`` gives probabilities, and ``gives_probabilities()`` says whether they are
trustworthy enough for the routing policy.

Features are fitted on the whole corpus once (``prepare(corpus)``, as ASReview does) and the classifier on
the labelled rows; the ``*_vectors`` methods let a loop (the simulation, the screen command) reuse the
matrix. Before both classes are labelled a classifier cannot be trained: the ranker then falls back to a
prior ordering (similarity to the included records seen, else to ``prior_text`` — e.g. the protocol's
question and criteria — else seeded random) and sets ``is_prior_ = True``: those scores order records but
are not probabilities, so routing must not use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import MultinomialNB
from sklearn.svm import LinearSVC

from metasift.screener._features import Matrix, cosine_to, get_features
from metasift.screener.platt import fit_platt, platt_proba

_NOT_FITTED = "this {} is not fitted yet: call fit(texts, labels) first"


class Ranker(BaseEstimator):
    """Base class: features + a binary classifier, with the one-class prior fallback."""

    name = ""
    label = ""
    tfidf_defaults: dict[str, Any] = {}  # this model's tf-idf settings, under any the caller passes

    def __init__(self, features: str = "tfidf", feature_params: dict[str, Any] | None = None,
                 prior_text: str | None = None, seed: int = 0) -> None:
        self.features, self.feature_params = features, feature_params
        self.prior_text, self.seed = prior_text, seed

    # -- subclasses -----------------------------------------------------------------------------
    def _make_model(self) -> Any:
        raise NotImplementedError

    def _fit_model(self, model: Any, X: Matrix, y: np.ndarray) -> None:
        model.fit(X, y)

    # -- features -------------------------------------------------------------------------------
    def prepare(self, corpus: Sequence[str]) -> Ranker:
        """Fit the feature extractor on every text that will be ranked (labelled or not)."""
        params = {**(self.tfidf_defaults if self.features == "tfidf" else {}), **(self.feature_params or {})}
        self.features_ = get_features(self.features, **params).fit(corpus)
        self.prior_vector_ = self.features_.transform([self.prior_text]) if self.prior_text else None
        return self

    def vectorize(self, texts: Sequence[str]) -> Matrix:
        """Feature rows for ``texts`` (call ``prepare`` or ``fit`` first)."""
        if not hasattr(self, "features_"):
            raise NotFittedError(_NOT_FITTED.format(type(self).__name__))
        return self.features_.transform(texts)

    # -- fit / predict --------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> Ranker:
        """Train on labelled texts (1 = include, 0 = exclude); fits the features too if not prepared."""
        texts = list(texts)
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        if not hasattr(self, "features_"):
            self.prepare(texts)
        return self.fit_vectors(self.vectorize(texts), labels)

    def fit_vectors(self, X: Matrix, labels: Sequence[int]) -> Ranker:
        """Train on feature rows; with only one class present, switch to the prior ordering."""
        y = np.asarray(labels, dtype=int).ravel()
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"{X.shape[0]} rows but {y.shape[0]} labels")
        if not set(np.unique(y)) <= {0, 1}:
            raise ValueError("labels must be 0 (exclude) or 1 (include)")
        self.n_train_, self.n_included_ = int(y.size), int(y.sum())
        if 0 < self.n_included_ < self.n_train_:
            model = self._make_model()
            self._fit_model(model, X, y)
            self.model_, self.is_prior_, self.include_centroid_ = model, False, None
        else:
            self.model_, self.is_prior_ = None, True
            self.include_centroid_ = _mean_row(X[y == 1]) if self.n_included_ else None
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(include) per text, 1-D (prior scores while ``is_prior_``)."""
        self._check_fitted()
        return self.predict_proba_vectors(self.vectorize(texts))

    def predict_proba_vectors(self, X: Matrix) -> np.ndarray:
        """P(include) per feature row, 1-D (prior scores while ``is_prior_``)."""
        self._check_fitted()
        if not self.is_prior_:
            return np.asarray(self.model_.predict_proba(X)[:, 1], dtype=np.float64)
        return self._prior_scores(X)

    def score_vectors(self, X: Matrix) -> np.ndarray:
        """Scores that order feature rows, higher = more likely include (here P(include))."""
        return self.predict_proba_vectors(X)

    def gives_probabilities(self) -> bool:
        """Whether ``predict_proba`` is a P(include) the routing policy may use (fitted, both classes)."""
        self._check_fitted()
        return not self.is_prior_

    def describe_params(self) -> dict[str, Any]:
        """``get_params()`` made JSON-safe for the store: callables (an encoder) become their names."""
        def clean(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if callable(value):
                return f"<{getattr(value, '__qualname__', type(value).__name__)}>"
            return value

        return clean(self.get_params())

    def rank(self, texts: Sequence[str]) -> np.ndarray:
        """Indices of ``texts``, most likely include first (ties keep input order)."""
        self._check_fitted()
        return order_by_score(self.score_vectors(self.vectorize(texts)))

    def _check_fitted(self) -> None:
        if not hasattr(self, "is_prior_"):
            raise NotFittedError(_NOT_FITTED.format(type(self).__name__))

    def _prior_scores(self, X: Matrix) -> np.ndarray:
        """Ordering before both classes are known: similarity to includes, else to prior_text, else random."""
        rng = np.random.default_rng(self.seed + self.n_train_)
        jitter = rng.random(X.shape[0]) * 1e-6  # random tie-break (and the whole order when nothing is known)
        target = self.include_centroid_ if self.include_centroid_ is not None else self.prior_vector_
        if target is None:
            return rng.random(X.shape[0])
        sims = cosine_to(X, target)
        return np.clip((sims + 1.0) / 2.0 * (1 - 1e-5) + jitter, 0.0, 1.0)


class LogisticRanker(Ranker):
    """TF-IDF (English stop words dropped, min_df 2) + logistic regression with balanced class weights."""

    name = "logistic"
    label = "TF-IDF + logistic regression"

    def __init__(self, features: str = "tfidf", feature_params: dict[str, Any] | None = None,
                 prior_text: str | None = None, seed: int = 0, C: float = 10.0) -> None:
        super().__init__(features, feature_params, prior_text, seed)
        self.C = C

    def _make_model(self) -> LogisticRegression:
        # the dual liblinear problem is ~20x faster here: far more features (n-grams) than labelled records
        return LogisticRegression(C=self.C, class_weight="balanced", solver="liblinear", dual=True,
                                  max_iter=1000, random_state=self.seed)


class NaiveBayesRanker(Ranker):
    """TF-IDF + multinomial naive Bayes (ASReview's default, alpha 3.822), classes weighted to balance."""

    name = "naive_bayes"
    label = "TF-IDF + naive Bayes"

    def __init__(self, features: str = "tfidf", feature_params: dict[str, Any] | None = None,
                 prior_text: str | None = None, seed: int = 0, alpha: float = 3.822) -> None:
        super().__init__(features, feature_params, prior_text, seed)
        self.alpha = alpha

    def _make_model(self) -> MultinomialNB:
        return MultinomialNB(alpha=self.alpha)

    def _fit_model(self, model: Any, X: Matrix, y: np.ndarray) -> None:
        values = X.data if sp.issparse(X) else np.asarray(X)
        if values.size and values.min() < 0:
            raise ValueError("naive Bayes needs non-negative features (e.g. tfidf); "
                             "use the 'logistic' ranker with embedding features")
        n, n_pos = y.size, int(y.sum())
        # balanced weights n / (2 n_class), as scikit-learn's class_weight="balanced"
        weights = np.where(y == 1, n / (2.0 * n_pos), n / (2.0 * (n - n_pos)))
        model.fit(X, y, sample_weight=weights)


class SVMRanker(Ranker):
    """ASReview LAB 2's default model (ELAS u4) rebuilt: linear SVM on tf-idf, includes weighted up.

    Settings as in ``asreview.models.models`` (elas_u4, tuned by ASReview on the SYNERGY datasets): squared
    hinge loss, C 0.11; an exclude weighs ``n_includes / (include_ratio * n_excludes)`` of an include (all
    weights rescaled to mean 1), so the includes together outweigh the excludes ``include_ratio`` times; tf-idf
    over 1-2-grams with sublinear tf, no stop-word list, every term kept (min_df 1).

    One change: until ``early_includes`` includes are known (by default: while the single prior include is
    the only one), the includes weigh ``early_ratio`` (30) times the excludes, which pulls the first queries
    closer to that include; from then on the model is exactly ELAS u4. ``early_ratio=None`` gives pure
    ELAS u4, whose simulated screening order is ASReview's own, record for record.

    Records are ordered by the SVM's margin. ``predict_proba`` is the margin through Platt's sigmoid, fitted
    on cross-validated margins of the labelled records (``screener.platt``; at least two of each class, else
    the plain logistic of the margin, which ``gives_probabilities()`` then disowns). The sigmoid never
    changes the order.
    """

    name = "svm"
    label = "TF-IDF + linear SVM (ASReview ELAS u4 settings)"
    tfidf_defaults = {"stop_words": None, "min_df": 1}

    def __init__(self, features: str = "tfidf", feature_params: dict[str, Any] | None = None,
                 prior_text: str | None = None, seed: int = 0, C: float = 0.11, include_ratio: float = 9.8,
                 early_ratio: float | None = 30.0, early_includes: int = 2) -> None:
        super().__init__(features, feature_params, prior_text, seed)
        self.C, self.include_ratio = C, include_ratio
        self.early_ratio, self.early_includes = early_ratio, early_includes

    def _make_model(self) -> LinearSVC:
        return LinearSVC(C=self.C, loss="squared_hinge", random_state=self.seed)

    def _weights(self, y: np.ndarray) -> np.ndarray:
        early = self.early_ratio is not None and int(y.sum()) < self.early_includes
        return ratio_weights(y, self.early_ratio if early else self.include_ratio)

    def _fit_model(self, model: Any, X: Matrix, y: np.ndarray) -> None:
        model.fit(X, y, sample_weight=self._weights(y))
        self.training_, self.platt_ = (X, y), None  # the sigmoid is fitted on first use (see _sigmoid)

    def score_vectors(self, X: Matrix) -> np.ndarray:
        """The SVM's margin per row (prior scores while ``is_prior_``)."""
        self._check_fitted()
        if self.is_prior_:
            return self._prior_scores(X)
        return np.asarray(self.model_.decision_function(X), dtype=np.float64)

    def predict_proba_vectors(self, X: Matrix) -> np.ndarray:
        """P(include) per row: the margin through Platt's sigmoid (prior scores while ``is_prior_``)."""
        self._check_fitted()
        if self.is_prior_:
            return self._prior_scores(X)
        a, b = self._sigmoid()
        return platt_proba(self.score_vectors(X), a, b)

    def gives_probabilities(self) -> bool:
        self._check_fitted()
        return not self.is_prior_ and min(self.n_included_, self.n_train_ - self.n_included_) >= 2

    def _sigmoid(self) -> tuple[float, float]:
        """Platt's (A, B) from cross-validated margins; (-1, 0), the plain logistic, with too few labels."""
        if not self.gives_probabilities():
            return -1.0, 0.0
        if self.platt_ is None:
            X, y = self.training_
            folds = StratifiedKFold(min(5, self.n_included_, self.n_train_ - self.n_included_), shuffle=True,
                                    random_state=self.seed)
            margins = np.empty(y.size)
            for train, test in folds.split(np.zeros(y.size), y):
                model = self._make_model()
                model.fit(X[train], y[train], sample_weight=self._weights(y[train]))
                margins[test] = model.decision_function(X[test])
            self.platt_, self.cv_margins_ = fit_platt(margins, y), margins
        return self.platt_

    def out_of_fold_proba(self) -> np.ndarray | None:
        """P(include) of each training row from the fold model that did not see it (the margins Platt's
        sigmoid is fitted on, through that sigmoid); None while ``gives_probabilities()`` is False."""
        if not self.gives_probabilities():
            return None
        a, b = self._sigmoid()
        return platt_proba(self.cv_margins_, a, b)


def out_of_fold_proba(model: Ranker, X: Matrix, labels: Sequence[int], folds: int = 5) -> np.ndarray | None:
    """P(include) of each labelled row from a copy of ``model`` trained without it (stratified folds, seeded).

    A ranker scores the records it was trained on too well; a threshold checked on such scores (calibration)
    is checked on an optimistic sample. ``model`` is fitted here on all rows first; None when it cannot give
    probabilities (too few of a class)."""
    from sklearn.base import clone

    y = np.asarray(labels, dtype=int)
    model.fit_vectors(X, y)
    if not model.gives_probabilities():
        return None
    if isinstance(model, SVMRanker):  # Platt's sigmoid was fitted on exactly such margins: reuse them
        return model.out_of_fold_proba()
    k = min(folds, int(y.sum()), int((y == 0).sum()))
    out = np.empty(y.size)
    for train, test in StratifiedKFold(k, shuffle=True, random_state=model.seed).split(np.zeros(y.size), y):
        out[test] = clone(model).fit_vectors(X[train], y[train]).predict_proba_vectors(X[test])
    return out


def ratio_weights(y: np.ndarray, include_ratio: float) -> np.ndarray:
    """Sample weights making all includes weigh ``include_ratio`` times all excludes, mean weight 1."""
    # asreview.models.balancers.Balanced (ASReview 2+): exclude weight n1 / (ratio * n0), include weight 1
    n_pos, n_neg = int(y.sum()), int((y == 0).sum())
    weights = np.where(y == 1, 1.0, n_pos / (include_ratio * n_neg))
    return weights * (y.size / weights.sum())


def _mean_row(X: Matrix) -> np.ndarray:
    return np.asarray(X.mean(axis=0)).ravel()


def order_by_score(scores: np.ndarray) -> np.ndarray:
    """Indices sorted by descending score; ties keep their input order."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


RANKERS: dict[str, type[Ranker]] = {cls.name: cls for cls in (LogisticRanker, NaiveBayesRanker, SVMRanker)}
DEFAULT_RANKER = SVMRanker.name


def get_ranker(name: str = DEFAULT_RANKER, **params: Any) -> Ranker:
    """A new, unfitted ranker by config id (see ``RANKERS``); ``params`` go to its ``__init__``."""
    try:
        cls = RANKERS[name]
    except KeyError:
        raise ValueError(f"unknown ranker {name!r}; choose one of {', '.join(sorted(RANKERS))}") from None
    return cls(**params)
