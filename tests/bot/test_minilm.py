"""The bot's sentence encoder (bot/nlu/minilm.py) and its Rasa featurizer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from nlu.minilm import MiniLM
from nlu.sentence_featurizer import SentenceEmbeddingFeaturizer
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

REFERENCE = json.loads((Path(__file__).parent / "data/minilm_reference.json").read_text())


@pytest.fixture(scope="module")
def encoder() -> MiniLM:
    return MiniLM.load()


def test_embeddings_match_sentence_transformers(encoder: MiniLM) -> None:
    """Same vectors as sentence-transformers (scripts/minilm_reference.py) in one batch
    of mixed lengths (padding must not leak into the pooled vector) and one by one."""
    texts = [row["text"] for row in REFERENCE["rows"]]
    expected = np.array([row["embedding"] for row in REFERENCE["rows"]], dtype=np.float32)
    batch = encoder.encode(texts)
    assert batch.shape == (len(texts), 384)
    np.testing.assert_allclose(batch, expected, atol=2e-5)
    for text, want in zip(texts, expected, strict=True):
        np.testing.assert_allclose(encoder.encode([text])[0], want, atol=2e-5)


def test_paraphrases_are_closer_than_other_requests(encoder: MiniLM) -> None:
    human, paraphrase, order = encoder.encode(
        ["I want to talk to a human", "can a real person pick this up?", "where is my parcel"]
    )
    assert float(human @ paraphrase) > float(human @ order) + 0.1


def test_empty_odd_and_very_long_inputs(encoder: MiniLM) -> None:
    assert encoder.encode([]).shape == (0, 384)
    vectors = encoder.encode(["", "   ", "\x00\u200b", "word " * 5000])
    assert vectors.shape == (4, 384)
    assert np.isfinite(vectors).all()


def _featurizer(tmp_path: Path, **config: object) -> SentenceEmbeddingFeaturizer:
    return SentenceEmbeddingFeaturizer.create(
        {**SentenceEmbeddingFeaturizer.get_default_config(), **config},
        LocalModelStorage(tmp_path),
        Resource("minilm"),
        ExecutionContext(node_name="minilm", graph_schema=None),  # type: ignore[arg-type]
    )


def test_featurizer_adds_one_dense_sentence_feature_per_user_text(tmp_path: Path) -> None:
    featurizer = _featurizer(tmp_path, batch_size=2)
    examples = [Message(data={TEXT: t}) for t in ["hi", "need a tent", "refund please"]]
    examples.append(Message(data={"intent": "greet"}))  # a label-only example: no text
    featurizer.process_training_data(TrainingData(training_examples=examples))
    for message in examples[:3]:
        _, sentence = message.get_dense_features(TEXT)
        assert sentence is not None and sentence.features.shape == (1, 384)
        assert message.get_dense_features(TEXT)[0] is None  # no sequence features
    assert examples[3].features == []

    [live] = featurizer.process([Message(data={TEXT: "hi"})])
    np.testing.assert_allclose(
        live.get_dense_features(TEXT)[1].features,
        examples[0].get_dense_features(TEXT)[1].features,
        atol=1e-6,
    )


def test_featurizer_rejects_a_bad_batch_size(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        _featurizer(tmp_path, batch_size=0)


def _classifier_pipeline(tmp_path: Path) -> tuple[list[Any], LocalModelStorage]:
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
        CountVectorsFeaturizer,
    )
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(node_name="n", graph_schema=None)  # type: ignore[arg-type]
    tokenizer = WhitespaceTokenizer.create(
        WhitespaceTokenizer.get_default_config(), storage, Resource("tok"), context
    )
    counts = CountVectorsFeaturizer.create(
        CountVectorsFeaturizer.get_default_config(), storage, Resource("cv"), context
    )
    return [tokenizer, counts, _featurizer(tmp_path)], storage


TRAINING = {
    "request_human": ["I want to talk to a human", "let me speak to an agent", "get me a person"],
    "ask_shipping": ["how long does delivery take", "do you ship abroad", "shipping cost?"],
    "greet": ["hello", "hi there", "good morning"],
}


def test_linear_intent_classifier_trains_saves_loads_and_ranks(tmp_path: Path) -> None:
    from nlu.intent_classifier import LinearIntentClassifier

    trained, parse, storage, context = _trained_classifier(tmp_path, TRAINING)
    config = LinearIntentClassifier.get_default_config()

    # No word in common with the request_human examples: the embedding carries it.
    message = parse("could a staff member answer")
    assert message.get("intent")["name"] == "request_human"
    ranking = [r["confidence"] for r in message.get("intent_ranking")]
    assert ranking == sorted(ranking, reverse=True) and abs(sum(ranking) - 1) < 1e-6
    # The coefficients read directly give scikit-learn's own probabilities.
    from nlu.intent_classifier import sentence_features

    for text in ("could a staff member answer", "hi", "shipping to Peru?", "zzz"):
        probe = parse(text)
        row = sentence_features(probe, config["dense_weight"])
        assert trained.clf is not None
        expected = trained.clf.predict_proba(row)[0]
        assert np.allclose(trained.probabilities(probe, config["dense_weight"]), expected)

    loaded = LinearIntentClassifier.load(config, storage, Resource("clf"), context)
    again = parse("could a staff member answer", loaded)
    assert again.get("intent_ranking") == message.get("intent_ranking")

    untrained = LinearIntentClassifier.load(config, storage, Resource("nothing"), context)
    assert parse("hello", untrained).get("intent") is None
    with pytest.raises(ValueError, match="dense_weight"):
        LinearIntentClassifier.create({"dense_weight": 0}, storage, Resource("x"), context)


def _trained_classifier(tmp_path: Path, training: dict[str, list[str]], **config: Any):
    """A LinearIntentClassifier trained on ``training``, and a parse function."""
    from nlu.intent_classifier import LinearIntentClassifier

    components, storage = _classifier_pipeline(tmp_path)
    examples = [
        Message(data={TEXT: text, "intent": intent})
        for intent, texts in training.items()
        for text in texts
    ]
    data = TrainingData(training_examples=examples)
    components[0].process_training_data(data)
    components[1].train(data)
    components[1].process_training_data(data)
    components[2].process_training_data(data)
    context = ExecutionContext(node_name="clf", graph_schema=None)  # type: ignore[arg-type]
    full = {**LinearIntentClassifier.get_default_config(), **config}
    classifier = LinearIntentClassifier.create(full, storage, Resource("clf"), context)
    classifier.train(data)

    def parse(text: str, which: LinearIntentClassifier = classifier) -> Message:
        message = Message(data={TEXT: text})
        for component in components:
            component.process([message])
        return which.process([message])[0]

    return classifier, parse, storage, context


WITH_OUT_OF_SCOPE = {
    **TRAINING,
    "out_of_scope": ["what's the weather", "do you sell cars", "tell me a joke"],
}


def test_neighbour_vote_and_out_of_scope_shift(tmp_path: Path) -> None:
    """The final ranking is the regression's blended with the nearest examples'
    intents, then shifted towards out_of_scope by exp(out_of_scope_bias)."""
    classifier, parse, storage, context = _trained_classifier(tmp_path, WITH_OUT_OF_SCOPE)
    config = classifier.config
    assert classifier.clf is not None and classifier.neighbours is not None
    vectors, intents = classifier.neighbours
    assert vectors.shape == (12, 384) and vectors.dtype == np.float32
    assert intents.shape == (12,) and set(intents.tolist()) == {0, 1, 2, 3}
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    classes = [str(c) for c in classifier.clf.classes_]
    oos = classes.index("out_of_scope")

    # A training sentence is its own nearest neighbour by far: the vote is (almost) all its.
    vote = classifier.neighbour_vote(parse("do you ship abroad"))
    assert vote is not None and abs(vote.sum() - 1) < 1e-9
    assert classes[int(vote.argmax())] == "ask_shipping" and vote.max() > 0.99

    for text in ("could a staff member answer", "do you sell boats", "hi", "zzz"):
        message = parse(text)
        plain = classifier.probabilities(message, config["dense_weight"])
        assert plain is not None
        vote = classifier.neighbour_vote(message)
        assert vote is not None
        blend = (1 - config["neighbour_weight"]) * plain + config["neighbour_weight"] * vote
        blend[oos] *= np.exp(config["out_of_scope_bias"])
        expected = blend / blend.sum()
        ranking = message.get("intent_ranking")
        got = {r["name"]: r["confidence"] for r in ranking}
        assert np.allclose([got[c] for c in classes], expected)
        assert abs(sum(got.values()) - 1) < 1e-6
        assert message.get("intent")["name"] == classes[int(expected.argmax())]

    # Saved and loaded with the model: the same ranking.
    from nlu.intent_classifier import LinearIntentClassifier

    loaded = LinearIntentClassifier.load(config, storage, Resource("clf"), context)
    assert loaded.neighbours is not None
    text = "do you sell boats"
    assert parse(text, loaded).get("intent_ranking") == parse(text).get("intent_ranking")


def test_without_neighbours_or_shift_the_ranking_is_the_regressions(tmp_path: Path) -> None:
    classifier, parse, _, _ = _trained_classifier(
        tmp_path, WITH_OUT_OF_SCOPE, neighbours=0, out_of_scope_bias=0.0
    )
    assert classifier.neighbours is None
    assert classifier.clf is not None
    for text in ("could a staff member answer", "do you sell boats"):
        message = parse(text)
        plain = classifier.probabilities(message, classifier.config["dense_weight"])
        got = {r["name"]: r["confidence"] for r in message.get("intent_ranking")}
        assert np.allclose([got[str(c)] for c in classifier.clf.classes_], plain)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"neighbours": -1}, "neighbours"),
        ({"neighbour_weight": 1.5}, "neighbour_weight"),
        ({"neighbour_temperature": 0}, "neighbour_temperature"),
    ],
)
def test_classifier_rejects_bad_neighbour_settings(
    tmp_path: Path, config: dict[str, Any], message: str
) -> None:
    from nlu.intent_classifier import LinearIntentClassifier

    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(node_name="clf", graph_schema=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        LinearIntentClassifier.create(config, storage, Resource("x"), context)
