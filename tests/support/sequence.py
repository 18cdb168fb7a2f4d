"""The widget's position over a gapless numbering (widget/src/sequence.js), for test clients."""

from __future__ import annotations


class Position:
    """The highest number up to which every message is held, and those held above it."""

    def __init__(self, value: int = 0) -> None:
        self.value = value
        self.ahead: set[int] = set()

    @property
    def gap(self) -> bool:
        return bool(self.ahead)

    def offer(self, seq: object) -> bool:
        """A numbered message arrived; True when it is new."""
        if not isinstance(seq, int) or isinstance(seq, bool) or seq <= 0:
            return True
        if seq <= self.value or seq in self.ahead:
            return False
        self.ahead.add(seq)
        self._absorb()
        return True

    def covered(self, after: object, through: object) -> None:
        """A catch-up made everything numbered after ``after`` through ``through`` held."""
        if isinstance(after, int) and isinstance(through, int) and after <= self.value:
            self.value = max(self.value, through)
            self._absorb()

    def _absorb(self) -> None:
        self.ahead = {n for n in self.ahead if n > self.value}
        while self.value + 1 in self.ahead:
            self.value += 1
            self.ahead.discard(self.value)
