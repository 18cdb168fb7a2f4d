/**
 * Handoff to a person, as the visitor sees it (`handoff_status`, docs/protocol.md).
 *
 * queued   → a strip under the header, "Connecting you to a person… You're #2
 *            in line · about 3 min", kept up to date as the queue moves;
 * assigned → "Alex joined the chat", and the header names Alex;
 * bot / resolved → strip and name cleared.
 *
 * Changes are announced once through the log (a polite live region): a note
 * per transition; queue updates rewrite the queued note in place, which the
 * log announces as a text change. The strip itself is not live, so nothing
 * is read twice.
 */

import { STATE_ASSIGNED, STATE_BOT, STATE_QUEUED, STATE_RESOLVED } from "./protocol.gen.js";
import { displayName, h } from "./render.js";

const STATES = [STATE_BOT, STATE_QUEUED, STATE_ASSIGNED, STATE_RESOLVED];
const HEADLINE = "Connecting you to a person…";
const NO_ESTIMATE = "we'll be with you as soon as we can";
// After a reconnect the server repeats handoff_status only when the state is
// not `bot`; silence for this long means the conversation went back to the bot.
const RESUME_GRACE_MS = 4000;

/** "about 3 min" / "under a minute", or null when there is no estimate. */
export function waitText(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) return null;
  if (seconds < 45) return "under a minute";
  return `about ${Math.max(1, Math.round(seconds / 60))} min`;
}

/** Strip and note texts for a `queued` status. */
export function queueText(status) {
  const position = Number.isInteger(status.position) && status.position > 0 ? status.position : null;
  const wait = waitText(status.estimated_wait_seconds);
  const parts = [];
  if (position) parts.push(`You're #${position} in line`);
  parts.push(wait || NO_ESTIMATE);
  let detail = parts.join(" · ");
  detail = detail.charAt(0).toUpperCase() + detail.slice(1);
  return { headline: HEADLINE, detail, full: `${HEADLINE} ${detail}` };
}

export class Handoff {
  /** @param {import("./ui.js").WidgetUI} ui */
  constructor(ui) {
    this.ui = ui;
    this.state = STATE_BOT;
    this.agentName = "";
    this.queueNote = null;
    this.resumeTimer = null;
    this.restoring = false; // the next status repeats the state after a (re)connect
    this.headline = h("strong", { className: "handoff-headline" });
    this.detail = h("span", { className: "handoff-detail" });
    ui.strip.append(
      h("span", { className: "handoff-pulse", "aria-hidden": "true" }),
      h("span", { className: "handoff-text" }, [this.headline, this.detail])
    );
  }

  /** Queued or with a person: the bot is silent. */
  get active() {
    return this.state === STATE_QUEUED || this.state === STATE_ASSIGNED;
  }

  /** A `handoff_status` event. */
  update(status) {
    clearTimeout(this.resumeTimer);
    const restored = this.restoring;
    this.restoring = false;
    const state = STATES.includes(status.state) ? status.state : STATE_BOT;
    const previous = this.state;
    const previousAgent = this.agentName;
    this.state = state;

    if (state === STATE_QUEUED) {
      this.agentName = "";
      this.ui.setAgent(null);
      this.ui.hideTyping();
      const text = queueText(status);
      this.headline.textContent = text.headline;
      this.detail.textContent = text.detail;
      this.ui.strip.hidden = false;
      if (previous !== STATE_QUEUED || !this.queueNote || !this.queueNote.isConnected) {
        this.queueNote = this.ui.note(text.full, "handoff");
      } else if (this.queueNote.textContent !== text.full) {
        this.queueNote.textContent = text.full;
      }
      return;
    }

    this.ui.strip.hidden = true;
    this.queueNote = null;
    if (state === STATE_ASSIGNED) {
      const name = displayName(status.agent_name) || "An agent";
      this.agentName = name;
      this.ui.setAgent(name);
      // A restored state is no news, and the note would land after the
      // agent's messages that history just drew.
      if (status.agent_reconnecting === true) {
        // The agent's console dropped; the server moves the chat on if it lasts.
        this.ui.note(`${name} lost their connection and is reconnecting. If it takes much longer, someone else will take over.`, "handoff");
        return;
      }
      const news = previous !== STATE_ASSIGNED || name !== previousAgent;
      if (news && !(restored && previous === STATE_BOT)) this.ui.note(`${name} joined the chat`, "handoff");
      return;
    }

    this.agentName = "";
    this.ui.setAgent(null);
    this.ui.hideTyping();
    if (previous === STATE_ASSIGNED && !status.quiet) {
      this.ui.note(
        state === STATE_RESOLVED ? `${previousAgent} ended the chat` : "You're chatting with our assistant again",
        "handoff"
      );
    }
  }

  /** The session was (re)confirmed: expect the server to repeat a live handoff state. */
  resumed() {
    clearTimeout(this.resumeTimer);
    this.restoring = true;
    this.resumeTimer = setTimeout(() => {
      this.restoring = false;
      if (this.active) this.update({ state: STATE_BOT, quiet: true });
    }, RESUME_GRACE_MS);
  }
}
