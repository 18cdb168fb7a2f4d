/**
 * A client's position in a gapless numbering of messages (docs/protocol.md,
 * "Delivery order"): the widget numbers a visitor's messages by `seq`, the
 * console a conversation's by `seq`.
 *
 * `value` is the highest number up to which every message is held. A
 * message further ahead is held too (in `ahead`) but leaves a gap below it:
 * the caller fetches what follows `value` at once. A reconnect or `resync`
 * also fetches from `value`, never from the newest number seen, so one's own
 * sent messages or a message that overtook another never hide what is
 * missing. Pure: no DOM, no socket (the widget and the console share it).
 */

const isSeq = (n) => Number.isInteger(n) && n > 0;

export class Position {
  constructor(value = 0) {
    this.value = Number.isInteger(value) && value > 0 ? value : 0;
    this.ahead = new Set();
  }

  /** Whether a message numbered above `value` is held with a hole below it. */
  get gap() {
    return this.ahead.size > 0;
  }

  /**
   * A message numbered `seq` arrived (live, or one's own acked message).
   * Returns `{ fresh, gap }`: `fresh` is false when it was already held (do
   * not show it again); `gap` is true when something below is missing.
   * A message without a number (an older server) is always fresh.
   */
  offer(seq) {
    if (!isSeq(seq)) return { fresh: true, gap: this.gap };
    if (seq <= this.value || this.ahead.has(seq)) return { fresh: false, gap: this.gap };
    if (seq === this.value + 1) {
      this.value = seq;
      this.absorb();
    } else {
      this.ahead.add(seq);
    }
    return { fresh: true, gap: this.gap };
  }

  /**
   * A catch-up read from storage: every message numbered after `after`
   * through `through` is now held. Ignored when it starts above the position
   * (it would leave a hole).
   */
  covered(after, through) {
    if (!Number.isInteger(after) || !Number.isInteger(through) || after > this.value) return;
    if (through > this.value) this.value = through;
    this.absorb();
  }

  /** The numbers above `value` that are held, in order (for tests and logs). */
  get held() {
    return [...this.ahead].sort((a, b) => a - b);
  }

  /** Start again (another visitor, or the visitor was forgotten). */
  reset(value = 0) {
    this.value = Number.isInteger(value) && value > 0 ? value : 0;
    this.ahead.clear();
  }

  absorb() {
    for (const n of [...this.ahead]) if (n <= this.value) this.ahead.delete(n);
    while (this.ahead.has(this.value + 1)) {
      this.value += 1;
      this.ahead.delete(this.value);
    }
  }
}
