"""`python -m chat_server`: run the chat server with settings from the environment."""

from __future__ import annotations

import logging
import sys

from aiohttp import web
from pydantic import ValidationError

from chat_server.app import create_app
from chat_server.settings import Settings


def main() -> None:
    try:
        settings = Settings()  # type: ignore[call-arg]
    except ValidationError as exc:
        sys.exit(f"chat_server: invalid configuration:\n{exc}")
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None,
                shutdown_timeout=5)


if __name__ == "__main__":
    main()
