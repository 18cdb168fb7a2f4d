"""Read py-spy's collapsed stacks (``bench/report.py`` flame graphs named
``*.txt``) and print where the samples went: per package (the file's top
directory under site-packages, or ``chat_server``), per function inclusive,
and per function self.

    python bench/flame_top.py bench/results/relay_profile.txt [--top 30] [--under NAME]

``--under NAME`` keeps only the stacks passing through a function whose frame
contains NAME (e.g. ``store_turn``), to see what one part of a turn costs.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]*)(?::\d+)?\)$")


def package(file: str) -> str:
    """``sqlalchemy``, ``socketio``, ``chat_server``... for a frame's file."""
    parts = Path(file).parts
    if "site-packages" in parts:
        rest = parts[parts.index("site-packages") + 1 :]
        return rest[0] if rest else file
    for root in ("chat_server", "bench", "bot"):
        if root in parts:
            return root
    return "python" if "/lib/python" in file else file


def parse(text: str) -> list[tuple[list[str], int]]:
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def tally(
    stacks: list[tuple[list[str], int]], under: str | None = None
) -> tuple[int, Counter[str], Counter[str], Counter[str]]:
    """Total samples, and samples per package (self), per function inclusive
    (each function once per stack) and per function self."""
    total = 0
    packages: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, count in stacks:
        if under and not any(under in f for f in frames):
            continue
        total += count
        leaf = FRAME.match(frames[-1])
        packages[package(leaf["file"]) if leaf else frames[-1]] += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    return total, packages, inclusive, own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--under", default=None)
    args = parser.parse_args()
    total, packages, inclusive, own = tally(parse(args.path.read_text()), args.under)
    if not total:
        print("no samples")
        return
    for title, counts in (
        ("package (self)", packages),
        ("function (inclusive)", inclusive),
        ("function (self)", own),
    ):
        print(f"\n{title}: {total} samples")
        for name, n in counts.most_common(args.top):
            print(f"{100 * n / total:6.1f} %  {name[:150]}")


if __name__ == "__main__":
    main()
