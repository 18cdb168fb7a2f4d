"""Generate the front ends' protocol constants from the Python protocol modules.

``python -m chat_server.protocol.js`` rewrites ``widget/src/protocol.gen.js``
and ``console/src/protocol.gen.js``; ``--check`` fails when either is stale
(run by the tests), so the JavaScript never keeps its own copy of an event name.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import ModuleType

from chat_server.protocol import agent, visitor

ROOT = Path(__file__).resolve().parents[2]
TARGETS: dict[Path, ModuleType] = {
    ROOT / "widget" / "src" / "protocol.gen.js": visitor,
    ROOT / "console" / "src" / "protocol.gen.js": agent,
}


def constants(module: ModuleType) -> dict[str, object]:
    """Public upper-case constants of a protocol module (str, int and tuples of str)."""
    out: dict[str, object] = {}
    for name, value in vars(module).items():
        if name.isupper() and not name.startswith("_"):
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                out[name] = value
            elif isinstance(value, tuple) and all(isinstance(v, str) for v in value):
                out[name] = list(value)
    return out


def render(module: ModuleType) -> str:
    lines = [
        f"// Generated from {module.__name__} by `python -m chat_server.protocol.js`.",
        "// Do not edit: change the Python module and regenerate.",
    ]
    for name, value in sorted(constants(module).items()):
        lines.append(f"export const {name} = {json.dumps(value)};")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a generated file is stale")
    args = parser.parse_args()
    stale = []
    for path, module in TARGETS.items():
        text = render(module)
        if path.exists() and path.read_text() == text:
            continue
        if args.check:
            stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        sys.exit(
            f"stale generated protocol files: {', '.join(stale)} "
            "(run: python -m chat_server.protocol.js)"
        )


if __name__ == "__main__":
    main()
