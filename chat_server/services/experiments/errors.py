"""The error the experiment functions raise for input that makes no sense."""

from __future__ import annotations

from chat_server.errors import Invalid


class ExperimentInputError(Invalid, ValueError):
    """Bad input to an experiment function (weights that do not add up, an unknown arm, ...).

    An ``Invalid`` (HTTP 400 through http/errors.py) and a ``ValueError`` (what a pure
    function's caller expects), so both kinds of caller can catch it.
    """
