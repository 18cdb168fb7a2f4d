"""Per-turn costs Rasa 3.6 pays for nothing, removed without changing behaviour.

``RemoteAction._validate_action_result`` calls ``jsonschema.validate`` on
every action-server answer. That first *meta-validates the schema itself*
(``check_schema``), walking Rasa's large events schema each time: measured
at roughly half of a simple turn's time on this project's 2-core machine.
Here the schema is checked once and the same validator object reused; every
answer is still validated against the same schema and a bad answer raises
the same ``ValidationError`` with Rasa's explanation appended.

``RasaModel.load`` (DIET and TED) runs one *training* step on an example
before loading the weights, only to create the variables. Tracing that step
builds the whole gradient graph in Python: about 60,000 graph operations,
most of a Rasa start (85 s of it on a slow 2-core machine). Loading for
prediction, the variables are created by the inference pass instead (which
Rasa runs anyway, to trace it); TensorFlow's object-based checkpoints restore
by name, and restore any variable created later when it is created. The
label embeddings that inference caches are then recomputed from the loaded
weights (and inference traced again, as the first trace captured them).
Fine-tuning (``finetune_mode``) keeps Rasa's own path: it needs the
optimizer state.
"""

from __future__ import annotations

from typing import Any

_VALIDATORS: dict[str, Any] = {}


def _cached_validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.shared.constants import DOCS_BASE_URL

    validator = _VALIDATORS.get("action")
    if validator is None:
        schema = self.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)
        validator = _VALIDATORS["action"] = cls(schema)
    try:
        validator.validate(result)
        return True
    except ValidationError as e:
        e.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise e


def _load_for_prediction(
    cls: Any,
    model_file_name: str,
    model_data_example: Any,
    predict_data_example: Any = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> Any:
    if finetune_mode or not predict_data_example:
        return _STOCK_LOAD["load"].__func__(  # type: ignore[attr-defined]
            cls,
            model_file_name,
            model_data_example,
            predict_data_example,
            finetune_mode,
            *args,
            **kwargs,
        )
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY

    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    model.compile(
        optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)),
        run_eagerly=config.get(RUN_EAGERLY),
    )
    # The inference pass creates the variables (and traces the function that
    # every later prediction uses; it reads the variables, so loaded values apply).
    model.run_inference(predict_data_example)
    # The checkpoint also holds the optimizer's state, which prediction never uses.
    model.load_weights(model_file_name).expect_partial()
    # Recompute what prepare_for_predict cached from the untrained weights (the
    # label embeddings), and trace inference again: the first trace captured
    # those cached tensors by value.
    model.prepared_for_prediction = False
    model._tf_predict_step = None
    model.run_inference(predict_data_example)
    return model


_STOCK_LOAD: dict[str, Any] = {}


def apply() -> None:
    """Install the speed-ups (idempotent); called before Rasa starts."""
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.tensorflow.models import RasaModel

    RemoteAction._validate_action_result = _cached_validate_action_result  # type: ignore[method-assign]
    if "load" not in _STOCK_LOAD:
        _STOCK_LOAD["load"] = RasaModel.__dict__["load"]
        RasaModel.load = classmethod(_load_for_prediction)  # type: ignore[assignment,method-assign]


def apply_baseline() -> None:
    """Benchmarks only (``RAPPORT_BENCH_BASELINE=1``): run as before issue 10 —
    stock action-answer validation, the whole domain sent to every action and
    the whole session loaded each turn — so a before/after comparison can be
    made in one run on one machine with one model."""
    from rasa.core.actions.action import RemoteAction

    from storage import tracker_store

    RemoteAction._is_selective_domain_enabled = lambda self: False  # type: ignore[method-assign]
    tracker_store.SessionScopedSQLTrackerStore.window_turns = property(  # type: ignore[assignment]
        lambda self: 10**9, lambda self, value: None
    )
