"""Per-turn costs Rasa 3.6 pays for nothing, removed without changing behaviour.

``RemoteAction._validate_action_result`` calls ``jsonschema.validate`` on
every action-server answer. That first *meta-validates the schema itself*
(``check_schema``), walking Rasa's large events schema each time: measured
at roughly half of a simple turn's time on this project's 2-core machine.
Here the schema is checked once and the same validator object reused; every
answer is still validated against the same schema and a bad answer raises
the same ``ValidationError`` with Rasa's explanation appended.
"""

from __future__ import annotations

from typing import Any, Dict, Text

_VALIDATORS: Dict[str, Any] = {}


def _cached_validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
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


def apply() -> None:
    """Install the speed-ups (idempotent); called before Rasa starts."""
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = _cached_validate_action_result  # type: ignore[method-assign]


def apply_baseline() -> None:
    """Benchmarks only (``RAPPORT_BENCH_BASELINE=1``): run as before issue 10 —
    stock action-answer validation, the whole domain sent to every action and
    the whole session loaded each turn — so a before/after comparison can be
    made in one run on one machine with one model."""
    from rasa.core.actions.action import RemoteAction

    from storage import tracker_store

    RemoteAction._is_selective_domain_enabled = lambda self: False  # type: ignore[method-assign]
    tracker_store.SessionScopedSQLTrackerStore.window_turns = property(  # type: ignore[assignment]
        lambda self: 10**9, lambda self, value: None)
