"""Ranker ids and labels without importing scikit-learn (for CLI help and option checks)."""

DEFAULT_RANKER = "svm"
RANKER_LABELS = {"logistic": "TF-IDF + logistic regression", "naive_bayes": "TF-IDF + naive Bayes",
                 "svm": "TF-IDF + linear SVM (ASReview ELAS u4 settings)"}
