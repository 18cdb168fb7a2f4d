"""A one-minute check of the intent data, for editing it (the full figure is
bench/nlu_quality.py: Rasa's own 5-fold cross-validation, ~30 min).

The same kind of model as bot/config.yml's intent classifier, built with
scikit-learn directly: word and character n-gram counts, the
all-MiniLM-L6-v2 sentence embedding (bot/nlu/minilm.py) weighted by 10,
logistic regression (C = 1), blended with a vote of the 10 nearest training
examples on the embedding and shifted towards out_of_scope (bot/config.yml's
settings; ``--plain`` leaves both out), scored in stratified 5-fold
cross-validation.
Its numbers track Rasa's within ~0.01 (docs/performance.md); use it to
compare two versions of the data, then run the real benchmark.

    .venv-bot/bin/python bench/nlu_intents_quick.py [--errors]

Embeddings are cached in var/cache/minilm-intents.npz (keyed by text).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report, f1_score
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bot"))

from nlu.minilm import MiniLM  # noqa: E402

CACHE = ROOT / "var" / "cache" / "minilm-intents.npz"
DENSE_WEIGHT = 10.0
# LinearIntentClassifier's neighbour vote and out_of_scope shift (bot/config.yml).
NEIGHBOURS = 10
NEIGHBOUR_WEIGHT = 0.35
NEIGHBOUR_TEMPERATURE = 0.02
OUT_OF_SCOPE_BIAS = 0.6


def neighbour_vote(train: np.ndarray, labels: np.ndarray, test: np.ndarray, n: int) -> np.ndarray:
    """Each test row's vote of its NEIGHBOURS nearest training rows (unit vectors)
    over ``n`` classes, as bot/nlu/intent_classifier.py computes it."""
    similarity = test @ train.T
    nearest = np.argpartition(-similarity, NEIGHBOURS - 1, axis=1)[:, :NEIGHBOURS]
    closest = np.take_along_axis(similarity, nearest, axis=1)
    votes = np.exp((closest - closest.max(axis=1, keepdims=True)) / NEIGHBOUR_TEMPERATURE)
    out = np.zeros((len(test), n))
    np.add.at(out, (np.arange(len(test))[:, None], labels[nearest]), votes)
    return np.asarray(out / out.sum(axis=1, keepdims=True))


def examples() -> tuple[list[str], list[str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(ROOT / "training_data" / "nlu"))
    pairs = [(m.get("text"), m.get("intent")) for m in data.intent_examples]
    return [t for t, _ in pairs], [i for _, i in pairs]


def embeddings(texts: list[str]) -> np.ndarray:
    cached: dict[str, np.ndarray] = {}
    if CACHE.exists():
        with np.load(CACHE) as stored:
            cached = dict(zip(stored["texts"].tolist(), stored["vectors"], strict=True))
    missing = sorted({t for t in texts if t not in cached})
    if missing:
        encoder = MiniLM.load()
        for start in range(0, len(missing), 64):
            batch = missing[start : start + 64]
            cached.update(zip(batch, encoder.encode(batch), strict=True))
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(cached)
        np.savez(CACHE, texts=np.array(keys), vectors=np.stack([cached[k] for k in keys]))
    return np.stack([cached[t] for t in texts])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--errors", action="store_true", help="print every misread example")
    parser.add_argument(
        "--plain", action="store_true", help="the logistic regression alone (no vote, no shift)"
    )
    args = parser.parse_args()
    texts, labels = examples()
    unit = embeddings(texts)
    unit = unit / np.linalg.norm(unit, axis=1, keepdims=True)
    dense = unit * DENSE_WEIGHT
    y = np.array(labels)
    predicted = np.empty_like(y)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    for train, test in folds.split(texts, y):
        words = CountVectorizer(lowercase=True, token_pattern=r"(?u)\b\w+\b")
        chars = CountVectorizer(lowercase=True, analyzer="char_wb", ngram_range=(1, 4))
        fit = [texts[i] for i in train]
        held = [texts[i] for i in test]
        x_train = hstack(
            [words.fit_transform(fit), chars.fit_transform(fit), csr_matrix(dense[train])]
        )
        x_test = hstack([words.transform(held), chars.transform(held), csr_matrix(dense[test])])
        clf = LogisticRegression(C=1.0, max_iter=1000, random_state=42)
        clf.fit(x_train.tocsr(), y[train])
        probabilities = clf.predict_proba(x_test.tocsr())
        if not args.plain:
            index = {c: i for i, c in enumerate(clf.classes_)}
            vote = neighbour_vote(
                unit[train],
                np.array([index[c] for c in y[train]]),
                unit[test],
                len(clf.classes_),
            )
            probabilities = (1 - NEIGHBOUR_WEIGHT) * probabilities + NEIGHBOUR_WEIGHT * vote
            if "out_of_scope" in index:
                probabilities[:, index["out_of_scope"]] *= np.exp(OUT_OF_SCOPE_BIAS)
        predicted[test] = clf.classes_[probabilities.argmax(axis=1)]
    report = classification_report(y, predicted, output_dict=True, zero_division=0)
    print(f"{len(texts)} examples, {len(set(labels))} intents")
    print(f"intent macro-F1 {f1_score(y, predicted, average='macro'):.3f}")
    print(f"accuracy {report['accuracy']:.3f}, errors {int((y != predicted).sum())}")
    print(f"out_of_scope recall {report['out_of_scope']['recall']:.3f}")
    for intent in sorted(set(labels), key=lambda i: report[i]["f1-score"])[:6]:
        print(f"  {intent:22} F1 {report[intent]['f1-score']:.3f}")
    if args.errors:
        for text, want, got in sorted(zip(texts, y, predicted, strict=True), key=lambda r: r[1]):
            if want != got:
                print(f"{want} -> {got} | {text}")


if __name__ == "__main__":
    main()
