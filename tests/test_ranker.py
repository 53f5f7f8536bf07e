"""Rankers: the registry contract, learning on a learnable corpus, the one-class prior fallback."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from metasift.screener import _features
from metasift.screener.ranker import DEFAULT_RANKER, RANKERS, Ranker, get_ranker

_INCLUDE_TOPIC = ["mindfulness", "anxiety", "randomised", "adolescents", "intervention", "wellbeing",
                  "stress", "school"]
_EXCLUDE_TOPICS = [
    ["cardiac", "stent", "artery", "infarction", "statin", "angioplasty", "coronary", "troponin"],
    ["tumour", "chemotherapy", "carcinoma", "metastasis", "oncology", "radiotherapy", "biopsy", "lymphoma"],
    ["gene", "mutation", "genome", "sequencing", "allele", "variant", "expression", "protein"],
    ["fracture", "surgery", "orthopaedic", "implant", "hip", "knee", "arthroplasty", "bone"],
]
_FILLER = ["study", "results", "patients", "data", "analysis", "group", "outcome", "method", "effect",
           "sample", "participants", "significant", "baseline", "follow", "measured", "compared", "reported"]


def make_corpus(n: int = 600, n_included: int = 24, seed: int = 0) -> tuple[list[str], list[int]]:
    """A learnable corpus: includes share a topic vocabulary; excludes come from other topics (with noise)."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(n, dtype=int)
    labels[rng.choice(n, n_included, replace=False)] = 1
    texts = []
    for y in labels:
        topic = _INCLUDE_TOPIC if y else _EXCLUDE_TOPICS[rng.integers(len(_EXCLUDE_TOPICS))]
        words = list(rng.choice(topic, 5)) + list(rng.choice(_FILLER, 10))
        if rng.random() < 0.3:  # noise: a word from another topic
            words.append(rng.choice(_INCLUDE_TOPIC if not y else _EXCLUDE_TOPICS[0]))
        rng.shuffle(words)
        texts.append(" ".join(words))
    return texts, labels.tolist()


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[int]]:
    return make_corpus()


@pytest.mark.parametrize("name", sorted(RANKERS))
def test_every_registered_ranker_keeps_the_contract(name: str, corpus: tuple[list[str], list[int]]) -> None:
    texts, labels = corpus
    cls = RANKERS[name]
    assert cls.name == name and cls.label and issubclass(cls, Ranker)
    ranker = get_ranker(name, seed=3)
    params = ranker.get_params()
    assert params["seed"] == 3 and params["features"] == "tfidf"
    assert not [k for k in vars(ranker) if k.endswith("_")]  # __init__ stores params only
    with pytest.raises(NotFittedError, match="call fit"):
        ranker.predict_proba(texts[:3])
    train, test = slice(0, 300), slice(300, None)
    assert ranker.fit(texts[train], labels[train]) is ranker
    learned = [k for k in vars(ranker) if k not in params]
    assert learned and all(k.endswith("_") for k in learned)
    assert ranker.is_prior_ is False
    p = ranker.predict_proba(texts[test])
    assert p.shape == (300,) and np.all((p >= 0) & (p <= 1))
    assert roc_auc_score(labels[test], p) > 0.95  # learns the include topic
    order = ranker.rank(texts[test])
    assert sorted(order.tolist()) == list(range(300))
    held_out = np.asarray(labels[test])
    assert held_out[order[:10]].mean() >= 0.7  # top of the ranking is mostly includes (base rate ~4 %)
    again = get_ranker(name, seed=3).fit(texts[train], labels[train]).predict_proba(texts[test])
    np.testing.assert_array_equal(p, again)


def test_default_and_unknown_ranker() -> None:
    assert DEFAULT_RANKER == "svm" and isinstance(get_ranker(), RANKERS["svm"])
    with pytest.raises(ValueError, match="naive_bayes"):
        get_ranker("svm-of-doom")
    with pytest.raises(ValueError, match="unknown features"):
        get_ranker(features="bert").fit(["a b", "c d"], [0, 1])


def test_one_class_falls_back_to_similarity_with_the_protocol(corpus: tuple[list[str], list[int]]) -> None:
    texts, labels = corpus
    protocol = "Mindfulness interventions for anxiety and stress in school adolescents: randomised trials"
    ranker = get_ranker("logistic", prior_text=protocol).prepare(texts)
    excludes = [i for i, y in enumerate(labels) if y == 0][:5]
    ranker.fit_vectors(ranker.vectorize([texts[i] for i in excludes]), [0] * 5)
    assert ranker.is_prior_ and ranker.model_ is None
    scores = ranker.predict_proba(texts)
    top = np.asarray(labels)[np.argsort(-scores)[:24]]
    assert top.mean() > 0.8  # includes first, from the protocol text alone


def test_one_class_without_protocol_is_seeded_random(corpus: tuple[list[str], list[int]]) -> None:
    texts, labels = corpus
    a = get_ranker(seed=1).fit(texts[:20], [0] * 20).predict_proba(texts)
    b = get_ranker(seed=1).fit(texts[:20], [0] * 20).predict_proba(texts)
    c = get_ranker(seed=2).fit(texts[:20], [0] * 20).predict_proba(texts)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert abs(roc_auc_score(labels, a) - 0.5) < 0.2  # no information, no pretence


def test_only_includes_known_ranks_by_similarity_to_them(corpus: tuple[list[str], list[int]]) -> None:
    texts, labels = corpus
    inc = [i for i, y in enumerate(labels) if y][:3]
    ranker = get_ranker("naive_bayes").prepare(texts)
    ranker.fit_vectors(ranker.vectorize([texts[i] for i in inc]), [1, 1, 1])
    assert ranker.is_prior_
    assert roc_auc_score(labels, ranker.predict_proba(texts)) > 0.9


def _toy_encoder(texts: list[str]) -> np.ndarray:
    """A stand-in for a local embedding model: signed hashing of words into 64 dimensions."""
    out = np.zeros((len(texts), 64))
    for i, t in enumerate(texts):
        for w in t.split():
            h = zlib.crc32(w.encode()) % 128
            out[i, h % 64] += 1 if h < 64 else -1
    return out


def test_embedding_features_take_a_user_encoder(corpus: tuple[list[str], list[int]]) -> None:
    texts, labels = corpus
    ranker = get_ranker("logistic", features="embedding", feature_params={"encoder": _toy_encoder})
    p = ranker.fit(texts[:300], labels[:300]).predict_proba(texts[300:])
    assert roc_auc_score(labels[300:], p) > 0.85
    assert ranker.describe_params()["feature_params"] == {"encoder": "<_toy_encoder>"}
    with pytest.raises(ValueError, match="encoder"):
        get_ranker(features="embedding").fit(texts[:10], labels[:10])
    with pytest.raises(ValueError, match="non-negative"):
        get_ranker("naive_bayes", features="embedding",
                   feature_params={"encoder": _toy_encoder}).fit(texts[:300], labels[:300])


def test_public_surface_resolves() -> None:
    import metasift.screener as screener

    assert sorted(screener.__all__) == sorted(screener._SOURCES)
    assert all(getattr(screener, name) is not None for name in screener.__all__)
    assert screener.get_ranker is get_ranker


def test_record_text_and_tiny_or_empty_corpora() -> None:
    assert _features.record_text("A title", float("nan")) == "A title"
    assert _features.record_text(None, " abstract ") == "abstract"
    assert _features.record_text("T", "A") == "T. A"
    ranker = get_ranker().fit(["", "the and of"], [0, 1])  # nothing but stop words: still fits
    assert ranker.predict_proba(["", "x"]).shape == (2,)


@pytest.mark.shared
def test_learns_a_real_screening_set(shared_dir) -> None:
    from metasift.screener.labelled import read_labelled_csv

    data = read_labelled_csv(shared_dir / "screening" / "cohen_atypical_antipsychotics.csv")
    texts, labels = data.texts, np.asarray(data.labels)
    ranker = get_ranker().fit(texts[:600], labels[:600])
    assert roc_auc_score(labels[600:], ranker.predict_proba(texts[600:])) > 0.75


def test_cli_ranker_names_match_the_registry() -> None:
    """The CLI lists rankers without importing scikit-learn; the list must follow the registry."""
    from metasift.screener.ranker import DEFAULT_RANKER as default
    from metasift.screener.ranker import RANKERS
    from metasift.screener.ranker_names import DEFAULT_RANKER, RANKER_LABELS

    assert RANKER_LABELS == {name: cls.label for name, cls in RANKERS.items()}
    assert DEFAULT_RANKER == default


def test_ratio_weights_make_includes_outweigh_excludes() -> None:
    from metasift.screener.ranker import ratio_weights

    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    w = ratio_weights(y, 9.8)
    assert w.mean() == pytest.approx(1.0)
    assert w[y == 1].sum() == pytest.approx(9.8 * w[y == 0].sum())
    assert np.all(w[y == 1] == w[0]) and np.all(w[y == 0] == w[2])


def test_svm_ranker_uses_asreview_settings_orders_by_margin_and_calibrates_with_platt(
        corpus: tuple[list[str], list[int]]) -> None:
    texts, labels = corpus
    svm = get_ranker("svm").fit(texts[:300], labels[:300])
    assert (svm.C, svm.include_ratio) == (0.11, 9.8)
    vocab = svm.features_.vectorizer_.vocabulary_
    assert svm.features_.stop_words is None and svm.features_.min_df == 1
    kept = get_ranker("svm", feature_params={"min_df": 2}).prepare(texts).features_
    assert kept.min_df == 2 and kept.stop_words is None  # caller's settings override the model's
    assert len(vocab) > len(get_ranker("logistic").prepare(texts[:300]).features_.vectorizer_.vocabulary_)
    X = svm.vectorize(texts[300:])
    margin = svm.model_.decision_function(X)
    np.testing.assert_allclose(svm.score_vectors(X), margin)
    assert list(svm.rank(texts[300:])) == list(np.argsort(-margin, kind="stable"))
    # P(include): Platt's sigmoid of the margin, fitted on 5-fold cross-validated margins; same order
    assert svm.gives_probabilities()
    proba = svm.predict_proba(texts[300:])
    a, b = svm.platt_
    assert a < 0 and np.all((proba > 0) & (proba < 1))
    np.testing.assert_allclose(proba, 1 / (1 + np.exp(a * margin + b)))
    assert list(np.argsort(-proba, kind="stable")) == list(np.argsort(-margin, kind="stable"))
    includes = proba[np.asarray(labels[300:]) == 1]
    assert includes.mean() > 0.3 > proba[np.asarray(labels[300:]) == 0].mean()
    # with one include the sigmoid cannot be fitted: scores still order records, routing is told not to trust them
    one = [i for i, y in enumerate(labels) if y == 1][:1] + [i for i, y in enumerate(labels) if y == 0][:20]
    few = get_ranker("svm").fit([texts[i] for i in one], [labels[i] for i in one])
    assert not few.gives_probabilities() and few.platt_ is None


def test_svm_weighs_includes_30_to_1_only_until_the_second_include(corpus: tuple[list[str], list[int]]) -> None:
    from sklearn.svm import LinearSVC

    from metasift.screener.ranker import ratio_weights

    texts, labels = corpus
    inc = [i for i, y in enumerate(labels) if y == 1]
    exc = [i for i, y in enumerate(labels) if y == 0][:40]
    for n_inc, ratio in ((1, 30.0), (2, 9.8), (5, 9.8)):
        rows = inc[:n_inc] + exc
        svm = get_ranker("svm").fit([texts[i] for i in rows], [labels[i] for i in rows])
        X, y = svm.training_
        manual = LinearSVC(C=0.11, random_state=0).fit(X, y, sample_weight=ratio_weights(y, ratio))
        np.testing.assert_allclose(svm.model_.coef_, manual.coef_)
        pure = get_ranker("svm", early_ratio=None).fit([texts[i] for i in rows], [labels[i] for i in rows])
        assert np.allclose(pure.model_.coef_, svm.model_.coef_) == (ratio == 9.8)

def test_platt_scaling_matches_scikit_learn_and_refuses_one_class() -> None:
    from sklearn.calibration import _sigmoid_calibration  # reference implementation (private, tests only)

    from metasift.screener.platt import fit_platt, platt_proba

    rng = np.random.default_rng(4)
    y = (rng.random(400) < 0.1).astype(int)
    margins = np.where(y == 1, rng.normal(0.4, 0.5, 400), rng.normal(-0.8, 0.4, 400))
    a, b = fit_platt(margins, y)
    ref_a, ref_b = _sigmoid_calibration(margins, y)
    np.testing.assert_allclose([a, b], [ref_a, ref_b], rtol=1e-5, atol=1e-6)
    p = platt_proba(margins, a, b)
    assert abs(p.mean() - y.mean()) < 0.01  # calibrated: mean probability ~ include rate
    with pytest.raises(ValueError, match="both classes"):
        fit_platt(margins, np.zeros(400, dtype=int))
