/**
 * Tells the server (and so the agent) when the visitor is typing.
 *
 * `typing: true` goes out when the visitor starts typing and again at most
 * every THROTTLE_MS while they keep at it (so a listener with a timeout keeps
 * showing it); `typing: false` after IDLE_MS without a keystroke, when the
 * box is emptied, or when the message is sent.
 */

export const THROTTLE_MS = 2000;
export const IDLE_MS = 3000;

export class TypingReporter {
  /** @param {(typing: boolean) => void} emit */
  constructor(emit) {
    this.emit = emit;
    this.typing = false;
    this.lastSent = 0;
    this.idleTimer = null;
  }

  /** Call on every input event with the box's current value. */
  input(value) {
    if (!value.trim()) {
      this.stop();
      return;
    }
    const now = Date.now();
    if (!this.typing || now - this.lastSent >= THROTTLE_MS) {
      this.typing = true;
      this.lastSent = now;
      this.emit(true);
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stop(), IDLE_MS);
  }

  /** Idle, emptied or sent: say so once. */
  stop() {
    clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (!this.typing) return;
    this.typing = false;
    this.emit(false);
  }
}
